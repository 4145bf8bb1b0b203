package ipvstest

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

// RunConformance runs the suite that an ipvs.API must pass to behave as the
// kernel's IPVS does, each part as a subtest: create, read, update and
// delete of services (IPv4, IPv6, firewall marks) and destinations, the
// errors of missing and duplicate objects (and what they name), weight 0,
// thresholds, updates that replace every setting, batches with per-change
// results, the order of listings, Flush, timeouts, sync daemons, cancelled
// contexts, Close, and the refusal of invalid input and IPv4-mapped
// addresses. This package runs it on a Fake and, in a fresh network
// namespace, on *ipvs.Client.
//
// newAPI is called once per subtest and must return an API on a fresh
// IPVS: no services, the default timeouts, no sync daemons (which the
// suite runs on lo). For the kernel that is a new network namespace with
// its loopback up, and the modules of every scheduler but twos and the sip
// persistence engine. The suite closes each API once, when its subtest
// ends.
func RunConformance(t *testing.T, newAPI func(t *testing.T) ipvs.API) {
	s := &suite{newAPI: newAPI}
	for _, c := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"Info", s.info},
		{"EmptyListings", s.empty},
		{"Services", s.services},
		{"UpdateServiceReplacesAll", s.updateServiceReplacesAll},
		{"ModifyService", s.modifyService},
		{"Schedulers", s.schedulers},
		{"FirewallMarkFamilies", s.firewallMarkFamilies},
		{"Destinations", s.destinations},
		{"UpdateDestinationReplacesAll", s.updateDestinationReplacesAll},
		{"WeightZero", s.weightZero},
		{"Thresholds", s.thresholds},
		{"ModifyDestination", s.modifyDestination},
		{"CrossFamilyTunnel", s.crossFamilyTunnel},
		{"AddressTypes", s.addressTypes},
		{"MissingService", s.missingService},
		{"DeleteServiceDeletesDestinations", s.deleteServiceDeletesDestinations},
		{"Batch", s.batch},
		{"Order", s.order},
		{"Flush", s.flush},
		{"Timeouts", s.timeouts},
		{"Table", s.table},
		{"Zero", s.zero},
		{"SyncDaemons", s.syncDaemons},
		{"CancelledContext", s.cancelled},
		{"Close", s.close},
		{"InvalidInput", s.invalidInput},
		{"IPv4MappedAddresses", s.mappedAddresses},
	} {
		t.Run(c.name, c.run)
	}
}

type suite struct {
	newAPI func(t *testing.T) ipvs.API
}

// open returns a fresh API that is closed when the test ends.
func (s *suite) open(t *testing.T) ipvs.API {
	t.Helper()
	api := s.newAPI(t)
	t.Cleanup(func() { api.Close() })
	return api
}

// The suite's addresses: destinations in 10.0.0.0/8 and 2001:db8::/32.
var (
	vip4 = netip.MustParseAddrPort("10.0.0.100:80")
	vip6 = netip.MustParseAddrPort("[2001:db8::100]:80")
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// rip is real server n of a service of family f, on port.
func rip(f ipvs.Family, n byte, port uint16) netip.AddrPort {
	if f == ipvs.IPv6 {
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: n}), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, n}), port)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// expect is what the kernel reports for a service written as s.
func expect(s ipvs.Service) ipvs.Service {
	if s.Scheduler == "" {
		s.Scheduler = ipvs.WeightedLeastConnection
	}
	if s.Timeout > 0 {
		s.Flags |= ipvs.FlagPersistent
	}
	s.Family = s.AddressFamily()
	if s.FirewallMark == 0 {
		s.Addr = netip.AddrPortFrom(s.Addr.Addr().Unmap(), s.Addr.Port())
	}
	if (s.Family == ipvs.IPv4 && s.Netmask == 32) || (s.Family == ipvs.IPv6 && s.Netmask == 128) {
		s.Netmask = 0
	}
	s.Stats = ipvs.Stats{}
	return s
}

