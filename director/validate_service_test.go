package director

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/ipvs"
)

// TestVirtualServiceValidate: a service's Validate returns what
// Config.Validate returns for a configuration of that service alone, for
// valid services (the cases named "valid...") and for each way one can be
// refused (the others).
func TestVirtualServiceValidate(t *testing.T) {
	rs := func(a string) RealServer {
		return RealServer{Address: netip.MustParseAddrPort(a), Forward: ipvs.Masquerade, Weight: 1}
	}
	base := func() VirtualService {
		return VirtualService{Name: "web", Protocol: ipvs.TCP, Address: netip.MustParseAddrPort("10.0.0.1:80"),
			RealServers: []RealServer{rs("10.0.1.1:80"), rs("10.0.1.2:80")}}
	}
	cases := map[string]func(*VirtualService){
		"valid":                 func(*VirtualService) {},
		"valid, no name":        func(vs *VirtualService) { vs.Name = "" },
		"valid with a check":    func(vs *VirtualService) { vs.Check = &Check{Spec: &check.TCP{}, Interval: time.Second} },
		"valid, no real server": func(vs *VirtualService) { vs.RealServers = nil },
		"a real server twice":   func(vs *VirtualService) { vs.RealServers = append(vs.RealServers, rs("10.0.1.1:80")) },
		"mapped address":        func(vs *VirtualService) { vs.Address = netip.MustParseAddrPort("[::ffff:10.0.0.1]:80") },
		"mapped real server":    func(vs *VirtualService) { vs.RealServers[1] = rs("[::ffff:10.0.1.2]:80") },
		"fwmark and address":    func(vs *VirtualService) { vs.FirewallMark = 7 },
		"persistence, no time":  func(vs *VirtualService) { vs.Persistence = &Persistence{} },
		"sorry server is an rs": func(vs *VirtualService) { s := rs("10.0.1.1:80"); vs.SorryServer = &s },
		"snat without nat": func(vs *VirtualService) {
			vs.SNAT = true
			vs.RealServers[0].Forward = ipvs.DirectRoute
		},
		"quorum too high":       func(vs *VirtualService) { vs.Quorum = 3 },
		"negative quorum":       func(vs *VirtualService) { vs.Quorum = -1 },
		"hysteresis, no quorum": func(vs *VirtualService) { vs.Hysteresis = 1 },
		"check interval 1ns":    func(vs *VirtualService) { vs.Check = &Check{Spec: &check.TCP{}, Interval: time.Nanosecond} },
		"empty notify command":  func(vs *VirtualService) { vs.Notify = &Notify{RealServerUp: []string{}} },
		"weight out of range":   func(vs *VirtualService) { vs.RealServers[0].Weight = -2 },
	}
	for name, change := range cases {
		vs := base()
		change(&vs)
		got, want := vs.Validate(), (&Config{Services: []VirtualService{vs}}).Validate()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: Validate %v, Config.Validate %v", name, got, want)
		}
		if valid := strings.HasPrefix(name, "valid"); valid != (want == nil) {
			t.Errorf("%s: Config.Validate %v, want the case valid %v", name, want, valid)
		}
	}
}
