package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
)

// persistLab is the note's section 7 on the DR lab: with timeouts 20 20 20
// and persistence 10 s, one client sticks to one real server; once its
// template has expired (the kernel re-arms a template for 60 s while it
// still controls connections, so that takes about 70 s), the next request
// is scheduled anew and moves to the other server.
//
//	ipvsadm --set 20 20 20
//	ipvsadm -E -t 10.0.0.100:80 -s rr -p 10
func persistLab(ctx context.Context, w io.Writer) error {
	vip := netip.MustParseAddr("10.0.0.100")
	s, err := buildDR(ctx, lab.DR(), vip, realserver.DR)
	if err != nil {
		return err
	}
	defer s.close()
	c := s.director
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 20 * time.Second, TCPFin: 20 * time.Second, UDP: 20 * time.Second}); err != nil {
		return err
	}
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: ipvs.RoundRobin}
	if err := s.service(ctx, svc, ipvs.DirectRoute, 1, 1); err != nil {
		return err
	}
	svc.Timeout = 10 * time.Second
	if err := c.UpdateService(ctx, svc); err != nil {
		return err
	}
	t, err := c.Timeouts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %.0f %.0f %.0f\n", t.TCP.Seconds(), t.TCPFin.Seconds(), t.UDP.Seconds())
	if err := printTable(ctx, w, c); err != nil {
		return err
	}
	client := s.lab.Host(lab.Client)
	first, err := requests(ctx, w, client, "http://10.0.0.100/", 4)
	if err != nil {
		return err
	}
	for _, a := range first[1:] {
		if a != first[0] {
			return fmt.Errorf("answers %v: the client did not stick to one server", first)
		}
	}
	fmt.Fprintf(w, "sticks to %s inside the persistence window; waiting for the template to expire...\n", first[0])
	start := time.Now()
	for {
		ds, err := c.Destinations(ctx, svc)
		if err != nil {
			return err
		}
		var left uint32
		for _, d := range ds {
			left += d.PersistentConns + d.ActiveConns + d.InactiveConns
		}
		if left == 0 {
			break
		}
		if time.Since(start) > 150*time.Second {
			return fmt.Errorf("the persistence template never expired")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	fmt.Fprintf(w, "template and connections gone after %.0f s\n", time.Since(start).Seconds())
	after, err := requests(ctx, w, client, "http://10.0.0.100/", 1)
	if err != nil {
		return err
	}
	if after[0] == first[0] {
		return fmt.Errorf("after expiry the client still went to %s; rr should move it", after[0])
	}
	return nil
}
