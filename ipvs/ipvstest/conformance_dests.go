package ipvstest

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
)

// destinations creates, reads, updates and deletes destinations of every
// forwarding method on IPv4, IPv6 and firewall-mark services.
func (s *suite) destinations(t *testing.T) {
	for _, c := range []struct {
		name string
		svc  ipvs.Service
		port uint16 // a firewall-mark service's destinations may have none
	}{
		{"IPv4", ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin}, 80},
		{"IPv6", ipvs.Service{Protocol: ipvs.TCP, Addr: vip6, Scheduler: ipvs.WeightedRoundRobin}, 80},
		{"FirewallMark", ipvs.Service{FirewallMark: 10, Scheduler: ipvs.RoundRobin}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := s.open(t)
			ctx := ctxT(t)
			svc := c.svc
			mustService(t, api, svc)
			f := svc.AddressFamily()
			dests := []ipvs.Destination{
				{Addr: rip(f, 110, c.port), Forward: ipvs.DirectRoute, Weight: 1},
				{Addr: rip(f, 120, c.port), Forward: ipvs.DirectRoute, Weight: 2},
				{Addr: rip(f, 130, 8080), Forward: ipvs.Masquerade, Weight: 5, UpperThreshold: 100, LowerThreshold: 10},
				{Addr: rip(f, 140, c.port), Forward: ipvs.Tunnel, Weight: 0},
				{Addr: rip(f, 150, c.port), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum},
				{Addr: rip(f, 160, c.port), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelChecksum},
				{Addr: rip(f, 130, 8081), Forward: ipvs.Masquerade, Weight: 1}, // the same address on another port
			}
			for _, d := range dests {
				mustDest(t, api, svc, d)
			}
			dup := dests[0]
			dup.Weight = 9
			wantErrno(t, "duplicate", api.CreateDestination(ctx, svc, dup), "create destination", syscall.EEXIST)
			sameDests(t, listDests(t, api, svc), dests)
			for _, d := range dests {
				if got := getDest(t, api, svc, d.Addr); got != d {
					t.Errorf("get %v\n got  %+v\n want %+v", d.Addr, got, d)
				}
			}

			dests[1].Weight, dests[1].UpperThreshold = 7, 50
			dests[2].Forward, dests[2].UpperThreshold, dests[2].LowerThreshold = ipvs.DirectRoute, 0, 0
			for _, d := range dests[1:3] {
				if err := api.UpdateDestination(ctx, svc, d); err != nil {
					t.Fatalf("update %v: %v", d.Addr, err)
				}
			}
			sameDests(t, listDests(t, api, svc), dests)

			gone := dests[0]
			if err := api.DeleteDestination(ctx, svc, ipvs.Destination{Addr: gone.Addr}); err != nil {
				t.Fatal(err)
			}
			wantErrno(t, "second delete", api.DeleteDestination(ctx, svc, gone), "delete destination", syscall.ENOENT)
			wantErrno(t, "update of a deleted destination", api.UpdateDestination(ctx, svc, gone), "update destination", syscall.ENOENT)
			_, err := api.Destination(ctx, svc, gone.Addr)
			wantErrno(t, "get of a deleted destination", err, "get destination", syscall.ENOENT)
			err = api.ModifyDestination(ctx, svc, gone.Addr, func(*ipvs.Destination) error { return nil })
			wantErrno(t, "modify of a deleted destination", err, "get destination", syscall.ENOENT)
			sameDests(t, listDests(t, api, svc), dests[1:])
		})
	}
}

// updateDestinationReplacesAll: an update writes the whole destination, so
// what it leaves zero becomes zero: a GUE tunnel with thresholds becomes a
// quiesced DR destination without thresholds.
func (s *suite) updateDestinationReplacesAll(t *testing.T) {
	api := s.open(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.Tunnel, Weight: 3, UpperThreshold: 10, LowerThreshold: 5,
		TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum}
	mustDest(t, api, svc, d)
	bare := ipvs.Destination{Addr: d.Addr, Forward: ipvs.DirectRoute}
	if err := api.UpdateDestination(ctxT(t), svc, bare); err != nil {
		t.Fatal(err)
	}
	if got := getDest(t, api, svc, d.Addr); got != bare {
		t.Errorf("after update\n got  %+v\n want %+v", got, bare)
	}
}

// weightZero: weight 0 (quiesced) is kept as it is on create, update and
// modify.
func (s *suite) weightZero(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin}
	mustService(t, api, svc)
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute}
	mustDest(t, api, svc, d)
	if got := getDest(t, api, svc, d.Addr); got.Weight != 0 || got != d {
		t.Errorf("created with weight 0: %+v", got)
	}
	d.Weight = 4
	if err := api.UpdateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	if err := api.ModifyDestination(ctx, svc, d.Addr, func(d *ipvs.Destination) error { d.Weight = 0; return nil }); err != nil {
		t.Fatal(err)
	}
	d.Weight = 0
	if got := getDest(t, api, svc, d.Addr); got != d {
		t.Errorf("modified to weight 0: %+v, want %+v", got, d)
	}
	sameDests(t, listDests(t, api, svc), []ipvs.Destination{d})
}

