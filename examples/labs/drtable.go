package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
)

// drTable creates the note's DR service in a fresh namespace:
//
//	ipvsadm -A -t 10.0.0.100:80 -s wrr
//	ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.120 -g -w 2
//	ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.110 -g -w 1
//
// prints it as ipvsadm -Ln does and checks what the kernel reports.
func drTable(ctx context.Context, w io.Writer) error {
	l, err := lab.New()
	if err != nil {
		return err
	}
	defer l.Close()
	director, err := l.NewHost("director")
	if err != nil {
		return err
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		return err
	}
	defer c.Close()

	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin}
	dests := []ipvs.Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 2},
		{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1},
	}
	if err := c.CreateService(ctx, svc); err != nil {
		return err
	}
	for _, d := range dests {
		if err := c.CreateDestination(ctx, svc, d); err != nil {
			return err
		}
	}
	t, err := c.Table(ctx)
	if err != nil {
		return err
	}
	if _, err := t.WriteTo(w); err != nil {
		return err
	}
	if len(t.Services) != 1 || t.Services[0].Scheduler != ipvs.WeightedRoundRobin || len(t.Services[0].Destinations) != 2 {
		return fmt.Errorf("kernel reports %+v", t.Services)
	}
	for _, d := range t.Services[0].Destinations {
		if d.Forward != ipvs.DirectRoute || (d.Addr.Addr() == netip.MustParseAddr("10.0.0.120") && d.Weight != 2) ||
			(d.Addr.Addr() == netip.MustParseAddr("10.0.0.110") && d.Weight != 1) {
			return fmt.Errorf("destination read back as %+v", d)
		}
	}
	return nil
}