// wantErrno checks that err is the kernel's errno for the operation op, as
// the client reports it, and matches the error the errno stands for:
// fs.ErrNotExist, fs.ErrExist, or ipvs.ErrInvalid for EINVAL (which no
// other errno matches, and which is no *ipvs.ValidationError: the kernel
// refused it).
func wantErrno(t *testing.T, what string, err error, op string, errno syscall.Errno) {
	t.Helper()
	var e *ipvs.Error
	if !errors.As(err, &e) || e.Op != op || !errors.Is(err, errno) {
		t.Errorf("%s: err = %v, want an *ipvs.Error for %q with %v", what, err, op, errno)
		return
	}
	var match error
	switch errno {
	case syscall.ESRCH, syscall.ENOENT, syscall.ENODEV:
		match = fs.ErrNotExist
	case syscall.EEXIST:
		match = fs.ErrExist
	case syscall.EINVAL:
		match = ipvs.ErrInvalid
	}
	if match != nil && !errors.Is(err, match) {
		t.Errorf("%s: %v does not match %v", what, err, match)
	}
	if errno != syscall.EINVAL && errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("%s: the kernel's %v matches ErrInvalid", what, err)
	}
	var ve *ipvs.ValidationError
	if errors.As(err, &ve) {
		t.Errorf("%s: the kernel's %v is a *ValidationError, which is for input refused before sending", what, err)
	}
}

// wantNames checks that err, a kernel error, names the service svc and
// the destination dest (none if invalid) in its fields and its message.
func wantNames(t *testing.T, what string, err error, svc ipvs.Service, dest netip.AddrPort) {
	t.Helper()
	var e *ipvs.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: %v is no *ipvs.Error", what, err)
		return
	}
	if e.Service != svc.Key() || e.Destination != dest {
		t.Errorf("%s: %v names service %v, destination %v; want %v, %v", what, err, e.Service, e.Destination, svc.Key(), dest)
	}
	key, _ := svc.Key().MarshalText()
	if !strings.Contains(err.Error(), " "+string(key)+": ") || dest.IsValid() && !strings.Contains(err.Error(), " "+dest.String()+" in ") {
		t.Errorf("%s: message %q does not name %s and %v", what, err, key, dest)
	}
}

// wantInvalid checks that err is a validation error.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var ve *ipvs.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ipvs.ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("%s: err = %v, want an *ipvs.ValidationError", what, err)
	}
}

func mustService(t *testing.T, api ipvs.API, svc ipvs.Service) {
	t.Helper()
	if err := api.CreateService(ctxT(t), svc); err != nil {
		t.Fatalf("create %v: %v", svc, err)
	}
}

func mustDest(t *testing.T, api ipvs.API, svc ipvs.Service, d ipvs.Destination) {
	t.Helper()
	if err := api.CreateDestination(ctxT(t), svc, d); err != nil {
		t.Fatalf("create %v on %v: %v", d.Addr, svc, err)
	}
}

func getService(t *testing.T, api ipvs.API, svc ipvs.Service) ipvs.Service {
	t.Helper()
	got, err := api.Service(ctxT(t), svc)
	if err != nil {
		t.Fatalf("get %v: %v", svc, err)
	}
	return got
}

func getDest(t *testing.T, api ipvs.API, svc ipvs.Service, addr netip.AddrPort) ipvs.Destination {
	t.Helper()
	got, err := api.Destination(ctxT(t), svc, addr)
	if err != nil {
		t.Fatalf("get %v of %v: %v", addr, svc, err)
	}
	return got
}

func listServices(t *testing.T, api ipvs.API) []ipvs.Service {
	t.Helper()
	svcs, err := api.Services(ctxT(t))
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	return svcs
}

func listDests(t *testing.T, api ipvs.API, svc ipvs.Service) []ipvs.Destination {
	t.Helper()
	ds, err := api.Destinations(ctxT(t), svc)
	if err != nil {
		t.Fatalf("list destinations of %v: %v", svc, err)
	}
	return ds
}

// sameDests checks that got holds exactly want, in any order.
func sameDests(t *testing.T, got, want []ipvs.Destination) {
	t.Helper()
	byAddr := func(a, b ipvs.Destination) int { return a.Addr.Compare(b.Addr) }
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, byAddr)
	slices.SortFunc(want, byAddr)
	if !slices.Equal(got, want) {
		t.Errorf("destinations\n got  %+v\n want %+v", got, want)
	}
}

