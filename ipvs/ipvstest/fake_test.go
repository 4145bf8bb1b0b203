package ipvstest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestFakeListsAsTheKernelDid: created in the same order, services list in
// exactly the order three namespaces of Linux 6.1 listed them (read with
// this package's kernel tier; each namespace's salt found by the
// conformance suite's search).
func TestFakeListsAsTheKernelDid(t *testing.T) {
	var created []ipvs.Service
	for _, m := range []uint32{1, 2, 3, 100, 200, 255, 256, 257, 1000} {
		created = append(created, ipvs.Service{FirewallMark: m})
	}
	for i := range 12 {
		created = append(created, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)}), 80)})
	}
	created = append(created,
		ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53")},
		ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("[2001:db8::100]:80")},
		ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6})
	const tcp = "TCP  10.0.0.102:80,TCP  10.0.0.103:80,TCP  10.0.0.100:80,TCP  10.0.0.101:80,TCP  10.0.0.110:80,TCP  10.0.0.111:80," +
		"TCP  10.0.0.108:80,TCP  10.0.0.109:80,TCP  10.0.0.106:80,TCP  10.0.0.107:80,TCP  10.0.0.104:80,TCP  10.0.0.105:80"
	for salt, want := range map[uint8]string{
		224: "TCP  [2001:db8::100]:80,UDP  10.0.0.100:53," + tcp + ",FWM  1000,FWM  255,FWM  200,FWM  100,FWM  256,FWM  257,FWM  1,FWM  2,FWM  3,FWM  7 IPv6",
		32:  tcp + ",UDP  10.0.0.100:53,TCP  [2001:db8::100]:80,FWM  256,FWM  257,FWM  1,FWM  2,FWM  3,FWM  7 IPv6,FWM  100,FWM  1000,FWM  255,FWM  200",
		96:  "UDP  10.0.0.100:53," + tcp + ",TCP  [2001:db8::100]:80,FWM  100,FWM  256,FWM  257,FWM  1,FWM  2,FWM  3,FWM  7 IPv6,FWM  1000,FWM  255,FWM  200",
	} {
		f := ipvstest.New(&ipvstest.Config{HashSalt: salt})
		var b ipvs.Batch
		for _, s := range created {
			b.CreateService(s)
		}
		if _, err := f.Apply(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		svcs, err := f.Services(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range svcs {
			got = append(got, s.String())
		}
		if g := strings.Join(got, ","); g != want {
			t.Errorf("salt %d:\n got  %s\n want %s", salt, g, want)
		}
	}
}

// TestFakeConcurrentUse: many goroutines change and read one Fake (run
// with -race to see its locking).
func TestFakeConcurrentUse(t *testing.T) {
	f := ipvstest.New(nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 8 {
				svc := ipvs.Service{FirewallMark: uint32(g*100 + i + 1), Scheduler: ipvs.RoundRobin}
				d := ipvs.Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(g), byte(i + 1)}), 0), Forward: ipvs.DirectRoute, Weight: 1}
				var b ipvs.Batch
				b.CreateService(svc)
				b.CreateDestination(svc, d)
				results, err := f.Apply(ctx, &b)
				if err = errors.Join(append(results, err)...); err != nil {
					errs <- err
					return
				}
				if err := f.ModifyDestination(ctx, svc, d.Addr, func(d *ipvs.Destination) error { d.Weight++; return nil }); err != nil {
					errs <- err
					return
				}
				if _, err := f.Table(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tb, err := f.Table(ctx)
	if err != nil || len(tb.Services) != 64 {
		t.Fatalf("%d services after concurrent creates (%v), want 64", len(tb.Services), err)
	}
	for _, s := range tb.Services {
		if len(s.Destinations) != 1 || s.Destinations[0].Weight != 2 {
			t.Errorf("%v: %+v, want one destination of weight 2", s.Service, s.Destinations)
		}
	}
}

// TestFakeClosed: after Close every call fails with an error wrapping
// net.ErrClosed, a batch before any of its changes is applied.
func TestFakeClosed(t *testing.T) {
	f := ipvstest.New(nil)
	ctx := context.Background()
	if err := f.CreateService(ctx, ipvs.Service{FirewallMark: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := f.Info(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("info: %v, want net.ErrClosed", err)
	}
	if err := f.Flush(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("flush: %v, want net.ErrClosed", err)
	}
	var b ipvs.Batch
	b.CreateService(ipvs.Service{FirewallMark: 2})
	b.DeleteService(ipvs.Service{FirewallMark: 1})
	results, err := f.Apply(ctx, &b)
	var e *ipvs.Error
	if !errors.Is(err, net.ErrClosed) || !errors.As(err, &e) || e.Op != "apply batch" {
		t.Errorf("apply: %v, want an *ipvs.Error for \"apply batch\" wrapping net.ErrClosed", err)
	}
	if results != nil {
		t.Errorf("results %v of a batch never applied", results)
	}
	// Invalid input is still reported as such.
	if err := f.CreateService(ctx, ipvs.Service{}); !errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("invalid create after close: %v", err)
	}
}

// TestFakeKeepsCopies: what a caller does with a listing does not change
// the Fake.
func TestFakeKeepsCopies(t *testing.T) {
	f := ipvstest.New(nil)
	ctx := context.Background()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	d := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1}
	if err := errors.Join(f.CreateService(ctx, svc), f.CreateDestination(ctx, svc, d)); err != nil {
		t.Fatal(err)
	}
	tb, _ := f.Table(ctx)
	tb.Services[0].Scheduler = ipvs.RoundRobin
	tb.Services[0].Destinations[0].Weight = 9
	ds, _ := f.Destinations(ctx, svc)
	ds[0].Weight = 8
	again, _ := f.Table(ctx)
	if again.Services[0].Scheduler != ipvs.WeightedLeastConnection || !slices.Equal(again.Services[0].Destinations, []ipvs.Destination{d}) {
		t.Errorf("changing a listing changed the Fake: %+v", again.Services)
	}
}
