package director_test

import (
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
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
//	LVS_VMTEST=host go test ./director/ -run '^$' -bench Memory -benchtime 1x -v
//
// The checks' interval is cut from the imported 200 s to 4 s (jitter too)
// so that every real server has been checked before the measure, taken
// once each has been (a connection each) and a second more. The heap is
// measured live after a collection, the in-memory kernel's share taken
// out (the daemon's kernel holds its table outside the process), and
// reported per real server: "B/rs" all that Run holds, the Config and the
// compiled model with it, "config-B/rs" the imported Config, "model-B/rs"
// the compiled model beside it, "run-B/rs" the rest (the checks' state,
// the Status, what the Director knows of the table), with the goroutines
// and their stacks. -v logs the live heap by component (the innermost
// function of the module on the allocation's stack; every allocation is
// sampled), and what the import, the compile and the start allocated on
// the way; -memory.profile FILE writes the heap profile there:
//
//	go tool pprof -sample_index=inuse_space -top FILE
func BenchmarkMemory(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("%dx4", n), func(b *testing.B) {
			for range b.N {
				memoryBench(b, n)
			}
		})
	}
}

// memoryProfile, if set, is where BenchmarkMemory writes its last heap
// profile.
var memoryProfile = flag.String("memory.profile", "", "write BenchmarkMemory's heap profile to this file")

func memoryBench(b *testing.B, n int) {
	ns := nstest.New(b)
	nstest.Run(b, int(ns), "", "ip", "route", "add", "local", "10.1.0.0/16", "dev", "lo")
	var accepted atomic.Int64
	nstest.AcceptAndClose(b, ns, "0.0.0.0:80", &accepted)
	rs := int64(4*n + 1)
	// Settled: every real server checked (a connection each) and a second
	// more.
	settled := func() error {
		for deadline := time.Now().Add(time.Minute); accepted.Load() < rs; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				return fmt.Errorf("%d checks connected in a minute, want every one of the %d real servers checked", accepted.Load(), rs)
			}
		}
		time.Sleep(time.Second)
		return nil
	}
	f := measureMemory(b, n, &director.Options{NetNS: int(ns)}, 4*time.Second, settled, *memoryProfile)
	b.ReportMetric(f.perRS(f.total), "B/rs")
	b.ReportMetric(f.perRS(f.config), "config-B/rs")
	b.ReportMetric(f.perRS(f.model), "model-B/rs")
	b.ReportMetric(f.perRS(f.run), "run-B/rs")
	b.ReportMetric(float64(f.goroutines), "goroutines")
	b.ReportMetric(f.perRS(f.stacks), "stack-B/rs")
	b.Logf("%d real servers: live heap %.1f MB (the in-memory kernel's %.1f MB not counted), stacks %.1f MB in %d goroutines",
		f.rs, float64(f.total)/1e6, float64(f.fake)/1e6, float64(f.stacks)/1e6, f.goroutines)
	b.Logf("allocated on the way (garbage included): import %.0f MB, compile %.0f MB, Run to a complete table %.0f MB; this process's RSS %s (every allocation sampled)",
		float64(f.allocImport)/1e6, float64(f.allocCompile)/1e6, float64(f.allocStart)/1e6, procRSS())
	for _, c := range f.components {
		b.Logf("  %-40s %9.0f B/rs %7.2f MB", c.name, f.perRS(c.bytes), float64(c.bytes)/1e6)
	}
}