func (s *suite) info(t *testing.T) {
	api := s.open(t)
	in, err := api.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if in.Version.String() != "1.2.1" {
		t.Errorf("version %v, want 1.2.1", in.Version)
	}
	// The connection table has 2^CONFIG_IP_VS_TAB_BITS entries, 8 to 20 bits.
	if n := in.ConnTableSize; n < 1<<8 || n > 1<<20 || n&(n-1) != 0 {
		t.Errorf("connection table size %d is not a power of two from 2^8 to 2^20", n)
	}
}

func (s *suite) empty(t *testing.T) {
	api := s.open(t)
	if svcs := listServices(t, api); svcs == nil || len(svcs) != 0 {
		t.Errorf("services of a fresh IPVS: %#v, want an empty, non-nil list", svcs)
	}
	tb, err := api.Table(ctxT(t))
	if err != nil || len(tb.Services) != 0 {
		t.Errorf("table of a fresh IPVS: %+v, %v", tb, err)
	}
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	if ds := listDests(t, api, svc); ds == nil || len(ds) != 0 {
		t.Errorf("destinations of a new service: %#v, want an empty, non-nil list", ds)
	}
}

// services creates, reads, lists, updates and deletes each kind of service.
func (s *suite) services(t *testing.T) {
	for _, svc := range []ipvs.Service{
		{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin},
		{Protocol: ipvs.UDP, Addr: ap("10.0.0.100:53"), Scheduler: ipvs.RoundRobin},
		{Protocol: ipvs.SCTP, Addr: ap("10.0.0.100:3868"), Scheduler: ipvs.LeastConnection},
		{Protocol: ipvs.TCP, Addr: vip6, Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagSHFallback | ipvs.FlagSHPort},
		{Protocol: ipvs.UDP, Addr: ap("[2001:db8::100]:53"), Flags: ipvs.FlagOnePacket},
		{FirewallMark: 10, Scheduler: ipvs.RoundRobin},
		{FirewallMark: 11, Family: ipvs.IPv6, Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHPort},
		{Protocol: ipvs.TCP, Addr: ap("10.0.0.101:443"), Timeout: 10 * time.Second, Netmask: 24},
		{Protocol: ipvs.TCP, Addr: ap("[2001:db8::101]:443"), Timeout: 300 * time.Second, Netmask: 64},
		{Protocol: ipvs.TCP, Addr: ap("10.0.0.102:443"), Timeout: 60 * time.Second, Netmask: 32},
		{Protocol: ipvs.UDP, Addr: ap("10.0.0.102:5060"), Scheduler: ipvs.RoundRobin, Timeout: 60 * time.Second, PersistenceEngine: "sip"},
	} {
		t.Run(svc.String(), func(t *testing.T) {
			api := s.open(t)
			ctx := ctxT(t)
			mustService(t, api, svc)
			want := expect(svc)
			if got := getService(t, api, svc); got != want {
				t.Errorf("get\n got  %+v\n want %+v", got, want)
			}
			if list := listServices(t, api); len(list) != 1 || list[0] != want {
				t.Errorf("list %+v, want [%+v]", list, want)
			}
			wantErrno(t, "second create", api.CreateService(ctx, svc), "create service", syscall.EEXIST)

			upd := svc
			upd.Scheduler, upd.Flags, upd.Timeout, upd.Netmask, upd.PersistenceEngine = ipvs.NeverQueue, 0, 30*time.Second, 0, ""
			if err := api.UpdateService(ctx, upd); err != nil {
				t.Fatalf("update: %v", err)
			}
			if got, want := getService(t, api, svc), expect(upd); got != want {
				t.Errorf("after update\n got  %+v\n want %+v", got, want)
			}

			if err := api.DeleteService(ctx, svc); err != nil {
				t.Fatalf("delete: %v", err)
			}
			_, err := api.Service(ctx, svc)
			wantErrno(t, "get after delete", err, "get service", syscall.ESRCH)
			wantErrno(t, "second delete", api.DeleteService(ctx, svc), "delete service", syscall.ESRCH)
			if list := listServices(t, api); len(list) != 0 {
				t.Errorf("list after delete: %+v", list)
			}
		})
	}
}

