package director_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// Taking a real server out of service for maintenance, with a reason that
// Status shows, and back: kept across reloads and, with a state file,
// restarts. While Run runs (in another goroutine), Disable returns once
// the weight is 0 in the kernel.
func ExampleDirector_Disable() {
	ctx := context.Background()
	d, err := director.New(&director.Options{StateFile: "/var/lib/lvs-director/state.json"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	svc, _ := ipvs.ParseKey("tcp 10.0.0.100:80")
	rs := netip.MustParseAddrPort("10.0.0.120:80")
	if err := d.Disable(ctx, svc, rs, "disk swap"); err != nil {
		log.Fatal(err) // errors.Is(err, fs.ErrNotExist): not in the configuration
	}
	for _, m := range d.Status().Disabled {
		fmt.Printf("%v of %v disabled since %s: %s\n", m.Addr, m.Service, m.Since.Format(time.DateTime), m.Reason)
	}
	if err := d.Enable(ctx, svc, rs); err != nil {
		log.Fatal(err)
	}
}

// Taking a director out of its cluster without breaking a flow: its
// prefixes are withdrawn from the routers, the flows move to the other
// directors (which send them to the same real servers), and WaitIdle says
// when nothing reaches it any more.
func ExampleDirector_Withdraw() {
	ctx := context.Background()
	d, err := director.New(nil) // with Options.Announcer, and Run running
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	if err := d.Withdraw(ctx); err != nil {
		log.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := d.WaitIdle(wctx, 10*time.Second); err != nil {
		log.Fatal(err)
	}
	fp, err := d.Fingerprint(ctx) // equal on every director of the cluster
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("idle; fingerprint", fp)
}
