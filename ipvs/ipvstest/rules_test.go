package ipvstest_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// TestBatchRules: Batch.Rules reads back each queued change as the kernel
// receives it, and AddRules of its result queues the same changes.
func TestBatchRules(t *testing.T) {
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Timeout: time.Minute, Netmask: 32}
	fwm := ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6, Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHPort}
	gue := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.Tunnel, Weight: 2,
		TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum, UpperThreshold: 9, LowerThreshold: 3}
	dr := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute}
	var b ipvs.Batch
	b.CreateService(svc)
	b.UpdateService(fwm)
	b.CreateDestination(svc, gue)
	b.UpdateDestination(svc, dr)
	b.DeleteDestination(fwm, ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:0"), Weight: 5})
	b.DeleteService(ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: ipvs.RoundRobin})
	rules, err := b.Rules()
	if err != nil {
		t.Fatal(err)
	}
	v4 := netip.MustParseAddrPort("10.0.0.100:80")
	svcKey := ipvs.Service{Protocol: ipvs.TCP, Addr: v4, Family: ipvs.IPv4}
	want := []ipvs.Rule{
		{Command: ipvs.CreateService, Service: ipvs.Service{Protocol: ipvs.TCP, Addr: v4, Family: ipvs.IPv4, Scheduler: ipvs.WeightedLeastConnection,
			Flags: ipvs.FlagPersistent, Timeout: time.Minute}},
		{Command: ipvs.UpdateService, Service: fwm},
		{Command: ipvs.CreateDestination, Service: svcKey, Destination: gue},
		{Command: ipvs.UpdateDestination, Service: svcKey, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute}},
		{Command: ipvs.DeleteDestination, Service: ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6}, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:0")}},
		{Command: ipvs.DeleteService, Service: ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Family: ipvs.IPv4}},
	}
	if !slices.Equal(rules, want) {
		t.Errorf("rules\n got  %+v\n want %+v", rules, want)
	}
	var again ipvs.Batch
	again.AddRules(rules)
	if rules2, err := again.Rules(); err != nil || !slices.Equal(rules2, rules) {
		t.Errorf("AddRules(Rules()) reads back as %+v, %v", rules2, err)
	}

	var empty ipvs.Batch
	if rules, err := empty.Rules(); err != nil || len(rules) != 0 {
		t.Errorf("empty batch: %v, %v", rules, err)
	}

	b.CreateDestination(svc, ipvs.Destination{Addr: gue.Addr, Weight: -1})
	rules, err = b.Rules()
	var be *ipvs.BatchError
	if !errors.As(err, &be) || be.Index != 6 || !errors.Is(err, ipvs.ErrInvalid) || rules != nil {
		t.Errorf("with an invalid change: %v, %v; want a BatchError for change 6", rules, err)
	}
}
