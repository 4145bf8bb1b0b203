package ipvstest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
)

func (s *suite) batch(t *testing.T) {
	t.Run("PerChangeResults", s.batchResults)
	t.Run("InvalidAppliesNothing", s.batchInvalid)
	t.Run("Empty", s.batchEmpty)
	t.Run("SingleChange", s.batchSingle)
	t.Run("FailuresInTheMiddleAndAtTheEnd", s.batchFailuresAtEnds)
}

// batchFailuresAtEnds: in a batch longer than one system call's share (the
// client sends 128 changes a sendmsg, and asks the kernel to acknowledge
// only the last of each: the others are answered only if they fail),
// exactly the changes that fail report an error, wherever they are: in the
// middle, on the first and last change a system call carries, and on the
// batch's last change. The client reads on as usual afterwards.
func (s *suite) batchFailuresAtEnds(t *testing.T) {
	api := s.open(t)
	const n = 300
	svc := func(i int) ipvs.Service {
		return ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip4.Addr(), uint16(1000+i)), Scheduler: ipvs.RoundRobin}
	}
	fails := []int{1, 63, 126, 127, 128, 255, 256, 298, n - 1}
	var pre ipvs.Batch
	for _, i := range fails {
		pre.CreateService(svc(i))
	}
	mustApply(t, api, &pre)
	var b ipvs.Batch
	for i := range n {
		b.CreateService(svc(i))
	}
	results, err := api.Apply(ctxT(t), &b)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != n {
		t.Fatalf("%d results for %d changes", len(results), n)
	}
	for i, r := range results {
		what := fmt.Sprintf("change %d", i)
		if !slices.Contains(fails, i) {
			if r != nil {
				t.Errorf("%s: %v, want applied", what, r)
			}
			continue
		}
		wantErrno(t, what, r, "create service", syscall.EEXIST)
		wantNames(t, what, r, svc(i), netip.AddrPort{})
	}
	if svcs := listServices(t, api); len(svcs) != n {
		t.Errorf("%d services after the batch, want %d", len(svcs), n)
	}
	// The same with a failure only on the last change, which a batch of
	// one is too.
	var last ipvs.Batch
	last.CreateService(svc(n))
	last.DeleteService(svc(n + 1))
	results, err = api.Apply(ctxT(t), &last)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0] != nil {
		t.Fatalf("results %v, want the create applied", results)
	}
	wantErrno(t, "delete of a missing service", results[1], "delete service", syscall.ESRCH)
	if _, err := api.Service(ctxT(t), svc(n)); err != nil {
		t.Errorf("the created service: %v", err)
	}
}

// batchResults: each change of a batch is applied on its own, in order, and
// reports its own result, which names the change's service and
// destination; a failure stops nothing.
func (s *suite) batchResults(t *testing.T) {
	api := s.open(t)
	a := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.RoundRobin}
	missing := ipvs.Service{Protocol: ipvs.UDP, Addr: vip4}
	fwm := ipvs.Service{FirewallMark: 7}
	rs := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.DirectRoute, Weight: 1}
	other := ipvs.Destination{Addr: rip(ipvs.IPv4, 120, 80), Forward: ipvs.DirectRoute, Weight: 1}
	var b ipvs.Batch
	type want struct {
		op    string
		errno syscall.Errno // 0: applied
		svc   ipvs.Service  // what the error names
		dest  netip.AddrPort
	}
	var wants []want
	queue := func(w want, add func()) { add(); wants = append(wants, w) }
	queue(want{}, func() { b.CreateService(a) })
	queue(want{}, func() { b.CreateDestination(a, rs) })
	queue(want{"create service", syscall.EEXIST, a, netip.AddrPort{}}, func() { b.CreateService(a) })
	queue(want{"create destination", syscall.ESRCH, missing, rs.Addr}, func() { b.CreateDestination(missing, rs) })
	queue(want{}, func() { b.UpdateDestination(a, ipvs.Destination{Addr: rs.Addr, Forward: ipvs.DirectRoute, Weight: 9}) })
	queue(want{"delete service", syscall.ESRCH, missing, netip.AddrPort{}}, func() { b.DeleteService(missing) })
	queue(want{}, func() { b.CreateService(fwm) })
	queue(want{"delete destination", syscall.ENOENT, a, other.Addr}, func() { b.DeleteDestination(a, other) })
	queue(want{"update service", syscall.ESRCH, missing, netip.AddrPort{}}, func() { b.UpdateService(missing) })
	queue(want{"create destination", syscall.EEXIST, a, rs.Addr}, func() { b.CreateDestination(a, rs) })
	queue(want{"update destination", syscall.ENOENT, a, other.Addr}, func() { b.UpdateDestination(a, other) })
	queue(want{}, func() { b.DeleteService(fwm) }) // sees the create before it
	bcast := ipvs.Destination{Addr: netip.MustParseAddrPort("255.255.255.255:80"), Forward: ipvs.DirectRoute, Weight: 1}
	queue(want{"create destination", syscall.EINVAL, a, bcast.Addr}, func() { b.CreateDestination(a, bcast) })
	queue(want{}, func() { b.CreateDestination(a, other) })
	results, err := api.Apply(ctxT(t), &b)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(wants) {
		t.Fatalf("%d results for %d changes", len(results), len(wants))
	}
	for i, w := range wants {
		what := fmt.Sprintf("change %d", i)
		if w.errno == 0 {
			if results[i] != nil {
				t.Errorf("%s: %v, want applied", what, results[i])
			}
			continue
		}
		wantErrno(t, what, results[i], w.op, w.errno)
		wantNames(t, what, results[i], w.svc, w.dest)
	}
	rs.Weight = 9
	sameDests(t, listDests(t, api, a), []ipvs.Destination{rs, other})
	if svcs := listServices(t, api); len(svcs) != 1 || svcs[0].Key() != a.Key() {
		t.Errorf("services after the batch: %+v, want %v alone", svcs, a)
	}
}

