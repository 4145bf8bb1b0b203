package director

import (
	"net/netip"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
)

// TestFingerprint: the same services and destinations in the same order
// give the same fingerprint whatever the services' order and whatever the
// Director does not own; a weight, the destinations' order or a scheduler
// changes it.
func TestFingerprint(t *testing.T) {
	svc := func(port uint16, sched ipvs.Scheduler, dests ...ipvs.Destination) ipvs.TableService {
		return ipvs.TableService{Service: ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.100"), port),
			Scheduler: sched, Flags: ipvs.FlagMHFallback}, Destinations: dests}
	}
	rs := func(a string, w int) ipvs.Destination {
		return ipvs.Destination{Addr: netip.MustParseAddrPort(a), Forward: ipvs.DirectRoute, Weight: w}
	}
	a := svc(80, ipvs.MaglevHashing, rs("10.0.0.110:80", 1), rs("10.0.0.120:80", 1))
	b := svc(443, ipvs.MaglevHashing, rs("10.0.0.110:443", 1))
	other := svc(8080, ipvs.RoundRobin, rs("10.0.0.9:8080", 1))
	owned := map[ipvs.Key]bool{a.Key(): true, b.Key(): true}
	base := fingerprint([]ipvs.TableService{a, b}, owned)
	if got := fingerprint([]ipvs.TableService{other, b, a}, owned); got != base {
		t.Error("the services' order or a service not owned changed the fingerprint")
	}
	for name, ts := range map[string][]ipvs.TableService{
		"a weight":          {svc(80, ipvs.MaglevHashing, rs("10.0.0.110:80", 1), rs("10.0.0.120:80", 2)), b},
		"the order":         {svc(80, ipvs.MaglevHashing, rs("10.0.0.120:80", 1), rs("10.0.0.110:80", 1)), b},
		"the scheduler":     {svc(80, ipvs.SourceHashing, rs("10.0.0.110:80", 1), rs("10.0.0.120:80", 1)), b},
		"a missing service": {a},
	} {
		if fingerprint(ts, owned) == base {
			t.Errorf("%s did not change the fingerprint", name)
		}
	}
}
