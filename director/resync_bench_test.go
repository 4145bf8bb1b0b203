package director_test

import (
	"context"
	"io/fs"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/ipvs"
)

// The periodic resync's own share (the director's and the ipvs package's
// user-space work, on the in-memory IPVS; the kernel's dump is measured
// in the VM by BenchmarkResyncKernel):
//
//	LVS_VMTEST=host go test -run '^$' -bench ResyncHost -benchtime 20x ./director
//
// The table is 5,000 TCP services of 4 DR real servers each, as in the
// side-by-side benchmark against keepalived; the
// IPVS answers from a snapshot at no cost of its own: "resync" is the
// Director's share of a resync that finds nothing to repair (the ipvs
// package's decoding is BenchmarkHostTable's). It reports ns and
// allocations per destination.

const resyncServices, resyncReals = 5000, 4

// resyncConfig is resyncServices services of resyncReals DR real servers
// each.
func resyncConfig(tb testing.TB) *director.Compiled {
	tb.Helper()
	c, err := director.Parse([]byte(director.ResyncConfigText(resyncServices, resyncReals)))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// perDest reports the benchmark's time, the process's CPU time (user and
// system, which a busy machine does not inflate as it does the time) and
// allocations per destination, from the CPU time and allocations at the
// start.
func perDest(b *testing.B, cpuBefore time.Duration, allocsBefore uint64) {
	dests := float64(b.N * resyncServices * resyncReals)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/dests, "ns/dest")
	b.ReportMetric(float64((cpuTime(b)-cpuBefore).Nanoseconds())/dests, "cpu-ns/dest")
	b.ReportMetric(float64(mallocs()-allocsBefore)/dests, "allocs/dest")
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mallocs is the process's count of heap allocations so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// snapshotIPVS answers the reads of the table from a snapshot, at no
// cost of its own, so that what a benchmark measures is the Director's
// share; the rest is the in-memory IPVS's.
type snapshotIPVS struct {
	ipvs.API
	t     ipvs.Table
	svcs  []ipvs.Service
	index map[ipvs.Key]int
}

func newSnapshot(tb testing.TB, api ipvs.API) *snapshotIPVS {
	t, err := api.Table(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	s := &snapshotIPVS{API: api, t: t, index: map[ipvs.Key]int{}}
	for i, ts := range t.Services {
		s.svcs = append(s.svcs, ts.Service)
		s.index[ts.Key()] = i
	}
	return s
}

func (s *snapshotIPVS) Table(context.Context) (ipvs.Table, error) { return s.t, nil }

func (s *snapshotIPVS) Services(context.Context) ([]ipvs.Service, error) {
	return slices.Clone(s.svcs), nil
}

func (s *snapshotIPVS) AppendServices(_ context.Context, dst []ipvs.Service) ([]ipvs.Service, error) {
	return append(dst, s.svcs...), nil
}

func (s *snapshotIPVS) Destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.Destination, error) {
	return s.AppendDestinations(ctx, svc, nil)
}

func (s *snapshotIPVS) AppendDestinations(_ context.Context, svc ipvs.Service, dst []ipvs.Destination) ([]ipvs.Destination, error) {
	i, ok := s.index[svc.Key()]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return append(dst, s.t.Services[i].Destinations...), nil
}

func BenchmarkResyncHost(b *testing.B) {
	k := directortest.NewKernel()
	snap := &snapshotIPVS{API: k.IPVS}
	d, err := director.New(k.Options(nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	c := resyncConfig(b)
	ctx := context.Background()
	p, err := d.Plan(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		b.Fatal(err)
	}
	*snap = *newSnapshot(b, k.IPVS)
	o := k.Options(nil)
	o.IPVS = snap
	if d, err = director.New(o); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if p, err := director.ResyncPlan(ctx, d, c); err != nil || p.Len() != 0 {
		b.Fatalf("the first read: %v\n%v", err, p)
	}
	b.Run("resync", func(b *testing.B) {
		b.ReportAllocs()
		cpu, before := cpuTime(b), mallocs()
		for b.Loop() {
			if p, err := director.ResyncPlan(ctx, d, c); err != nil || p.Len() != 0 {
				b.Fatalf("resync: %v\n%v", err, p)
			}
		}
		perDest(b, cpu, before)
	})
}
