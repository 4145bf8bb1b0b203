package ipvs

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The benchmarks load and dump a table of benchServices services with four
// destinations each, the SDK side by side with ipvsadm on the same kernel in
// the same run. Run them with (in the VM on a host without IPVS):
//
//	go test -run '^$' -bench . -benchtime 1x ./ipvs
const benchServices = 10000

func benchClient(b *testing.B) (*Client, int) {
	b.Helper()
	vmtest.Require(b, "ip_vs")
	ns := nstest.New(b)
	nstest.RouteViaLo(b, int(ns), mustPrefix("10.0.0.0/8"))
	c, err := New(&Config{NetNS: int(ns)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, int(ns)
}

// rulesText is t in ipvsadm -R's input syntax.
func rulesText(t []TableService) string {
	var sb strings.Builder
	for _, ts := range t {
		fmt.Fprintf(&sb, "-A -t %s -s %s\n", ts.Addr, ts.Scheduler)
		for _, d := range ts.Destinations {
			fmt.Fprintf(&sb, "-a -t %s -r %s -m -w %d\n", ts.Addr, d.Addr, d.Weight)
		}
	}
	return sb.String()
}

func runIpvsadm(b *testing.B, ns int, stdin string, stdout io.Writer, args ...string) {
	b.Helper()
	err := nstest.Do(netns.NsHandle(ns), func() error {
		cmd := exec.Command("ipvsadm", args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Stdout = stdout
		return cmd.Run()
	})
	if err != nil {
		b.Fatalf("ipvsadm %v: %v", args, err)
	}
}

// cpuTimes reports the user and system CPU seconds this process (and its
// finished children) used while the benchmark ran: under emulation, where
// wall time is slow for everyone, they tell the SDK's own cost from the
// kernel's.
func cpuTimes(b *testing.B) func() {
	usage := func() (user, sys float64) {
		for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
			var ru unix.Rusage
			if err := unix.Getrusage(who, &ru); err != nil {
				b.Fatal(err)
			}
			user += float64(ru.Utime.Nano()) / 1e9
			sys += float64(ru.Stime.Nano()) / 1e9
		}
		return user, sys
	}
	u0, s0 := usage()
	return func() {
		u1, s1 := usage()
		b.ReportMetric((u1-u0)/float64(b.N), "user-s/op")
		b.ReportMetric((s1-s0)/float64(b.N), "sys-s/op")
	}
}

// BenchmarkLoad creates the table in an empty namespace of its own for
// each loader (the kernel keeps per-namespace state, such as the estimator
// list, that a flush in the same namespace might not reset).
func BenchmarkLoad(b *testing.B) {
	vmtest.Require(b, "ip_vs")
	ctx := context.Background()
	table := bigTable(benchServices)
	rules := rulesText(table)
	var c *Client
	var ns int
	fresh := func(b *testing.B) {
		b.StopTimer()
		c, ns = benchClient(b)
		b.StartTimer()
	}
	flush := func() {
		b.StopTimer()
		if err := c.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.Run("sdk-batch", func(b *testing.B) {
		fresh(b)
		b.ReportAllocs()
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			flush()
			results, err := c.Apply(ctx, batchOf(table))
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range results {
				if r != nil {
					b.Fatal(r)
				}
			}
		}
	})
	b.Run("sdk-one-by-one", func(b *testing.B) {
		fresh(b)
		b.ReportAllocs()
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			flush()
			for _, ts := range table {
				if err := c.CreateService(ctx, ts.Service); err != nil {
					b.Fatal(err)
				}
				for _, d := range ts.Destinations {
					if err := c.CreateDestination(ctx, ts.Service, d); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
	b.Run("ipvsadm-restore", func(b *testing.B) {
		fresh(b)
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			flush()
			runIpvsadm(b, ns, rules, io.Discard, "-R")
		}
	})
}

func BenchmarkDump(b *testing.B) {
	c, ns := benchClient(b)
	ctx := context.Background()
	if _, err := c.Apply(ctx, batchOf(bigTable(benchServices))); err != nil {
		b.Fatal(err)
	}
	b.Run("sdk-table", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			t, err := c.Table(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(t.Services) != benchServices {
				b.Fatalf("%d services", len(t.Services))
			}
		}
	})
	b.Run("sdk-services", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			if _, err := c.Services(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ipvsadm-Sn", func(b *testing.B) {
		defer cpuTimes(b)()
		for i := 0; i < b.N; i++ {
			runIpvsadm(b, ns, "", io.Discard, "-S", "-n")
		}
	})
}
