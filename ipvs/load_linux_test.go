package ipvs

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

// TestSharedClientUnderLoad: 32 goroutines share one client of each of two
// namespaces, each doing a fixed run of creates, updates, reads and
// deletes on services of its own; afterwards each namespace's table is
// exactly what its goroutines left (the model), and nothing crossed from
// one namespace to the other.
func TestSharedClientUnderLoad(t *testing.T) {
	const workers, rounds = 32, 20
	a, _ := testClient(t)
	b, _ := testClient(t)
	ctx := ctxT(t)
	type key struct {
		ns   int
		port uint16
	}
	// The model: what each namespace must hold at the end.
	var mu sync.Mutex
	want := map[key]Service{}
	errs := make(chan error, 2*workers)
	var wg sync.WaitGroup
	for ns, c := range []*Client{a, b} {
		vip := netip.MustParseAddr(fmt.Sprintf("10.%d.0.1", 10+ns))
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fail := func(format string, args ...any) {
					errs <- fmt.Errorf("ns %d worker %d: "+format, append([]any{ns, w}, args...)...)
				}
				for r := 0; r < rounds; r++ {
					port := uint16(1000 + w*rounds + r)
					svc := Service{Protocol: TCP, Addr: netip.AddrPortFrom(vip, port), Scheduler: RoundRobin}
					if err := c.CreateService(ctx, svc); err != nil {
						fail("create %v: %v", svc, err)
						return
					}
					d := Destination{Addr: netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("10.%d.1.%d", 10+ns, w+1)), 80), Forward: Masquerade, Weight: 1}
					if err := c.CreateDestination(ctx, svc, d); err != nil {
						fail("create destination: %v", err)
						return
					}
					if err := c.ModifyDestination(ctx, svc, d.Addr, func(d *Destination) error { d.Weight = r + 1; return nil }); err != nil {
						fail("modify: %v", err)
						return
					}
					if got, err := c.Service(ctx, svc); err != nil || got.Scheduler != RoundRobin {
						fail("read %v: %+v, %v", svc, got, err)
						return
					}
					switch r % 3 {
					case 0: // deleted again
						if err := c.DeleteService(ctx, svc); err != nil {
							fail("delete: %v", err)
							return
						}
					case 1: // updated, then kept
						svc.Scheduler = WeightedRoundRobin
						if err := c.UpdateService(ctx, svc); err != nil {
							fail("update: %v", err)
							return
						}
						fallthrough
					default:
						mu.Lock()
						want[key{ns, port}] = svc
						mu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for ns, c := range []*Client{a, b} {
		tab, err := c.Table(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp []string
		for _, ts := range tab.Services {
			got = append(got, fmt.Sprintf("%v %s %d", ts.Key(), ts.Scheduler, len(ts.Destinations)))
		}
		for k, s := range want {
			if k.ns == ns {
				exp = append(exp, fmt.Sprintf("%v %s 1", s.Key(), s.Scheduler))
			}
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("namespace %d holds %d services, the model %d; first differences: %v", ns, len(got), len(exp), firstDiff(got, exp))
		}
	}
	t.Logf("%d changes and reads by %d goroutines on 2 namespaces; %d services kept", 2*workers*rounds*5, 2*workers, len(want))
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q vs %q", a[i], b[i])
		}
	}
	return fmt.Sprintf("lengths %d, %d", len(a), len(b))
}
