package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
)

// drSetup is a DR-family lab in the making: the topology, the director's
// client and the real servers' roles.
type drSetup struct {
	lab      *lab.Lab
	director *ipvs.Client
	roles    []*realserver.Role
}

func (s *drSetup) close() {
	for _, r := range s.roles {
		r.Teardown(context.Background())
	}
	if s.director != nil {
		s.director.Close()
	}
	s.lab.Close()
}

// buildDR builds spec, puts vip on the director's lo (as the note's
// `ifconfig lo:1 VIP netmask 255.255.255.255`) through the director
// package, and brings rs1 and rs2 into the real-server role of the given
// mode through realserver.Setup.
func buildDR(ctx context.Context, spec lab.Spec, vip netip.Addr, mode realserver.Mode) (*drSetup, error) {
	l, err := lab.Build(spec)
	if err != nil {
		return nil, err
	}
	s := &drSetup{lab: l}
	director := l.Host(lab.Director)
	// The director's VIP on its lo, as the note's ifconfig lo:1 does.
	if err := addVIP(ctx, int(director.NS()), vip); err != nil {
		s.close()
		return nil, err
	}
	for _, rs := range []string{lab.RS1, lab.RS2} {
		r, err := realserver.Setup(ctx, &realserver.Config{Mode: mode, VIPs: []netip.Addr{vip}, NetNS: int(l.Host(rs).NS())})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%s: %w", rs, err)
		}
		s.roles = append(s.roles, r)
	}
	if s.director, err = ipvs.New(&ipvs.Config{NetNS: int(director.NS())}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// service creates svc with rs1 and rs2 (weights w1, w2) forwarded by fwd.
func (s *drSetup) service(ctx context.Context, svc ipvs.Service, fwd ipvs.ForwardMethod, w1, w2 int) error {
	var b ipvs.Batch
	b.CreateService(svc)
	port := svc.Addr.Port()
	b.CreateDestination(svc, ipvs.Destination{Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.110"), port), Forward: fwd, Weight: w1})
	b.CreateDestination(svc, ipvs.Destination{Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.120"), port), Forward: fwd, Weight: w2})
	return apply(ctx, s.director, &b)
}

// bypass checks, from the director's counters, that replies did not pass
// through it: it saw the requests' packets, and none going out.
func (s *drSetup) bypass(ctx context.Context, w io.Writer, svc ipvs.Service, conns uint64) error {
	deadline := time.Now().Add(10 * time.Second) // the estimator publishes every 2 s
	for {
		got, err := s.director.Service(ctx, svc)
		if err != nil {
			return err
		}
		st := got.Stats
		if st.Connections >= conns {
			fmt.Fprintf(w, "director counters: %d connections, %d packets in, %d packets out\n", st.Connections, st.PacketsIn, st.PacketsOut)
			if st.PacketsIn == 0 || st.PacketsOut != 0 {
				return fmt.Errorf("replies went through the director (%d packets out)", st.PacketsOut)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("director saw %d connections, want %d", st.Connections, conns)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// drLab is the note's lab 5(2): one subnet, VIP 10.0.0.100 on the director's
// and the real servers' lo, wrr with rs2 weighted 2:1.
//
//	ipvsadm -A -t 10.0.0.100:80 -s wrr
//	ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.120 -g -w 2
//	ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.110 -g -w 1
func drLab(ctx context.Context, w io.Writer) error {
	vip := netip.MustParseAddr("10.0.0.100")
	s, err := buildDR(ctx, lab.DR(), vip, realserver.DR)
	if err != nil {
		return err
	}
	defer s.close()
	for _, r := range s.roles[:1] {
		fmt.Fprintf(w, "rs1 role: %q\n", r.Changes())
	}
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: ipvs.WeightedRoundRobin}
	if err := s.service(ctx, svc, ipvs.DirectRoute, 1, 2); err != nil {
		return err
	}
	if err := printTable(ctx, w, s.director); err != nil {
		return err
	}
	answers, err := requests(ctx, w, s.lab.Host(lab.Client), "http://10.0.0.100/", 6)
	if err != nil {
		return err
	}
	if err := proportion(answers, map[string]int{"rs1": 2, "rs2": 4}); err != nil {
		return err
	}
	return s.bypass(ctx, w, svc, 6)
}

// drMultiLab is the note's lab 5(3): the VIP 172.16.0.100 sits on a segment
// of its own that the router (172.16.0.200) reaches through the director;
// rr alternates whatever the weights.
func drMultiLab(ctx context.Context, w io.Writer) error {
	vip := netip.MustParseAddr("172.16.0.100")
	s, err := buildDR(ctx, lab.DRMultiSegment(), vip, realserver.DR)
	if err != nil {
		return err
	}
	defer s.close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: ipvs.RoundRobin}
	if err := s.service(ctx, svc, ipvs.DirectRoute, 1, 2); err != nil {
		return err
	}
	if err := printTable(ctx, w, s.director); err != nil {
		return err
	}
	answers, err := requests(ctx, w, s.lab.Host(lab.Client), "http://172.16.0.100/", 6)
	if err != nil {
		return err
	}
	if err := alternates(answers); err != nil {
		return err
	}
	return s.bypass(ctx, w, svc, 6)
}

// tunLab is the note's lab 5(4): IP-in-IP to real servers whose VIP is on
// tunl0 with rp_filter off, rr.
func tunLab(ctx context.Context, w io.Writer) error {
	vip := netip.MustParseAddr("10.0.0.100")
	s, err := buildDR(ctx, lab.DR(), vip, realserver.TUN)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Fprintf(w, "rs1 role: %q\n", s.roles[0].Changes())
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: ipvs.RoundRobin}
	if err := s.service(ctx, svc, ipvs.Tunnel, 1, 1); err != nil {
		return err
	}
	if err := printTable(ctx, w, s.director); err != nil {
		return err
	}
	answers, err := requests(ctx, w, s.lab.Host(lab.Client), "http://10.0.0.100/", 4)
	if err != nil {
		return err
	}
	if err := alternates(answers); err != nil {
		return err
	}
	return s.bypass(ctx, w, svc, 4)
}

// proportion checks answer counts exactly.
func proportion(answers []string, want map[string]int) error {
	got := map[string]int{}
	for _, a := range answers {
		got[a]++
	}
	if len(got) != len(want) {
		return fmt.Errorf("answers %v, want counts %v", answers, want)
	}
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("answers %v, want counts %v", answers, want)
		}
	}
	return nil
}

// addVIP puts vip on lo of the namespace through the director package.
func addVIP(ctx context.Context, netns int, vip netip.Addr) error {
	d, err := director.New(&director.Options{NetNS: netns})
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := director.Compile(&director.Config{VIPs: []director.VIP{{Address: vip}}, AllowNoServices: true})
	if err != nil {
		return err
	}
	p, err := d.Plan(ctx, c)
	if err != nil {
		return err
	}
	return d.Apply(ctx, p)
}
