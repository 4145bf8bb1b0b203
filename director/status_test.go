package director

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// refsOf returns the checks' references to tgs, each of a service of its
// own with the one real server.
func refsOf(t *testing.T, tgs ...target) []targetRef {
	t.Helper()
	var out []targetRef
	for _, tg := range tgs {
		k := tg.svc
		s := &service{svc: ipvs.Service{Protocol: k.Protocol, Addr: k.Addr, FirewallMark: k.FirewallMark, Family: k.Family},
			dests: []ipvs.Destination{{Addr: tg.addr}}}
		if r := (targetRef{s, 0}); r.target() != tg {
			t.Fatalf("target %v made %v", tg, r.target())
		}
		out = append(out, targetRef{s, 0})
	}
	return out
}

// TestStatusHealth: the checked real servers are listed in order, start
// as failed says, keep their health and time across a new set of targets
// (a reload), and are cleared when Run ends; a snapshot is a copy.
func TestStatusHealth(t *testing.T) {
	web := ipvs.Key{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}
	mark := ipvs.Key{FirewallMark: 5, Family: ipvs.IPv4}
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80")
	a, b, c := target{web, rs2}, target{mark, rs1}, target{web, rs1}
	var book statusBook
	before := time.Now()
	book.watch(refsOf(t, a, b, c), map[target]bool{a: true})
	s := book.snapshot()
	want := []target{c, a, b} // address services first, by address; then marks
	if len(s.RealServers) != len(want) {
		t.Fatalf("real servers %+v, want %v", s.RealServers, want)
	}
	for i, h := range s.RealServers {
		if (target{h.Service, h.Addr}) != want[i] || h.Healthy != (want[i] != a) || h.Since.Before(before) {
			t.Errorf("real server %d: %+v, want %v, healthy %v, since the watch", i, h, want[i], want[i] != a)
		}
	}
	s.RealServers[0].Healthy = false
	if !book.snapshot().RealServers[0].Healthy {
		t.Error("changing a snapshot changed the status")
	}

	time.Sleep(time.Millisecond)
	book.flipped(a, true)
	book.flipped(target{web, netip.MustParseAddrPort("10.0.0.99:80")}, false) // not watched: ignored
	flipped := book.snapshot().RealServers[1]
	if !flipped.Healthy || !flipped.Since.After(s.RealServers[1].Since) {
		t.Errorf("after the flip: %+v", flipped)
	}

	// A reload drops b and keeps a as it was.
	book.watch(refsOf(t, a, c), map[target]bool{a: true})
	s = book.snapshot()
	if len(s.RealServers) != 2 || s.RealServers[1] != flipped {
		t.Errorf("after the reload: %+v, want a kept as %+v", s.RealServers, flipped)
	}
	book.watch(nil, nil)
	if s := book.snapshot(); len(s.RealServers) != 0 {
		t.Errorf("after Run: %+v", s.RealServers)
	}
}

// TestStatusCounters: applies, errors and resyncs are counted, and every
// operation kind has its entry in a snapshot.
func TestStatusCounters(t *testing.T) {
	var book statusBook
	if s := book.snapshot(); len(s.Ops) != len(opKinds) || len(s.Failed) != len(opKinds) || s.Applies != 0 || !s.LastApply.IsZero() {
		t.Errorf("zero status: %+v", s)
	}
	start := time.Now()
	time.Sleep(2 * time.Millisecond)
	book.applied(start)
	book.errored()
	book.resynced(false, 0)
	if s := book.snapshot(); s.Applies != 1 || s.LastApplyDuration < 2*time.Millisecond || s.LastApply.Before(start) || s.Errors != 1 || !s.LastResync.IsZero() {
		t.Errorf("after an apply, an error and a failed resync: %+v", s)
	}
	book.resynced(true, 2)
	book.resynced(true, 1)
	if s := book.snapshot(); s.LastResync.Before(start) || s.Drift != 3 {
		t.Errorf("after two resyncs: %+v", s)
	}
}

// TestStatusConcurrent: snapshots taken while Run's side updates the
// status (run with -race).
func TestStatusConcurrent(t *testing.T) {
	var book statusBook
	tg := target{ipvs.Key{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}, netip.MustParseAddrPort("10.0.0.110:80")}
	book.watch(refsOf(t, tg), nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 1000 {
			book.flipped(tg, i%2 == 0)
			book.applied(time.Now())
			book.errored()
			book.resynced(true, 1)
		}
	}()
	for range 1000 {
		s := book.snapshot()
		if len(s.RealServers) != 1 {
			t.Fatalf("real servers %+v", s.RealServers)
		}
	}
	wg.Wait()
	if s := book.snapshot(); s.Applies != 1000 || s.Errors != 1000 || s.Drift != 1000 {
		t.Errorf("after 1000 of each: %+v", s)
	}
}