// batchInvalid: a batch with an invalid change is refused whole, naming the
// change.
func (s *suite) batchInvalid(t *testing.T) {
	api := s.open(t)
	var b ipvs.Batch
	b.CreateService(ipvs.Service{FirewallMark: 1})
	b.CreateService(ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: "nope"})
	b.CreateService(ipvs.Service{FirewallMark: 2})
	results, err := api.Apply(ctxT(t), &b)
	var be *ipvs.BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, ipvs.ErrInvalid) {
		t.Fatalf("err = %v, want an *ipvs.BatchError for change 1 matching ErrInvalid", err)
	}
	wantInvalid(t, "the change's error", be.Err)
	if results != nil {
		t.Errorf("results of a refused batch: %v", results)
	}
	if svcs := listServices(t, api); len(svcs) != 0 {
		t.Errorf("services after a refused batch: %+v", svcs)
	}
}

func (s *suite) batchEmpty(t *testing.T) {
	api := s.open(t)
	var b ipvs.Batch
	results, err := api.Apply(ctxT(t), &b)
	if err != nil || len(results) != 0 {
		t.Errorf("empty batch: %v, %v", results, err)
	}
}

// batchSingle: a batch of one reports its change's result, and a batch
// that is Reset is used again.
func (s *suite) batchSingle(t *testing.T) {
	api := s.open(t)
	var b ipvs.Batch
	b.DeleteService(ipvs.Service{FirewallMark: 3})
	results, err := api.Apply(ctxT(t), &b)
	if err != nil || len(results) != 1 {
		t.Fatalf("batch of one: %v, %v", results, err)
	}
	wantErrno(t, "delete of a missing service", results[0], "delete service", syscall.ESRCH)
	b.Reset()
	b.CreateService(ipvs.Service{FirewallMark: 3})
	mustApply(t, api, &b)
	if svcs := listServices(t, api); len(svcs) != 1 || svcs[0] != expect(ipvs.Service{FirewallMark: 3}) {
		t.Errorf("services: %+v", svcs)
	}
}

func (s *suite) order(t *testing.T) {
	t.Run("Destinations", s.orderDestinations)
	t.Run("Services", s.orderServices)
}

// orderDestinations: destinations are listed newest first; an update
// moves none, a destination deleted and added again is the newest.
func (s *suite) orderDestinations(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.WeightedRoundRobin}
	mustService(t, api, svc)
	d := func(n byte) ipvs.Destination {
		return ipvs.Destination{Addr: rip(ipvs.IPv4, n, 80), Forward: ipvs.DirectRoute, Weight: int(n)}
	}
	check := func(what string, want ...byte) {
		t.Helper()
		var got []byte
		for _, x := range listDests(t, api, svc) {
			got = append(got, x.Addr.Addr().As4()[3])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: order %v, want %v", what, got, want)
		}
	}
	for n := byte(1); n <= 5; n++ {
		mustDest(t, api, svc, d(n))
	}
	check("added 1 to 5", 5, 4, 3, 2, 1)
	upd := d(3)
	upd.Weight = 7
	if err := api.UpdateDestination(ctx, svc, upd); err != nil {
		t.Fatal(err)
	}
	check("updated 3", 5, 4, 3, 2, 1)
	if err := api.DeleteDestination(ctx, svc, d(2)); err != nil {
		t.Fatal(err)
	}
	mustDest(t, api, svc, d(2))
	check("deleted and added 2 again", 2, 5, 4, 3, 1)
	var b ipvs.Batch
	b.CreateDestination(svc, d(6))
	b.CreateDestination(svc, d(7))
	mustApply(t, api, &b)
	check("a batch added 6 and 7", 7, 6, 2, 5, 4, 3, 1)
}