// updateServiceReplacesAll: an update with only the key resets every
// setting (ipvsadm -E without options) and keeps the destinations.
func (s *suite) updateServiceReplacesAll(t *testing.T) {
	api := s.open(t)
	svc := ipvs.Service{Protocol: ipvs.UDP, Addr: ap("10.0.0.100:5060"), Scheduler: ipvs.SourceHashing,
		Flags: ipvs.FlagSHFallback | ipvs.FlagSHPort | ipvs.FlagOnePacket, Timeout: time.Minute, Netmask: 24, PersistenceEngine: "sip"}
	mustService(t, api, svc)
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 5060), Forward: ipvs.DirectRoute, Weight: 1}
	mustDest(t, api, svc, d)
	bare := ipvs.Service{Protocol: svc.Protocol, Addr: svc.Addr}
	if err := api.UpdateService(ctxT(t), bare); err != nil {
		t.Fatal(err)
	}
	if got, want := getService(t, api, svc), expect(bare); got != want {
		t.Errorf("after an update with the key alone\n got  %+v\n want %+v (wlc, no flags, no persistence)", got, want)
	}
	sameDests(t, listDests(t, api, svc), []ipvs.Destination{d})
}

func (s *suite) modifyService(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin, Timeout: time.Minute, Netmask: 24}
	mustService(t, api, svc)
	if err := api.ModifyService(ctx, svc, func(s *ipvs.Service) error { s.Scheduler = ipvs.RoundRobin; return nil }); err != nil {
		t.Fatal(err)
	}
	want := expect(svc)
	want.Scheduler = ipvs.RoundRobin
	if got := getService(t, api, svc); got != want {
		t.Errorf("after ModifyService\n got  %+v\n want %+v", got, want)
	}
	stop := errors.New("stop")
	if err := api.ModifyService(ctx, svc, func(s *ipvs.Service) error { s.Scheduler = ipvs.LeastConnection; return stop }); err != stop {
		t.Errorf("fn's error: %v, want it as it is", err)
	}
	err := api.ModifyService(ctx, svc, func(s *ipvs.Service) error { s.Addr = vip6; return nil })
	wantInvalid(t, "changed key", err)
	if got := getService(t, api, svc); got != want {
		t.Errorf("after refused modifications\n got  %+v\n want %+v", got, want)
	}
	err = api.ModifyService(ctx, ipvs.Service{Protocol: ipvs.UDP, Addr: vip4}, func(*ipvs.Service) error { return nil })
	wantErrno(t, "missing service", err, "get service", syscall.ESRCH)
}

// schedulers creates a service with each scheduler the kernel has
// (Debian's 6.1 is built without twos).
func (s *suite) schedulers(t *testing.T) {
	api := s.open(t)
	for i, sched := range ipvs.Schedulers() {
		if sched == ipvs.TwoRandomChoices {
			continue
		}
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip4.Addr(), uint16(1000+i)), Scheduler: sched}
		mustService(t, api, svc)
		if got := getService(t, api, svc); got.Scheduler != sched {
			t.Errorf("scheduler %s read back as %q", sched, got.Scheduler)
		}
	}
	if n := len(listServices(t, api)); n != len(ipvs.Schedulers())-1 {
		t.Errorf("%d services, want %d", n, len(ipvs.Schedulers())-1)
	}
}

// firewallMarkFamilies: one mark makes two services, IPv4 and IPv6.
func (s *suite) firewallMarkFamilies(t *testing.T) {
	api := s.open(t)
	v4, v6 := ipvs.Service{FirewallMark: 5}, ipvs.Service{FirewallMark: 5, Family: ipvs.IPv6, Scheduler: ipvs.RoundRobin}
	mustService(t, api, v4)
	mustService(t, api, v6)
	if got := getService(t, api, v6); got != expect(v6) {
		t.Errorf("IPv6 mark 5: %+v, want %+v", got, expect(v6))
	}
	if n := len(listServices(t, api)); n != 2 {
		t.Errorf("%d services, want 2", n)
	}
	if err := api.DeleteService(ctxT(t), v4); err != nil {
		t.Fatal(err)
	}
	_, err := api.Service(ctxT(t), v4)
	wantErrno(t, "deleted IPv4 mark", err, "get service", syscall.ESRCH)
	if got := getService(t, api, v6); got != expect(v6) {
		t.Errorf("IPv6 mark 5 after deleting the IPv4 one: %+v", got)
	}
}

