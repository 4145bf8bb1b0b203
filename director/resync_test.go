package director

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestResyncAfter: the adaptive period (Options.Resync zero) is 30
// seconds, or 100 times the last resync's duration when that is longer;
// a positive Resync is exact whatever a resync takes, a negative one is
// never (0).
func TestResyncAfter(t *testing.T) {
	for _, c := range []struct {
		resync, took, want time.Duration
	}{
		{0, 0, 30 * time.Second},
		{0, 50 * time.Millisecond, 30 * time.Second},
		{0, 300 * time.Millisecond, 30 * time.Second},
		{0, 301 * time.Millisecond, 30100 * time.Millisecond},
		{0, 7700 * time.Millisecond, 770 * time.Second},
		{time.Second, 7700 * time.Millisecond, time.Second},
		{time.Hour, 0, time.Hour},
		{-1, time.Second, 0},
	} {
		if got := (Options{Resync: c.resync}).resyncAfter(c.took); got != c.want {
			t.Errorf("Resync %v, last took %v: next in %v, want %v", c.resync, c.took, got, c.want)
		}
	}
}

// countingIPVS counts the destination lists read.
type countingIPVS struct {
	ipvs.API
	lists int
}

func (c *countingIPVS) Destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.Destination, error) {
	c.lists++
	return c.API.Destinations(ctx, svc)
}

// TestReadTableStreams: a read of the table that finds what the Director
// knows keeps what it knows (the same objects), one that finds a change
// takes the kernel's version of that service only, services gone are
// forgotten, and services neither declared nor owned are not read.
func TestReadTableStreams(t *testing.T) {
	ctx := context.Background()
	fake := ipvstest.New(nil)
	api := &countingIPVS{API: fake}
	d := &Director{ipvs: api}
	m := compileText(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr, weight: 2}]}
  - {protocol: tcp, address: 10.0.0.9:80, realServers: [{address: 10.0.0.110:80, forward: dr}]}
`)
	p, err := d.planModel(ctx, m, verdicts{}, readTable)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	web := m.services[0].svc
	foreign := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("192.0.2.99:53")}
	if err := fake.CreateService(ctx, foreign); err != nil {
		t.Fatal(err)
	}

	// The first read after the apply takes the kernel's order of the
	// destinations; the next ones keep it.
	if _, err := d.planModel(ctx, m, verdicts{}, readTable); err != nil {
		t.Fatal(err)
	}
	before := d.known[web.Key()]
	api.lists = 0
	if p, err := d.planModel(ctx, m, verdicts{}, readTable); err != nil || p.Len() != 0 {
		t.Fatalf("a read with nothing changed: %v\n%v", err, p)
	}
	if api.lists != len(m.services) {
		t.Errorf("%d destination lists read, want %d: the declared services only", api.lists, len(m.services))
	}
	if d.known[web.Key()] != before {
		t.Error("an unchanged service's knowledge was replaced")
	}
	if _, ok := d.known[foreign.Key()]; ok {
		t.Error("a foreign service is known")
	}

	rs := m.services[0].dests[0].Addr
	if err := fake.ModifyDestination(ctx, web, rs, func(x *ipvs.Destination) error { x.Weight = 9; return nil }); err != nil {
		t.Fatal(err)
	}
	p, err = d.planModel(ctx, m, verdicts{}, readTable)
	if err != nil || p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Old.Destination.Weight != 9 {
		t.Fatalf("after a weight changed by hand: %v\n%v", err, p)
	}
	if got := d.known[web.Key()]; got == before || !slices.ContainsFunc(got.Destinations, func(x ipvs.Destination) bool { return x.Addr == rs && x.Weight == 9 }) {
		t.Errorf("after the change the Director knows %+v", got)
	}

	if err := fake.DeleteService(ctx, web); err != nil {
		t.Fatal(err)
	}
	if _, err := d.planModel(ctx, m, verdicts{}, readTable); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.known[web.Key()]; ok {
		t.Error("a service deleted by hand is still known")
	}
}

// compileText parses and compiles a configuration.
func compileText(t *testing.T, text string) *model {
	t.Helper()
	cfg, err := parseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	m, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
