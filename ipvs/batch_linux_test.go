package ipvs

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"testing"
	"time"
)

func TestBatchReportsEachChange(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	a := Service{Protocol: TCP, Addr: vip4, Scheduler: RoundRobin}
	missing := Service{Protocol: UDP, Addr: vip4}
	rs := Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: DirectRoute, Weight: 1}
	var b Batch
	b.CreateService(a)                                                                  // 0 ok
	b.CreateDestination(a, rs)                                                          // 1 ok
	b.CreateService(a)                                                                  // 2 exists
	b.CreateDestination(missing, rs)                                                    // 3 no such service
	b.UpdateDestination(a, Destination{Addr: rs.Addr, Forward: DirectRoute, Weight: 9}) // 4 ok
	b.DeleteService(missing)                                                            // 5 no such service
	b.CreateService(Service{FirewallMark: 7})                                           // 6 ok
	results, err := c.Apply(ctx, &b)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, nil, fs.ErrExist, fs.ErrNotExist, nil, fs.ErrNotExist, nil}
	if len(results) != len(want) {
		t.Fatalf("%d results for %d changes", len(results), len(want))
	}
	for i, w := range want {
		if (w == nil) != (results[i] == nil) || (w != nil && !errors.Is(results[i], w)) {
			t.Errorf("change %d: %v, want %v", i, results[i], w)
		}
	}
	ds, err := c.Destinations(ctx, a)
	if err != nil || len(ds) != 1 || ds[0].Weight != 9 {
		t.Errorf("destinations after batch: %+v, %v", ds, err)
	}
	if _, err := c.Service(ctx, Service{FirewallMark: 7}); err != nil {
		t.Errorf("change after the failures was not applied: %v", err)
	}
}

func TestBatchInvalidSendsNothing(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	var b Batch
	b.CreateService(Service{FirewallMark: 1})
	b.CreateService(Service{Protocol: TCP, Addr: vip4, Scheduler: "nope"})
	_, err := c.Apply(ctx, &b)
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want a BatchError for change 1 matching ErrInvalid", err)
	}
	if list, err := c.Services(ctx); err != nil || len(list) != 0 {
		t.Errorf("services after a rejected batch: %v, %v", list, err)
	}
}

// mustApply applies b, failing the test unless every change was applied.
func mustApply(t *testing.T, ctx context.Context, c *Client, b *Batch) {
	t.Helper()
	results, err := c.Apply(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Fatalf("change %d: %v", i, r)
		}
	}
}

// TestLargeTableRoundTrip loads 10,000 services with 4 destinations each in
// one batch and reads the whole table back: every part of the multi-part
// dumps must arrive.
func TestLargeTableRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c, _ := testClient(t)
	// Generous: under emulation, with other packages' VMs sharing the
	// CPUs, loading and reading 50,000 objects can take a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	want := bigTable(10000)
	mustApply(t, ctx, c, batchOf(want))
	got, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Services) != len(want) {
		t.Fatalf("%d services read back, want %d", len(got.Services), len(want))
	}
	byKey := map[Key]TableService{}
	for _, ts := range got.Services {
		byKey[ts.Key()] = ts
	}
	for _, w := range want {
		g, ok := byKey[w.Key()]
		if !ok || g.Service != expectService(w.Service) || len(g.Destinations) != 4 {
			t.Fatalf("service %v read back as %+v", w.Key(), g)
		}
		for _, wd := range w.Destinations {
			found := false
			for _, gd := range g.Destinations {
				found = found || gd == wd
			}
			if !found {
				t.Fatalf("%v: destination %v missing from %+v", w.Key(), wd.Addr, g.Destinations)
			}
		}
	}
}

// TestHundredThousandDestinations: 1,000 services with 100 destinations
// each, loaded in one batch, dump back exactly (each service's dump spans
// many datagrams).
func TestHundredThousandDestinations(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	c, _ := testClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const services, per = 1000, 100
	want := make([]TableService, services)
	for i := range want {
		svc := Service{Protocol: UDP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 53), Scheduler: RoundRobin}
		ds := make([]Destination, per)
		for j := range ds {
			ds[j] = Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 4, byte(j), 1}), uint16(5300+i%7)), Forward: DirectRoute, Weight: 1 + (i+j)%9}
		}
		want[i] = TableService{Service: svc, Destinations: ds}
	}
	mustApply(t, ctx, c, batchOf(want))
	got, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	byKey := map[Key]TableService{}
	for _, ts := range got.Services {
		byKey[ts.Key()] = ts
		total += len(ts.Destinations)
	}
	if len(got.Services) != services || total != services*per {
		t.Fatalf("%d services and %d destinations read back, want %d and %d", len(got.Services), total, services, services*per)
	}
	for _, w := range want {
		g := byKey[w.Key()]
		have := map[netip.AddrPort]Destination{}
		for _, d := range g.Destinations {
			have[d.Addr] = settings(d)
		}
		for _, wd := range w.Destinations {
			if have[wd.Addr] != wd {
				t.Fatalf("%v: destination %v read back as %+v", w.Key(), wd.Addr, have[wd.Addr])
			}
		}
	}
}

// TestKernelAnswersOnlyFailuresAndTheLast: the kernel answers a batch's
// changes as the client's test transport does (kernelAcks): a change
// without NLM_F_ACK only when it fails, so a batch of three chunks with two
// failures takes three writes and five reads: each chunk's last
// acknowledgement and the two error replies.
func TestKernelAnswersOnlyFailuresAndTheLast(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	n := 2*batchMaxMessages + 3
	b := servicesBatch(n)
	fails := map[int]bool{7: true, batchMaxMessages: true}
	var pre Batch
	for i := range fails {
		pre.CreateService(bigTable(n)[i].Service)
	}
	mustApply(t, ctx, c, &pre)
	before := c.Counters()
	results, err := c.Apply(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if fails[i] != errors.Is(r, fs.ErrExist) || !fails[i] && r != nil {
			t.Errorf("change %d: %v", i, r)
		}
	}
	got := c.Counters()
	if w, r := got.Writes-before.Writes, got.Reads-before.Reads; w != 3 || r != 5 {
		t.Errorf("%d writes and %d reads, want 3 and 5", w, r)
	}
}