// missingService: every request naming a missing service fails with ESRCH,
// and the error names the service (and the destination, if the request
// names one).
func (s *suite) missingService(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1}
	mustService(t, api, ipvs.Service{Protocol: ipvs.UDP, Addr: vip4}) // another protocol is another service
	_, errGet := api.Service(ctx, svc)
	errCreateDest := api.CreateDestination(ctx, svc, d)
	_, errList := api.Destinations(ctx, svc)
	_, errGetDest := api.Destination(ctx, svc, d.Addr)
	for _, c := range []struct {
		what, op string
		err      error
		dest     netip.AddrPort // the destination the error names
	}{
		{"get", "get service", errGet, netip.AddrPort{}},
		{"update", "update service", api.UpdateService(ctx, svc), netip.AddrPort{}},
		{"delete", "delete service", api.DeleteService(ctx, svc), netip.AddrPort{}},
		{"zero", "zero", api.ZeroService(ctx, svc), netip.AddrPort{}},
		{"create destination", "create destination", errCreateDest, d.Addr},
		{"update destination", "update destination", api.UpdateDestination(ctx, svc, d), d.Addr},
		{"delete destination", "delete destination", api.DeleteDestination(ctx, svc, d), d.Addr},
		{"list destinations", "list destinations", errList, netip.AddrPort{}},
		{"get destination", "list destinations", errGetDest, netip.AddrPort{}},
	} {
		wantErrno(t, c.what, c.err, c.op, syscall.ESRCH)
		wantNames(t, c.what, c.err, svc, c.dest)
	}
	if want := "ipvs: create destination 10.0.0.110:80 in tcp 10.0.0.100:80: no such service"; errCreateDest == nil || errCreateDest.Error() != want {
		t.Errorf("create destination: message %q, want %q", errCreateDest, want)
	}
	if n := len(listServices(t, api)); n != 1 {
		t.Errorf("%d services, want 1", n)
	}
}

// flush removes every service with its destinations and leaves the
// timeouts alone.
func (s *suite) flush(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	mustDest(t, api, svc, ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1})
	for m := uint32(1); m <= 5; m++ {
		mustService(t, api, ipvs.Service{FirewallMark: m})
	}
	mustService(t, api, ipvs.Service{Protocol: ipvs.UDP, Addr: vip6})
	set := ipvs.Timeouts{TCP: 20 * time.Second, TCPFin: 21 * time.Second, UDP: 22 * time.Second}
	if err := api.SetTimeouts(ctx, set); err != nil {
		t.Fatal(err)
	}
	if err := api.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if svcs := listServices(t, api); len(svcs) != 0 {
		t.Errorf("after flush: %+v", svcs)
	}
	if got, err := api.Timeouts(ctx); err != nil || got != set {
		t.Errorf("timeouts after flush: %+v, %v; want %+v", got, err, set)
	}
	mustService(t, api, svc)
	if ds := listDests(t, api, svc); len(ds) != 0 {
		t.Errorf("a service created after flush has destinations %+v", ds)
	}
	if err := api.Flush(ctx); err != nil {
		t.Errorf("second flush: %v", err)
	}
}

