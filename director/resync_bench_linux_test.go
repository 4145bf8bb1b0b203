package director

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// The periodic resync on the real kernel (in the VM on a host without
// IPVS), at 5,000 TCP services of 4 DR real servers each:
//
//	go test -run '^$' -bench Resync -benchtime 3x ./director
//
// "services" is the one dump of the services, "table" the whole read as
// ipvs.Client.Table does it (that dump and one dump of destinations per
// service), "table-step" the same within a step's deadline (as Run reads
// it: the deadline is watched on every request), "resync" Run's periodic
// resync with nothing to repair, within a step's deadline. Each
// reports ns, allocations and the process's user and system CPU time per
// destination: the system time is the kernel's share, the user time the
// decoding's and the Director's.
func BenchmarkResyncKernel(b *testing.B) {
	const services, reals = 5000, 4
	vmtest.Require(b, "ip_vs", "veth", "bridge")
	l := labtest.Build(b, lab.NAT())
	ns := labtest.Host(b, l, lab.Director).NS()
	var text strings.Builder
	text.WriteString("services:\n")
	for i := range services {
		fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.1.%d.%d:80, realServers: [", i>>8, i&255)
		for j := range reals {
			if j > 0 {
				text.WriteString(", ")
			}
			fmt.Fprintf(&text, "{address: 10.2.%d.%d:80, forward: dr}", j, i&255)
		}
		text.WriteString("]}\n")
	}
	cfg, err := parseConfig([]byte(text.String()))
	if err != nil {
		b.Fatal(err)
	}
	m, err := compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(&Options{NetNS: int(ns)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	ctx := context.Background()
	p, err := d.planModel(ctx, m, verdicts{}, readTable)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		b.Fatal(err)
	}
	dests := services * reals
	for _, c := range []struct {
		name string
		body func() error
	}{
		{"services", func() error {
			s, err := d.IPVS().Services(ctx)
			if err == nil && len(s) != services {
				err = fmt.Errorf("%d services", len(s))
			}
			return err
		}},
		{"table", func() error {
			t, err := d.IPVS().Table(ctx)
			if err == nil && len(t.Services) != services {
				err = fmt.Errorf("%d services", len(t.Services))
			}
			return err
		}},
		{"table-step", func() error {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			t, err := d.IPVS().Table(sctx)
			if err == nil && len(t.Services) != services {
				err = fmt.Errorf("%d services", len(t.Services))
			}
			return err
		}},
		{"resync", func() error {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			p, err := d.planModel(sctx, m, verdicts{}, readTable)
			if err == nil && p.Len() != 0 {
				err = fmt.Errorf("a resync with nothing to repair planned:\n%v", p)
			}
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mallocs := ms.Mallocs
			user, sys := rusage(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.body(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			user2, sys2 := rusage(b)
			runtime.ReadMemStats(&ms)
			n := float64(b.N * dests)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/dest")
			b.ReportMetric(float64(ms.Mallocs-mallocs)/n, "allocs/dest")
			b.ReportMetric(float64((user2-user).Nanoseconds())/n, "user-ns/dest")
			b.ReportMetric(float64((sys2-sys).Nanoseconds())/n, "sys-ns/dest")
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
