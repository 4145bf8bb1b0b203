package director

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// The periodic resync on the real kernel (in the VM on a host without
// IPVS), at 5,000 TCP services of 4 DR real servers each:
//
//	go test -run '^$' -bench Resync -benchtime 3x ./director
//
// "services" is the one dump of the services, "table" the whole read as
// ipvs.Client.Table does it (that dump and one dump of destinations per
// service), "resync" Run's periodic resync with nothing to repair,
// alternating with the resync as it was before it streamed ("before-":
// that Table, copied into what the Director knows, and planned); each
// within a step's deadline, as Run reads. Each
// reports ns, allocations and the process's user and system CPU time per
// destination: the system time is the kernel's share, the user time the
// decoding's and the Director's.
func BenchmarkResyncKernel(b *testing.B) {
	const services, reals = 5000, 4
	vmtest.Require(b, "ip_vs", "veth", "bridge")
	d, m := appliedInLab(b, resyncConfigText(services, reals))
	ctx := context.Background()
	dests := float64(services * reals)
	// step is a read within a step's deadline, as Run reads (the deadline
	// is watched on every request).
	step := func(read func(context.Context) error) func() error {
		return func() error {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			return read(sctx)
		}
	}
	services1 := step(func(ctx context.Context) error {
		s, err := d.IPVS().Services(ctx)
		if err == nil && len(s) != services {
			err = fmt.Errorf("%d services", len(s))
		}
		return err
	})
	table := step(func(ctx context.Context) error {
		t, err := d.IPVS().Table(ctx)
		if err == nil && len(t.Services) != services {
			err = fmt.Errorf("%d services", len(t.Services))
		}
		return err
	})
	// before is the resync as it was before it streamed: the whole
	// ipvs.Table, copied into what the Director knows, and planned.
	before := step(func(ctx context.Context) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		t, err := d.ipvs.Table(ctx)
		if err != nil {
			return err
		}
		known := make(map[ipvs.Key]*ipvs.TableService, len(t.Services))
		for i := range t.Services {
			ts := t.Services[i]
			ts.Destinations = slices.Clone(ts.Destinations)
			known[ts.Key()] = &ts
		}
		if p := plan(m, current{table: t.Services, owned: map[ipvs.Key]bool{}}, false); p.Len() != 0 {
			return fmt.Errorf("a resync with nothing to repair planned:\n%v", p)
		}
		return nil
	})
	resync := step(func(ctx context.Context) error {
		p, err := d.planModel(ctx, m, verdicts{}, readTable)
		if err == nil && p.Len() != 0 {
			err = fmt.Errorf("a resync with nothing to repair planned:\n%v", p)
		}
		return err
	})
	for _, c := range []struct {
		name   string
		bodies []func() error // run in turn, each reported with its prefix
		prefix []string
	}{
		{"services", []func() error{services1}, []string{""}},
		{"table", []func() error{table}, []string{""}},
		// The resync and the one before it, alternating in each run, so
		// that the host's load (the guest's time is the host's) weighs on
		// both alike.
		{"resync", []func() error{resync, before}, []string{"", "before-"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			type cost struct {
				wall, user, sys time.Duration
				mallocs         uint64
			}
			costs := make([]cost, len(c.bodies))
			var ms runtime.MemStats
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for j := range c.bodies {
					j = (j + i) % len(c.bodies) // each first in turn
					runtime.GC()                // none owed by the other's garbage
					runtime.ReadMemStats(&ms)
					mallocs := ms.Mallocs
					user, sys := rusage(b)
					start := time.Now()
					if err := c.bodies[j](); err != nil {
						b.Fatal(err)
					}
					costs[j].wall += time.Since(start)
					user2, sys2 := rusage(b)
					runtime.ReadMemStats(&ms)
					costs[j].user += user2 - user
					costs[j].sys += sys2 - sys
					costs[j].mallocs += ms.Mallocs - mallocs
				}
			}
			n := float64(b.N) * dests
			for j, pre := range c.prefix {
				b.ReportMetric(float64(costs[j].wall.Nanoseconds())/n, pre+"ns/dest")
				b.ReportMetric(float64(costs[j].mallocs)/n, pre+"allocs/dest")
				b.ReportMetric(float64(costs[j].user.Nanoseconds())/n, pre+"user-ns/dest")
				b.ReportMetric(float64(costs[j].sys.Nanoseconds())/n, pre+"sys-ns/dest")
			}
		})
	}
}

// rusage is the process's user and system CPU time so far.
func rusage(tb testing.TB) (user, sys time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