func (s *suite) timeouts(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	check := func(what string, want ipvs.Timeouts) {
		t.Helper()
		if got, err := api.Timeouts(ctx); err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", what, got, err, want)
		}
	}
	cur := ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
	check("defaults (ipvsadm: 900 120 300)", cur)
	cur = ipvs.Timeouts{TCP: 20 * time.Second, TCPFin: 25 * time.Second, UDP: 30 * time.Second}
	if err := api.SetTimeouts(ctx, cur); err != nil {
		t.Fatal(err)
	}
	check("after --set 20 25 30", cur)
	if err := api.SetTimeouts(ctx, ipvs.Timeouts{UDP: 45 * time.Second}); err != nil {
		t.Fatal(err)
	}
	cur.UDP = 45 * time.Second
	check("after setting UDP alone", cur)
	if err := api.SetTimeouts(ctx, ipvs.Timeouts{}); err != nil {
		t.Fatal(err)
	}
	check("after setting nothing", cur)
	wantInvalid(t, "fraction of a second", api.SetTimeouts(ctx, ipvs.Timeouts{TCP: 1500 * time.Millisecond}))
	wantInvalid(t, "negative", api.SetTimeouts(ctx, ipvs.Timeouts{TCPFin: -time.Second}))
	check("after refused settings", cur)
}

// zero: the counters of a fresh service are zero and stay so; zeroing a
// missing service fails.
func (s *suite) zero(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	mustDest(t, api, svc, ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1})
	if err := api.ZeroService(ctx, svc); err != nil {
		t.Errorf("zero service: %v", err)
	}
	if err := api.ZeroAll(ctx); err != nil {
		t.Errorf("zero all: %v", err)
	}
	if got := getService(t, api, svc); got.Stats != (ipvs.Stats{}) {
		t.Errorf("stats %+v", got.Stats)
	}
	for _, d := range listDests(t, api, svc) {
		if d.Stats != (ipvs.Stats{}) || d.ActiveConns+d.InactiveConns+d.PersistentConns != 0 {
			t.Errorf("destination %v has counters: %+v", d.Addr, d)
		}
	}
	wantErrno(t, "missing", api.ZeroService(ctx, ipvs.Service{FirewallMark: 1}), "zero", syscall.ESRCH)
}

// cancelled: a call with a done context fails with its error and changes
// nothing; invalid input is reported first.
func (s *suite) cancelled(t *testing.T) {
	api := s.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	wantCancelled := func(what string, err error, op string) {
		t.Helper()
		var e *ipvs.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Op != op {
			t.Errorf("%s: err = %v, want an *ipvs.Error for %q matching context.Canceled", what, err, op)
		}
	}
	_, err := api.Services(ctx)
	wantCancelled("list", err, "list services")
	wantCancelled("create", api.CreateService(ctx, svc), "create service")
	wantInvalid(t, "invalid create", api.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP}))
	var one, two ipvs.Batch
	one.CreateService(svc)
	results, err := api.Apply(ctx, &one)
	wantCancelled("batch of one", err, "create service")
	if results != nil {
		t.Errorf("results of a batch never sent: %v", results)
	}
	two.CreateService(svc)
	two.CreateService(ipvs.Service{FirewallMark: 1})
	_, err = api.Apply(ctx, &two)
	wantCancelled("batch of two", err, "apply batch")
	if svcs := listServices(t, api); len(svcs) != 0 {
		t.Errorf("services after cancelled calls: %+v", svcs)
	}
}

// close: after Close, calls fail.
func (s *suite) close(t *testing.T) {
	api := s.newAPI(t)
	mustService(t, api, ipvs.Service{FirewallMark: 1})
	if err := api.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ctx := ctxT(t)
	_, err := api.Services(ctx)
	var e *ipvs.Error
	if !errors.As(err, &e) || e.Op != "list services" {
		t.Errorf("list after close: %v, want an *ipvs.Error for \"list services\"", err)
	}
	if err := api.CreateService(ctx, ipvs.Service{FirewallMark: 2}); !errors.As(err, &e) || e.Op != "create service" {
		t.Errorf("create after close: %v, want an *ipvs.Error for \"create service\"", err)
	}
}