func (s *suite) thresholds(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1, UpperThreshold: 100, LowerThreshold: 10}
	mustDest(t, api, svc, d)
	if got := getDest(t, api, svc, d.Addr); got != d {
		t.Errorf("created\n got  %+v\n want %+v", got, d)
	}
	d.UpperThreshold, d.LowerThreshold = 50, 0
	if err := api.UpdateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	if got := getDest(t, api, svc, d.Addr); got != d {
		t.Errorf("updated with an upper threshold alone\n got  %+v\n want %+v", got, d)
	}
	bad := d
	bad.LowerThreshold = 60
	wantInvalid(t, "lower above upper", api.UpdateDestination(ctx, svc, bad))
	bad.UpperThreshold = 0
	wantInvalid(t, "lower without upper", api.UpdateDestination(ctx, svc, bad))
	if got := getDest(t, api, svc, d.Addr); got != d {
		t.Errorf("after refused updates\n got  %+v\n want %+v", got, d)
	}
}

func (s *suite) modifyDestination(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin}
	mustService(t, api, svc)
	rs := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1, UpperThreshold: 50, LowerThreshold: 5}
	mustDest(t, api, svc, rs)
	if err := api.ModifyDestination(ctx, svc, rs.Addr, func(d *ipvs.Destination) error { d.Weight = 5; return nil }); err != nil {
		t.Fatal(err)
	}
	want := rs
	want.Weight = 5
	if got := getDest(t, api, svc, rs.Addr); got != want {
		t.Errorf("after ModifyDestination\n got  %+v\n want %+v", got, want)
	}
	stop := errors.New("stop")
	if err := api.ModifyDestination(ctx, svc, rs.Addr, func(d *ipvs.Destination) error { d.Weight = 9; return stop }); err != stop {
		t.Errorf("fn's error: %v, want it as it is", err)
	}
	err := api.ModifyDestination(ctx, svc, rs.Addr, func(d *ipvs.Destination) error { d.Addr = rip(ipvs.IPv4, 120, 80); return nil })
	wantInvalid(t, "changed address", err)
	if got := getDest(t, api, svc, rs.Addr); got != want {
		t.Errorf("after refused modifications\n got  %+v\n want %+v", got, want)
	}
	err = api.ModifyDestination(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: vip6}, rs.Addr, func(*ipvs.Destination) error { return nil })
	wantErrno(t, "missing service", err, "list destinations", syscall.ESRCH)
	// An IPv4-mapped address names the IPv4 destination.
	mapped := netip.AddrPortFrom(netip.AddrFrom16(rs.Addr.Addr().As16()), rs.Addr.Port())
	if got := getDest(t, api, svc, mapped); got != want {
		t.Errorf("get by %v: %+v", mapped, got)
	}
}

// crossFamilyTunnel: a destination of the other family is taken only as
// a tunnel.
func (s *suite) crossFamilyTunnel(t *testing.T) {
	api := s.open(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip6, Scheduler: ipvs.RoundRobin}
	mustService(t, api, svc)
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.Tunnel, Weight: 1}
	mustDest(t, api, svc, d)
	sameDests(t, listDests(t, api, svc), []ipvs.Destination{d})
	dr := ipvs.Destination{Addr: rip(ipvs.IPv4, 120, 80), Forward: ipvs.DirectRoute, Weight: 1}
	wantInvalid(t, "cross-family DR", api.CreateDestination(ctxT(t), svc, dr))
}

// addressTypes: with its loopback up, the kernel refuses broadcast and
// IPv6 link-local destinations with EINVAL and takes local and other
// unicast addresses, routed or not.
func (s *suite) addressTypes(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	v4 := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	v6 := ipvs.Service{Protocol: ipvs.TCP, Addr: vip6}
	mustService(t, api, v4)
	mustService(t, api, v6)
	for _, c := range []struct {
		svc  ipvs.Service
		d    ipvs.Destination
		fail bool
	}{
		{v4, ipvs.Destination{Addr: ap("255.255.255.255:80"), Forward: ipvs.DirectRoute, Weight: 1}, true},
		{v4, ipvs.Destination{Addr: ap("127.255.255.255:80"), Forward: ipvs.DirectRoute, Weight: 1}, true},
		{v6, ipvs.Destination{Addr: ap("[fe80::1]:80"), Forward: ipvs.DirectRoute, Weight: 1}, true},
		{v4, ipvs.Destination{Addr: ap("127.0.0.1:8080"), Forward: ipvs.Local, Weight: 1}, false},
		{v4, ipvs.Destination{Addr: ap("192.0.2.10:80"), Forward: ipvs.DirectRoute, Weight: 1}, false},
		{v4, ipvs.Destination{Addr: ap("10.255.255.255:80"), Forward: ipvs.DirectRoute, Weight: 1}, false},
		{v6, ipvs.Destination{Addr: ap("[::1]:8080"), Forward: ipvs.Local, Weight: 1}, false},
		{v6, ipvs.Destination{Addr: ap("[fc00::10]:80"), Forward: ipvs.DirectRoute, Weight: 1}, false},
	} {
		err := api.CreateDestination(ctx, c.svc, c.d)
		if c.fail {
			wantErrno(t, c.d.Addr.String(), err, "create destination", syscall.EINVAL)
		} else if err != nil {
			t.Errorf("%v: %v", c.d.Addr, err)
		}
	}
	if n := len(listDests(t, api, v4)) + len(listDests(t, api, v6)); n != 5 {
		t.Errorf("%d destinations, want the 5 taken", n)
	}
}

