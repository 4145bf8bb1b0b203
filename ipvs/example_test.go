package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

// The study note's DR service: ipvsadm -A -t 10.0.0.100:80 -s wrr, then two
// real servers weighted 2:1, printed as ipvsadm -Ln prints it.
func Example() {
	ctx := context.Background()
	c, err := ipvs.New(nil) // the caller's network namespace
	if err != nil {
		log.Fatal(err) // errors.Is(err, ipvs.ErrNotAvailable): modprobe ip_vs
	}
	defer c.Close()

	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin}
	if err := c.CreateService(ctx, svc); err != nil && !errors.Is(err, fs.ErrExist) {
		log.Fatal(err)
	}
	for _, d := range []ipvs.Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 2},
	} {
		if err := c.CreateDestination(ctx, svc, d); err != nil {
			log.Fatal(err)
		}
	}
	t, err := c.Table(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ipvsadm.WriteList(os.Stdout, t, ipvsadm.ListFormat{}) // package ipvs/ipvsadm
}

// A client for another network namespace: its socket is opened there once;
// the calling thread never changes namespace.
func ExampleNew_namespace() {
	f, err := os.Open("/run/netns/director")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	c, err := ipvs.New(&ipvs.Config{NetNS: int(f.Fd())})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Loading many services at once: each change gets its own result.
func ExampleClient_Apply() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var b ipvs.Batch
	for i := 1; i <= 1000; i++ {
		svc := ipvs.Service{FirewallMark: uint32(i), Scheduler: ipvs.RoundRobin}
		b.CreateService(svc)
		b.CreateDestination(svc, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:0"), Forward: ipvs.DirectRoute, Weight: 1})
	}
	results, err := c.Apply(ctx, &b)
	if err != nil {
		log.Fatal(err) // invalid input (nothing sent) or a socket failure
	}
	for i, err := range results {
		if err != nil {
			log.Printf("change %d: %v", i, err)
		}
	}
}

// Persistence as in the note's lab 7: ipvsadm -E -t 10.0.0.100:80 -s rr -p 10
// and ipvsadm --set 20 20 20.
func ExampleClient_UpdateService_persistence() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"),
		Scheduler: ipvs.RoundRobin, Timeout: 10 * time.Second}
	if err := c.UpdateService(ctx, svc); err != nil {
		log.Fatal(err)
	}
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 20 * time.Second, TCPFin: 20 * time.Second, UDP: 20 * time.Second}); err != nil {
		log.Fatal(err)
	}
}

// Changing one setting of a real server without touching the others:
// ModifyDestination reads the destination, lets the func change it and
// writes it back whole. (UpdateDestination writes exactly the Destination it
// is given: Destination{Addr: a, Weight: 5} would also make a DR real
// server masqueraded, since the zero Forward is Masquerade.)
func ExampleClient_ModifyDestination() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	rs := netip.MustParseAddrPort("10.0.0.110:80")
	err = c.ModifyDestination(ctx, svc, rs, func(d *ipvs.Destination) error {
		d.Weight = 0 // quiesce: no new connections, open ones go on
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		log.Printf("%v has no real server %v", svc, rs)
	} else if err != nil {
		log.Fatal(err)
	}
}

// Switching a service's scheduler and keeping its persistence:
// UpdateService would reset every field the Service leaves zero.
func ExampleClient_ModifyService() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	if err := c.ModifyService(ctx, svc, func(s *ipvs.Service) error {
		s.Scheduler = ipvs.MaglevHashing
		s.Flags |= ipvs.FlagMHFallback
		return nil
	}); err != nil {
		log.Fatal(err)
	}
}

// The enums have text forms, shared by configuration files, flags and
// ipvsadm's syntax.
func ExampleForwardMethod_UnmarshalText() {
	var m ipvs.ForwardMethod
	for _, s := range []string{"dr", "masquerading", "ipip"} {
		if err := m.UnmarshalText([]byte(s)); err != nil {
			log.Fatal(err)
		}
		text, _ := m.MarshalText()
		fmt.Printf("%s -> %v (%s)\n", s, m, text)
	}
	// Output:
	// dr -> Route (dr)
	// masquerading -> Masq (nat)
	// ipip -> Tunnel (tunnel)
}