// invalidInput: every method refuses invalid input before doing anything,
// with a validation error.
func (s *suite) invalidInput(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}
	mustService(t, api, svc)
	noKey := ipvs.Service{Protocol: ipvs.TCP}
	d := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1}
	_, errGet := api.Service(ctx, noKey)
	_, errList := api.Destinations(ctx, noKey)
	for what, err := range map[string]error{
		"get":                errGet,
		"create":             api.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: ap("10.0.0.101:80"), Scheduler: "nope"}),
		"update":             api.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Timeout: -time.Second}),
		"delete":             api.DeleteService(ctx, noKey),
		"zero":               api.ZeroService(ctx, noKey),
		"list destinations":  errList,
		"create destination": api.CreateDestination(ctx, svc, ipvs.Destination{Addr: d.Addr, Weight: -1}),
		"port 0":             api.CreateDestination(ctx, svc, ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 0), Weight: 1}),
		"update destination": api.UpdateDestination(ctx, svc, ipvs.Destination{Addr: d.Addr, Forward: 7}),
		"delete destination": api.DeleteDestination(ctx, svc, ipvs.Destination{}),
		"multicast":          api.CreateDestination(ctx, svc, ipvs.Destination{Addr: ap("224.0.0.1:80"), Weight: 1}),
	} {
		wantInvalid(t, what, err)
	}
	if svcs := listServices(t, api); len(svcs) != 1 || svcs[0] != expect(svc) {
		t.Errorf("services after refused input: %+v", svcs)
	}
	if ds := listDests(t, api, svc); len(ds) != 0 {
		t.Errorf("destinations after refused input: %+v", ds)
	}
}

// table: Table reads what Services and Destinations list, in their order,
// and prints as ipvsadm -Ln.
func (s *suite) table(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	web := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin}
	dns := ipvs.Service{Protocol: ipvs.UDP, Addr: ap("[2001:db8::100]:53"), Scheduler: ipvs.RoundRobin, Timeout: time.Minute}
	fwm := ipvs.Service{FirewallMark: 7, Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHFallback}
	var b ipvs.Batch
	b.CreateService(web)
	b.CreateDestination(web, ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1})
	b.CreateDestination(web, ipvs.Destination{Addr: rip(ipvs.IPv4, 120, 80), Forward: ipvs.DirectRoute, Weight: 2})
	b.CreateService(dns)
	b.CreateDestination(dns, ipvs.Destination{Addr: rip(ipvs.IPv6, 110, 53), Forward: ipvs.Masquerade, Weight: 0})
	b.CreateService(fwm)
	b.CreateDestination(fwm, ipvs.Destination{Addr: rip(ipvs.IPv4, 130, 0), Forward: ipvs.Tunnel, Weight: 3})
	mustApply(t, api, &b)
	tb, err := api.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, err := api.Info(ctx)
	if err != nil || tb.Info != in {
		t.Errorf("table info %+v, Info %+v (%v)", tb.Info, in, err)
	}
	svcs := listServices(t, api)
	if len(tb.Services) != len(svcs) {
		t.Fatalf("table has %d services, Services %d", len(tb.Services), len(svcs))
	}
	for i, ts := range tb.Services {
		if ts.Service != svcs[i] {
			t.Errorf("table service %d: %+v, Services has %+v", i, ts.Service, svcs[i])
		}
		if ds := listDests(t, api, ts.Service); !slices.Equal(ts.Destinations, ds) {
			t.Errorf("table destinations of %v: %+v, Destinations has %+v", ts.Service, ts.Destinations, ds)
		}
	}
	var out strings.Builder
	if err := ipvsadm.WriteList(&out, tb, ipvsadm.ListFormat{}); err != nil {
		t.Fatal(err)
	}
	_, listing, _ := strings.Cut(out.String(), "\n") // the version line names the table size
	want := `Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.100:80 wrr
  -> 10.0.0.110:80                Route   1      0          0         
  -> 10.0.0.120:80                Route   2      0          0         
UDP  [2001:db8::100]:53 rr persistent 60
  -> [2001:db8::6e]:53            Masq    0      0          0         
FWM  7 mh (mh-fallback)
  -> 10.0.0.130:0                 Tunnel  3      0          0         
`
	if listing != want {
		t.Errorf("ipvsadm -Ln listing:\n%s\nwant:\n%s", listing, want)
	}
}

func mustApply(t *testing.T, api ipvs.API, b *ipvs.Batch) {
	t.Helper()
	results, err := api.Apply(ctxT(t), b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("change %d: %v", i, r)
		}
	}
}
