package director_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/keepalived"
)

// TestMemoryPerRealServer holds the director to its memory per real
// server (the package documentation states it): bench/versus's
// keepalived.conf of 1,000 virtual servers of 4 real servers, a
// TCP_CHECK on each, imported, compiled and run on the in-memory IPVS,
// its checks scheduled but not yet due (BenchmarkMemory runs them, and
// measures 5,000). The live heap Run holds, the Config and the model
// included and the in-memory kernel's table not (the daemon's kernel
// holds it outside the process), must stay under 1,200 bytes per real
// server; it was 2,400 before the check state, the Status and the
// known table were made compact.
func TestMemoryPerRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4,000 real server configuration")
	}
	f := measureMemory(t, 1000, nil, time.Hour, nil, "")
	t.Logf("%.0f bytes per real server: Config %.0f, model %.0f, Run %.0f", f.perRS(f.total), f.perRS(f.config), f.perRS(f.model), f.perRS(f.run))
	if got := f.perRS(f.total); got > 1200 {
		t.Errorf("%.0f bytes of live heap per real server, want at most 1,200", got)
		for _, c := range f.components {
			t.Logf("  %-40s %9.0f B/rs", c.name, f.perRS(c.bytes))
		}
	}
}

// memoryFigures are measureMemory's: live heap bytes after a collection.
type memoryFigures struct {
	rs int // real servers
	// total is what Run holds with the Config and the model, config the
	// imported Config, model the compiled one beside it, run the rest;
	// fake is the in-memory kernel's share, not in the others.
	total, config, model, run, fake uint64
	// allocImport, allocCompile and allocStart are the bytes allocated
	// (garbage included) by the import, the compile, and Run until its
	// table was complete.
	allocImport, allocCompile, allocStart uint64
	goroutines, stacks                    uint64
	// components are the live heap by component (heapByComponent) while
	// Run runs, those of 10 kB or more.
	components []component
}

func (f memoryFigures) perRS(b uint64) float64 { return float64(b) / float64(f.rs) }