// deleteServiceDeletesDestinations: a service created again has none of
// the destinations of the one deleted.
func (s *suite) deleteServiceDeletesDestinations(t *testing.T) {
	api := s.open(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	for n := byte(110); n < 115; n++ {
		mustDest(t, api, svc, ipvs.Destination{Addr: rip(ipvs.IPv4, n, 80), Forward: ipvs.DirectRoute, Weight: 1})
	}
	if err := api.DeleteService(ctxT(t), svc); err != nil {
		t.Fatal(err)
	}
	_, err := api.Destinations(ctxT(t), svc)
	wantErrno(t, "destinations of the deleted service", err, "list destinations", syscall.ESRCH)
	mustService(t, api, svc)
	if ds := listDests(t, api, svc); len(ds) != 0 {
		t.Errorf("the service created again has destinations %+v", ds)
	}
}

// mappedAddresses: an IPv4-mapped IPv6 address (::ffff:10.0.0.110, what
// netip.AddrFromSlice makes of a 16-byte net.IP) is refused wherever a
// change or query names a service or a destination by it, with a
// validation error that says to unmap it, and nothing changes: the kernel
// would keep the IPv4 address, so a program comparing what it wrote with
// what it reads back would never agree.
func (s *suite) mappedAddresses(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	mapped := func(a netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr().As16()), a.Port())
	}
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.RoundRobin}
	v6 := ipvs.Service{Protocol: ipvs.TCP, Addr: vip6, Scheduler: ipvs.RoundRobin}
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1}
	mustService(t, api, svc)
	mustService(t, api, v6)
	mustDest(t, api, svc, d)
	msvc := svc
	msvc.Addr = mapped(svc.Addr)
	md := d // the destination as a sync loop that went through net.IP has it
	md.Addr, md.Weight = mapped(d.Addr), 5
	other := ipvs.Destination{Addr: rip(ipvs.IPv4, 120, 80), Forward: ipvs.DirectRoute, Weight: 1}
	_, errGet := api.Service(ctx, msvc)
	_, errList := api.Destinations(ctx, msvc)
	var b ipvs.Batch
	b.CreateDestination(svc, other)
	b.UpdateDestination(svc, md)
	results, errBatch := api.Apply(ctx, &b)
	var be *ipvs.BatchError
	if !errors.As(errBatch, &be) || be.Index != 1 || results != nil {
		t.Errorf("a batch with a mapped destination: %v, %v; want an *ipvs.BatchError for change 1 and no results", results, errBatch)
	}
	for what, err := range map[string]error{
		"create service":                  api.CreateService(ctx, ipvs.Service{Protocol: ipvs.UDP, Addr: mapped(vip4)}),
		"update service":                  api.UpdateService(ctx, msvc),
		"delete service":                  api.DeleteService(ctx, msvc),
		"zero service":                    api.ZeroService(ctx, msvc),
		"get service":                     errGet,
		"list destinations":               errList,
		"create destination":              api.CreateDestination(ctx, svc, ipvs.Destination{Addr: mapped(other.Addr), Forward: ipvs.DirectRoute, Weight: 1}),
		"destination of a mapped service": api.CreateDestination(ctx, msvc, other),
		"update destination":              api.UpdateDestination(ctx, svc, md),
		"delete destination":              api.DeleteDestination(ctx, svc, md),
		"tunnel to a mapped address":      api.CreateDestination(ctx, v6, ipvs.Destination{Addr: mapped(other.Addr), Forward: ipvs.Tunnel, Weight: 1}),
		"batch":                           errBatch,
	} {
		wantInvalid(t, what, err)
		if err != nil && (!strings.Contains(err.Error(), "IPv4-mapped") || !strings.Contains(err.Error(), "netip.Addr.Unmap")) {
			t.Errorf("%s: %q does not say to unmap the address", what, err)
		}
	}
	svcs := listServices(t, api)
	if len(svcs) != 2 || !slices.Contains(svcs, expect(svc)) || !slices.Contains(svcs, expect(v6)) {
		t.Errorf("services after refused changes: %+v, want %v and %v as created", svcs, svc, v6)
	}
	sameDests(t, listDests(t, api, svc), []ipvs.Destination{d})
	sameDests(t, listDests(t, api, v6), nil)
}