// orderServices: services are listed as the kernel's two hash tables hold
// them: every address service before every firewall-mark service, each
// table in bucket order for the namespace's salt, newest first within a
// bucket. An update moves nothing; a service deleted and created again is
// the newest of its bucket.
func (s *suite) orderServices(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	var created []ipvs.Key // oldest first
	var b ipvs.Batch
	add := func(svc ipvs.Service) {
		b.CreateService(svc)
		created = append(created, svc.Key())
	}
	for _, m := range []uint32{1, 2, 3, 100, 200, 255, 256, 257, 1000} {
		add(ipvs.Service{FirewallMark: m})
	}
	add(ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6})
	add(ipvs.Service{FirewallMark: 1, Family: ipvs.IPv6}) // the bucket of marks 1 and 257 whatever the salt
	for i := range 12 {
		add(ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)}), 80)})
	}
	add(ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53")})
	add(ipvs.Service{Protocol: ipvs.TCP, Addr: vip6})
	older, newer := ipvs.Service{Protocol: ipvs.TCP, Addr: vip4}, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.1.100:80")}
	add(newer) // the bucket of 10.0.0.100:80 whatever the salt
	mustApply(t, api, &b)

	keys := func() []ipvs.Key {
		var out []ipvs.Key
		for _, s := range listServices(t, api) {
			out = append(out, s.Key())
		}
		return out
	}
	first := keys()
	salts := kernelOrders(first, created)
	if len(salts) == 0 {
		t.Fatalf("services listed as %v: the kernel's hash tables give that order for no salt", first)
	}
	t.Logf("the order of the kernel's tables with salts %v", salts)
	before := func(list []ipvs.Key, a, b ipvs.Key) bool {
		return slices.Index(list, a) < slices.Index(list, b)
	}
	if !before(first, newer.Key(), older.Key()) {
		t.Errorf("%v was created after %v in the same bucket and is listed after it", newer, older)
	}
	fwm1v4, fwm1v6, fwm257 := ipvs.Service{FirewallMark: 1}.Key(), ipvs.Service{FirewallMark: 1, Family: ipvs.IPv6}.Key(), ipvs.Service{FirewallMark: 257}.Key()
	if !before(first, fwm1v6, fwm257) || !before(first, fwm257, fwm1v4) {
		t.Errorf("marks 1 (IPv4), 257 and 1 (IPv6) share a bucket and are not listed newest first: %v", first)
	}

	if err := api.UpdateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: vip4, Scheduler: ipvs.RoundRobin}); err != nil {
		t.Fatal(err)
	}
	if got := keys(); !slices.Equal(got, first) {
		t.Errorf("an update moved services:\n before %v\n after  %v", first, got)
	}

	if err := api.DeleteService(ctx, older); err != nil {
		t.Fatal(err)
	}
	mustService(t, api, older)
	created = append(slices.DeleteFunc(created, func(k ipvs.Key) bool { return k == older.Key() }), older.Key())
	again := keys()
	age := map[ipvs.Key]int{}
	for i, k := range created {
		age[k] = i
	}
	// Several salts can give the first order: the kernel's is one of
	// those that give this one too.
	if len(again) != len(created) || !slices.ContainsFunc(salts, func(salt uint32) bool { return orderFor(again, age, salt) }) {
		t.Errorf("after %v was created again the order %v is not the kernel's for any of the salts %v", older, again, salts)
	}
	if !before(again, older.Key(), newer.Key()) {
		t.Errorf("%v, created again, is not listed before %v", older, newer)
	}
}

// kernelOrders returns the salts for which the kernel would list the
// services created (oldest first) in the order of list.
func kernelOrders(list, created []ipvs.Key) []uint32 {
	if len(list) != len(created) {
		return nil
	}
	age := map[ipvs.Key]int{}
	for i, k := range created {
		age[k] = i
	}
	for _, k := range list {
		if _, ok := age[k]; !ok {
			return nil
		}
	}
	var out []uint32
	for salt := uint32(0); salt < 256; salt++ {
		if orderFor(list, age, salt) {
			out = append(out, salt)
		}
	}
	return out
}

// orderFor reports whether the kernel would list services of the given ages
// (larger is newer) in the order of list for salt.
func orderFor(list []ipvs.Key, age map[ipvs.Key]int, salt uint32) bool {
	svc := func(k ipvs.Key) ipvs.Service {
		return ipvs.Service{Protocol: k.Protocol, Addr: k.Addr, FirewallMark: k.FirewallMark, Family: k.Family}
	}
	for i := 1; i < len(list); i++ {
		a, b := list[i-1], list[i]
		if af, bf := a.FirewallMark != 0, b.FirewallMark != 0; af != bf {
			if af {
				return false // address services come first
			}
			continue
		}
		ba, bb := bucket(svc(a), salt), bucket(svc(b), salt)
		if ba > bb || (ba == bb && age[a] < age[b]) {
			return false
		}
	}
	return true
}