// measureMemory imports versusConf(n) with the checks' interval and
// jitter set to interval, compiles it and runs it on a directortest
// Kernel with opts (nil: none) and the periodic resync off; once the
// table is complete and settled (nil: at once) returns nil, it measures
// the live heap, and writes the heap profile to profile if not empty. It
// samples every allocation meanwhile (MemProfileRate 1) so that the
// components and the profile are exact.
func measureMemory(tb testing.TB, n int, opts *director.Options, interval time.Duration, settled func() error, profile string) memoryFigures {
	tb.Helper()
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	tb.Cleanup(func() { runtime.MemProfileRate = old })
	f := memoryFigures{rs: 4*n + 1}

	base, alloc0 := liveHeap(), totalAlloc()
	cfg, _, err := keepalived.Import(strings.NewReader(versusConf(n)), nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range cfg.Services {
		if s.Check != nil {
			s.Check.Interval, s.Check.Jitter = interval, interval
		}
	}
	imported, alloc1 := liveHeap(), totalAlloc()
	c, err := director.Compile(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	cfg = nil
	compiled, alloc2 := liveHeap(), totalAlloc()

	o := director.Options{}
	if opts != nil {
		o = *opts
	}
	o.Resync = -1
	d, k := directortest.New(tb, &o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c, nil, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	}()
	for deadline := time.Now().Add(2 * time.Minute); d.LastResync().IsZero(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("no complete table after 2 minutes")
		}
	}
	alloc3 := totalAlloc()
	if settled != nil {
		if err := settled(); err != nil {
			tb.Fatal(err)
		}
	}
	running := liveHeap()
	f.fake = fakeShare()
	healthy, all := 0, 0
	for _, h := range d.Status().RealServers {
		all++
		if h.Healthy {
			healthy++
		}
	}
	if all != f.rs || healthy != f.rs {
		tb.Fatalf("%d of %d real servers healthy, want %d", healthy, all, f.rs)
	}
	if t, err := k.IPVS.Table(ctx); err != nil || len(t.Services) != n+1 {
		tb.Fatalf("table: %v, %d services", err, len(t.Services))
	}
	f.total = running - base - f.fake
	f.config, f.model, f.run = imported-base, compiled-imported, running-compiled-f.fake
	f.allocImport, f.allocCompile, f.allocStart = alloc1-alloc0, alloc2-alloc1, alloc3-alloc2
	sm := readMetrics("/sched/goroutines:goroutines", "/memory/classes/heap/stacks:bytes")
	f.goroutines, f.stacks = sm[0], sm[1]
	f.components = heapByComponent(10000)
	if profile != "" {
		out, err := os.Create(profile)
		if err != nil {
			tb.Fatal(err)
		}
		defer out.Close()
		if err := pprof.Lookup("heap").WriteTo(out, 0); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.KeepAlive(c)
	return f
}

// liveHeap is the heap's live bytes after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// totalAlloc is the bytes allocated so far.
func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// procRSS is this process's resident set now and at its peak, as
// /proc/self/status says them (Linux).
func procRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

func readMetrics(names ...string) []uint64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	out := make([]uint64, len(names))
	for i := range s {
		out[i] = s[i].Value.Uint64()
	}
	return out
}

// component is the live heap allocated under one function.
type component struct {
	name  string
	bytes uint64
}

// heapByComponent sums the live heap by the innermost function of this
// module on each allocation's stack (the runtime's and the standard
// library's frames skipped), largest first, leaving out those below min
// bytes. Only allocations sampled (runtime.MemProfileRate) count.
func heapByComponent(min uint64) []component {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+50)
	}
	by := map[string]uint64{}
	for _, r := range recs {
		if r.InUseBytes() == 0 {
			continue
		}
		name := "(outside the module)"
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if fn := f.Function; strings.HasPrefix(fn, "github.com/lvs-go/lvs/") {
				name = strings.TrimPrefix(fn, "github.com/lvs-go/lvs/")
				break
			}
			if !more {
				break
			}
		}
		by[name] += uint64(r.InUseBytes())
	}
	var out []component
	for n, b := range by {
		if b >= min {
			out = append(out, component{n, b})
		}
	}
	slices.SortFunc(out, func(x, y component) int { return int(y.bytes) - int(x.bytes) })
	return out
}

// fakeShare is the live heap the in-memory kernel (ipvs/ipvstest) holds.
func fakeShare() uint64 {
	var sum uint64
	for _, c := range heapByComponent(0) {
		if strings.HasPrefix(c.name, "ipvs/ipvstest.") {
			sum += c.bytes
		}
	}
	return sum
}

// versusConf is bench/versus's keepalived.conf of n virtual servers
// (conf(n, 100, 1) there): 4 real servers each, a TCP_CHECK on each, and
// the one virtual server its reaction is timed on.
func versusConf(n int) string {
	vs := func(s int) netip.Addr { return netip.AddrFrom4([4]byte{10, 100, byte(s / 250), byte(s%250 + 1)}) }
	rs := func(k int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(k / 250), byte(k%250 + 1)}) }
	delay := max(1, 4*n/100)
	var b strings.Builder
	b.WriteString("global_defs {\n\trouter_id versus\n}\n")
	for s := range n {
		fmt.Fprintf(&b, "virtual_server %v 80 {\n\tdelay_loop %d\n\tlb_algo rr\n\tlb_kind DR\n\tprotocol TCP\n", vs(s), delay)
		for k := 4 * s; k < 4*s+4; k++ {
			fmt.Fprintf(&b, "\treal_server %v 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 3\n\t\t}\n\t}\n", rs(k))
		}
		b.WriteString("}\n")
	}
	b.WriteString("virtual_server 10.99.0.1 80 {\n\tdelay_loop 1\n\tlb_algo rr\n\tlb_kind DR\n\tprotocol TCP\n\treal_server 10.1.255.1 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 1\n\t\t}\n\t}\n}\n")
	return b.String()
}
