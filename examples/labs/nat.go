package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
)

// natLab is the note's lab 5(1): the director (192.168.10.200 toward the
// client, DIP 10.0.0.8 toward the real servers, ip_forward on) masquerades
// for rs1 and rs2, whose gateway it is:
//
//	ipvsadm -A -t 10.0.0.8:80
//	ipvsadm -a -t 10.0.0.8:80 -r 10.0.0.110 -m
//	ipvsadm -a -t 10.0.0.8:80 -r 10.0.0.120 -m
//
// With the default wlc scheduler and one request at a time, answers
// alternate; the same holds for rr, checked second.
func natLab(ctx context.Context, w io.Writer) error {
	l, err := lab.Build(lab.NAT())
	if err != nil {
		return err
	}
	defer l.Close()
	director, client := l.Host(lab.Director), l.Host(lab.Client)
	if err := director.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		return err
	}
	defer c.Close()

	for _, sched := range []ipvs.Scheduler{"", ipvs.RoundRobin} {
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Scheduler: sched}
		if err := c.Flush(ctx); err != nil {
			return err
		}
		var b ipvs.Batch
		b.CreateService(svc)
		for _, rip := range []string{"10.0.0.110:80", "10.0.0.120:80"} {
			b.CreateDestination(svc, ipvs.Destination{Addr: netip.MustParseAddrPort(rip), Forward: ipvs.Masquerade, Weight: 1})
		}
		if err := apply(ctx, c, &b); err != nil {
			return err
		}
		if err := printTable(ctx, w, c); err != nil {
			return err
		}
		answers, err := requests(ctx, w, client, "http://10.0.0.8/", 6)
		if err != nil {
			return err
		}
		if err := alternates(answers); err != nil {
			return fmt.Errorf("scheduler %q: %w", svc.Scheduler, err)
		}
	}
	return nil
}
