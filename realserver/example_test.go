package realserver_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/lvs-go/lvs/realserver"
)

// A DR real server for the study note's VIP, and back out.
func ExampleSetup() {
	ctx := context.Background()
	role, err := realserver.Setup(ctx, realserver.Config{
		Mode: realserver.DR,
		VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")},
	})
	if err != nil {
		log.Fatal(err) // nothing was left half done
	}
	fmt.Println(role.Changes()) // what Setup changed, in order
	if err := role.Teardown(ctx); err != nil {
		log.Fatal(err)
	}
}

// A TUN real server receiving GUE (port 6080) from the director.
func ExampleSetup_gue() {
	role, err := realserver.Setup(context.Background(), realserver.Config{
		Mode:    realserver.TUN,
		Encap:   realserver.GUE,
		GUEPort: 6080,
		VIPs:    []netip.Addr{netip.MustParseAddr("10.0.0.100")},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer role.Teardown(context.Background())
}

// What keeps a host from the role.
func ExampleCheck() {
	st, err := realserver.Check(context.Background(), realserver.Config{
		Mode: realserver.DR, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range st.Problems {
		fmt.Println(p) // e.g. "net.ipv4.conf.all.arp_ignore is 0, want 1"
	}
}
