package director_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/keepalived"
	"github.com/lvs-go/lvs/internal/nstest"
)

// BenchmarkMemory is the director's memory at scale, on the host without
// a kernel: the keepalived.conf of bench/versus (N TCP virtual servers of
// 4 DR real servers each, a TCP_CHECK on each real server), imported as
// lvs-director -import does, compiled, and run by Run on the in-memory
// IPVS (the periodic resync off, as bench/versus runs it at 5,000) with
// its checks connecting to a listener in a namespace the benchmark
// creates, where 10.1.0.0/16 is local:
//
//	LVS_VMTEST=host go test ./director/ -run '^$' -bench Memory -benchtime 1x
//
// The checks' interval is cut from the imported 200 s to 4 s (jitter too)
// so that every real server has been checked before the measure, taken
// once each has been (a connection each) and a second more. The heap is measured live after a
// collection, the in-memory kernel's share taken out (the daemon's
// kernel holds its table outside the process), and reported per real
// server ("B/rs": all that Run holds, the Config and the compiled model
// with it), with the goroutines and their stacks. With
// -memory.profile FILE it writes the heap profile there, and -v logs the
// live heap by component (allocation site, every allocation sampled):
//
//	go tool pprof -sample_index=inuse_space -top FILE
func BenchmarkMemory(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("%dx4", n), func(b *testing.B) {
			for range b.N {
				memoryRun(b, n)
			}
		})
	}
}

// memoryProfile, if set, is where BenchmarkMemory writes its last heap
// profile.
var memoryProfile = flag.String("memory.profile", "", "write BenchmarkMemory's heap profile to this file")

func memoryRun(b *testing.B, n int) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	b.Cleanup(func() { runtime.MemProfileRate = old })
	ns := nstest.New(b)
	nstest.Run(b, int(ns), "", "ip", "route", "add", "local", "10.1.0.0/16", "dev", "lo")
	var accepted atomic.Int64
	var l net.Listener
	if err := nstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", "0.0.0.0:80"); return }); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()

	base := liveHeap()
	text := versusConf(n)
	cfg, _, err := keepalived.Import(strings.NewReader(text), nil)
	if err != nil {
		b.Fatal(err)
	}
	text = ""
	for _, s := range cfg.Services {
		if s.Check != nil {
			s.Check.Interval, s.Check.Jitter = 4*time.Second, 4*time.Second
		}
	}
	imported := liveHeap()
	c, err := director.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfg = nil
	compiled := liveHeap()

	d, k := directortest.New(b, &director.Options{NetNS: int(ns), Resync: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c, nil, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	rs := 4*n + 1
	for deadline := time.Now().Add(2 * time.Minute); d.LastResync().IsZero(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("no complete table after 2 minutes")
		}
	}
	// Settled: every real server checked (a connection each) and a second
	// more.
	for deadline := time.Now().Add(time.Minute); accepted.Load() < int64(rs); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d checks connected in a minute, want every one of the %d real servers checked", accepted.Load(), rs)
		}
	}
	time.Sleep(time.Second)
	running := liveHeap()
	fake := fakeShare()
	var st struct{ healthy, all int }
	for _, h := range d.Status().RealServers {
		st.all++
		if h.Healthy {
			st.healthy++
		}
	}
	if st.all != rs || st.healthy != rs {
		b.Fatalf("%d of %d real servers healthy, want %d", st.healthy, st.all, rs)
	}
	if t, err := k.IPVS.Table(ctx); err != nil || len(t.Services) != n+1 {
		b.Fatalf("table: %v, %d services", err, len(t.Services))
	}
	per := func(x uint64) float64 { return float64(x) / float64(rs) }
	total := running - base - fake
	b.ReportMetric(per(total), "B/rs")
	b.ReportMetric(per(imported-base), "config-B/rs")
	b.ReportMetric(per(compiled-imported), "model-B/rs")
	b.ReportMetric(per(running-compiled-fake), "run-B/rs")
	sm := readMetrics("/sched/goroutines:goroutines", "/memory/classes/heap/stacks:bytes")
	b.ReportMetric(float64(sm[0]), "goroutines")
	b.ReportMetric(per(sm[1]), "stack-B/rs")
	b.Logf("%d real servers: live heap %.1f MB (the in-memory kernel's %.1f MB not counted), stacks %.1f MB in %d goroutines",
		rs, float64(total)/1e6, float64(fake)/1e6, float64(sm[1])/1e6, sm[0])
	for _, c := range heapByComponent(10000) {
		b.Logf("  %-40s %9.0f B/rs %7.2f MB", c.name, per(c.bytes), float64(c.bytes)/1e6)
	}
	if *memoryProfile != "" {
		f, err := os.Create(*memoryProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(c)
}

// liveHeap is the heap's live bytes after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
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
// bytes.
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
