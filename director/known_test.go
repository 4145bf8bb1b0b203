package director

import (
	"context"
	"net/netip"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestKnownShared: what the Director knows of a service's destinations is
// the model's own slice while the kernel holds them as configured (after
// an apply, and after a full read, which lists them in the reverse
// order), a copy of its own while they differ (a failed real server
// quiesced), and changing it never changes the model.
func TestKnownShared(t *testing.T) {
	ctx := context.Background()
	m := mustCompile(t, mustConfig(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: {type: tcp}
    realServers:
      - {address: 10.0.0.110:80, forward: dr}
      - {address: 10.0.0.120:80, forward: dr}
      - {address: 10.0.0.130:80, forward: dr, weight: 3}
`))
	d := &Director{ipvs: ipvstest.New(nil)}
	if err := d.useModel(m, false); err != nil {
		t.Fatal(err)
	}
	s := m.services[0]
	k := s.svc.Key()
	want := []int{1, 1, 3}
	check := func(step string, shared bool, weights ...int) {
		t.Helper()
		ts := d.known[k]
		if ts == nil {
			t.Fatalf("%s: the service is not known", step)
		}
		if got := d.knownShared[ts] && &ts.Destinations[0] == &s.dests[0]; got != shared {
			t.Errorf("%s: shared with the model = %v, want %v", step, got, shared)
		}
		for i, dst := range s.dests {
			if dst.Weight != want[i] {
				t.Fatalf("%s: the model's real server %v has weight %d, want %d", step, dst.Addr, dst.Weight, want[i])
			}
		}
		have := map[netip.AddrPort]int{}
		for _, dst := range ts.Destinations {
			have[dst.Addr] = dst.Weight
		}
		for i, w := range weights {
			if have[s.dests[i].Addr] != w || len(have) != len(weights) {
				t.Fatalf("%s: known %v, want the weights %v", step, have, weights)
			}
		}
	}
	apply := func(p *Plan) {
		t.Helper()
		if err := d.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	p, err := d.planModel(ctx, m, verdicts{}, readTable)
	if err != nil {
		t.Fatal(err)
	}
	apply(p)
	check("created", true, 1, 1, 3)

	failed := map[target]bool{{k, s.dests[1].Addr}: true}
	flip := func(step string, shared bool, weights ...int) {
		t.Helper()
		p, ok := d.planFlip(m, verdicts{failed: failed}, map[ipvs.Key]bool{k: true})
		if !ok || p.Len() != 1 {
			t.Fatalf("%s: flip plan %v, %v", step, ok, p)
		}
		apply(p)
		check(step, shared, weights...)
	}
	flip("failed", false, 1, 0, 3)
	delete(failed, target{k, s.dests[1].Addr})
	flip("recovered", true, 1, 1, 3)

	if p, err := d.planModel(ctx, m, verdicts{}, readTable); err != nil || p.Len() != 0 {
		t.Fatalf("full read: %v, %v", err, p)
	}
	check("read", true, 1, 1, 3)
	failed[target{k, s.dests[2].Addr}] = true
	flip("failed after the read", false, 1, 1, 0)
}

// TestKnownSharedReversed: the kernel lists a service's destinations
// newest first; read so, they are still the model's, and a different
// order or setting is kept as read.
func TestKnownSharedReversed(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    realServers:
      - {address: 10.0.0.110:80, forward: dr}
      - {address: 10.0.0.120:80, forward: dr}
      - {address: 10.0.0.130:80, forward: dr}
`))
	d := &Director{model: m}
	s := m.services[0]
	k := s.svc.Key()
	read := func(order ...int) *ipvs.TableService {
		ts := &ipvs.TableService{Service: s.svc}
		for _, i := range order {
			dst := s.dests[i]
			dst.ActiveConns = 7 // the kernel's counters do not count
			ts.Destinations = append(ts.Destinations, dst)
		}
		return ts
	}
	for _, c := range []struct {
		order  []int
		weight int
		shared bool
	}{
		{[]int{2, 1, 0}, 1, true},
		{[]int{0, 1, 2}, 1, true},
		{[]int{1, 0, 2}, 1, false},
		{[]int{2, 1, 0}, 2, false},
		{[]int{1, 0}, 1, false},
	} {
		ts := read(c.order...)
		ts.Destinations[0].Weight = c.weight
		d.knownShared = nil
		d.share(k, ts)
		if got := d.knownShared[ts] && &ts.Destinations[0] == &s.dests[0]; got != c.shared {
			t.Errorf("order %v, weight %d: shared = %v, want %v", c.order, c.weight, got, c.shared)
		}
		if !c.shared && ts.Destinations[0].ActiveConns != 7 {
			t.Errorf("order %v, weight %d: not shared, yet changed", c.order, c.weight)
		}
	}
}
