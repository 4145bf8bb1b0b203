package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
)

// fwmarkLab is the note's section 6 on the TUN lab: ports 80 and 88 of the
// VIP are marked 10 and balanced as one firewall-mark service, so one rr
// rotation runs across both ports.
//
//	iptables -t mangle -A PREROUTING -d 10.0.0.100 -p tcp -m multiport --dports 80,88 -j MARK --set-mark 10
//	ipvsadm -A -f 10 -s rr
//	ipvsadm -a -f 10 -r 10.0.0.110 -i
//	ipvsadm -a -f 10 -r 10.0.0.120 -i
func fwmarkLab(ctx context.Context, w io.Writer) error {
	vip := netip.MustParseAddr("10.0.0.100")
	s, err := buildDR(ctx, lab.DR(), vip, realserver.TUN)
	if err != nil {
		return err
	}
	defer s.close()
	marks, err := iptables.New(&iptables.Config{NetNS: int(s.lab.Host(lab.Director).NS())})
	if err != nil {
		return err
	}
	rule := iptables.Rule{Destination: netip.PrefixFrom(vip, 32), Protocol: iptables.TCP,
		Ports: []iptables.PortRange{iptables.Port(80), iptables.Port(88)}, Mark: 10}
	if _, err := marks.Sync(ctx, []iptables.Rule{rule}); err != nil {
		return err
	}
	defer marks.Remove(context.Background())
	fmt.Fprintf(w, "mark rule: %v\n", rule)

	svc := ipvs.Service{FirewallMark: 10, Scheduler: ipvs.RoundRobin}
	var b ipvs.Batch
	b.CreateService(svc)
	for _, rip := range []string{"10.0.0.110:0", "10.0.0.120:0"} {
		b.CreateDestination(svc, ipvs.Destination{Addr: netip.MustParseAddrPort(rip), Forward: ipvs.Tunnel, Weight: 1})
	}
	if err := apply(ctx, s.director, &b); err != nil {
		return err
	}
	if err := printTable(ctx, w, s.director); err != nil {
		return err
	}
	// Ports in an order two per-port rotations could not answer with
	// strict alternation.
	client := s.lab.Host(lab.Client)
	var answers []string
	for _, port := range []int{80, 88, 80, 88, 88, 80, 80, 88} {
		a, err := requests(ctx, w, client, fmt.Sprintf("http://10.0.0.100:%d/", port), 1)
		if err != nil {
			return err
		}
		answers = append(answers, a...)
	}
	return alternates(answers)
}
