package director

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// The director's loop at scale (in the VM on a host without IPVS):
//
//	go test -run '^$' -bench . -benchtime 20x ./director
//
// Each benchmark runs at 1,000 and 10,000 services, each with a check and
// two DR real servers, rs1 (10.0.0.110) and rs2 (10.0.0.120).
//
// BenchmarkHealthFlip is one real server's failure or recovery applied by
// Run's path (plan for its service against what was applied, one batch):
// it must cost the same at both sizes. BenchmarkReconcile is a plan with
// no change beside one dump of the table ("table"): "full" reads the whole table (Director.Plan, and Run at start
// and on each resync), "known" is Run's reload path (what the Director
// knows, no read of the table). BenchmarkWeightChange is a reload with one
// weight changed, planned and applied by Run's reload path: one operation.
// BenchmarkFailures is 1,000 real servers failing (or recovering) at once,
// planned in one flip and applied, with the netlink sendmsg calls it takes
// as batches/op.
func benchDirector(b *testing.B, services int) (*Director, *model) {
	b.Helper()
	vmtest.Require(b, "ip_vs", "ip_vs_wlc", "veth", "bridge")
	var text strings.Builder
	text.WriteString("services:\n")
	for i := 0; i < services; i++ {
		fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.1.%d.%d:80, check: {type: tcp}, realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]}\n", i>>8, i&255)
	}
	return appliedInLab(b, text.String())
}

// appliedInLab builds the NAT lab and a Director in its director's
// namespace that has applied the configuration conf.
func appliedInLab(b *testing.B, conf string) (*Director, *model) {
	b.Helper()
	l := labtest.Build(b, lab.NAT())
	ns := labtest.Host(b, l, lab.Director).NS()
	cfg, err := parseConfig([]byte(conf))
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
	return d, m
}

var benchSizes = []int{1000, 10000}

// benchRS1 is rs1, the real server the benchmarks fail and reweigh.
var benchRS1 = netip.MustParseAddrPort("10.0.0.110:80")

// withoutReads times body b.N times and fails the benchmark if the
// Director read the whole table meanwhile: the loop's steps must not.
func withoutReads(b *testing.B, d *Director, body func(ctx context.Context)) {
	ctx := context.Background()
	reads := d.fullReads
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body(ctx)
	}
	b.StopTimer()
	if d.fullReads != reads {
		b.Fatalf("%d full reads in %d runs", d.fullReads-reads, b.N)
	}
}

func BenchmarkHealthFlip(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			tg := target{svc: m.services[n/2].svc.Key(), addr: benchRS1}
			affected := map[ipvs.Key]bool{tg.svc: true}
			failed := map[target]bool{}
			m.service(tg.svc) // the model's index, built once per configuration in Run
			withoutReads(b, d, func(ctx context.Context) {
				failed[tg] = !failed[tg]
				p, ok := d.planFlip(m, verdicts{failed: failed}, affected)
				if !ok || p.Len() != 1 {
					b.Fatalf("flip plan: %v, %v", ok, p)
				}
				if err := d.Apply(ctx, p); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkReconcile(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			// One dump of the whole table, what a full plan is compared with.
			b.Run("table", func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					t, err := d.IPVS().Table(ctx)
					if err != nil || len(t.Services) != n {
						b.Fatalf("table: %v, %d services", err, len(t.Services))
					}
				}
			})
			for _, c := range []struct {
				name  string
				mode  readMode
				reads int // full reads per plan
			}{{"full", readTable, 1}, {"known", readKnown, 0}} {
				b.Run(c.name, func(b *testing.B) {
					ctx := context.Background()
					reads := d.fullReads
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						p, err := d.planModel(ctx, m, verdicts{}, c.mode)
						if err != nil || p.Len() != 0 {
							b.Fatalf("plan: %v, %v", err, p)
						}
					}
					b.StopTimer()
					if got := d.fullReads - reads; got != c.reads*b.N {
						b.Fatalf("%d full reads in %d plans, want %d", got, b.N, c.reads*b.N)
					}
				})
			}
		})
	}
}

// withWeight is m with benchRS1's weight in its service i set to w.
func withWeight(m *model, i, w int) *model {
	out := *m
	out.byKey = nil
	out.services = slices.Clone(m.services)
	s := *m.services[i]
	s.dests = slices.Clone(s.dests)
	for j := range s.dests {
		if s.dests[j].Addr == benchRS1 {
			s.dests[j].Weight = w
		}
	}
	out.services[i] = &s
	return &out
}

func BenchmarkWeightChange(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			// The two configurations reloaded in turn: rs1 of the middle
			// service at weight 2, then back at 1. The turn carries over
			// from one run of the benchmark to the next, as the kernel's
			// weight does.
			models := []*model{withWeight(m, n/2, 2), m}
			turn := 0
			b.Run("reload", func(b *testing.B) {
				ops := 0
				withoutReads(b, d, func(ctx context.Context) {
					want := 2 - turn%2
					p, err := d.planModel(ctx, models[turn%2], verdicts{}, readKnown)
					turn++
					if err != nil {
						b.Fatal(err)
					}
					if p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Rule.Destination.Weight != want {
						b.Fatalf("reload plan, want rs1 at weight %d:\n%v", want, p)
					}
					if err := d.Apply(ctx, p); err != nil {
						b.Fatal(err)
					}
					ops += p.Len()
				})
				b.ReportMetric(float64(ops)/float64(b.N), "ops/op")
			})
		})
	}
}

func BenchmarkFailures(b *testing.B) {
	const down = 1000
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			// rs1 of 1,000 services spread over the table, failing and
			// recovering in turn; what failed carries over from one run
			// of the benchmark to the next, as the kernel's weights do.
			var tgs []target
			affected := map[ipvs.Key]bool{}
			for i := 0; i < down; i++ {
				k := m.services[i*n/down].svc.Key()
				tgs = append(tgs, target{svc: k, addr: benchRS1})
				affected[k] = true
			}
			failed := map[target]bool{}
			b.Run("flip", func(b *testing.B) {
				batches := 0
				withoutReads(b, d, func(ctx context.Context) {
					for _, tg := range tgs {
						failed[tg] = !failed[tg]
					}
					p, ok := d.planFlip(m, verdicts{failed: failed}, affected)
					if !ok || p.Len() != down {
						b.Fatalf("flip plan of %d failures: %v, %d operations", down, ok, p.Len())
					}
					before := d.IPVS().(*ipvs.Client).Counters()
					if err := d.Apply(ctx, p); err != nil {
						b.Fatal(err)
					}
					after := d.IPVS().(*ipvs.Client).Counters()
					// 128 changes per sendmsg at most: ceil(1000/128) = 8.
					s := int(after.Writes - before.Writes)
					if s > (down+127)/128 || after.Requests-before.Requests != down {
						b.Fatalf("%d operations: %d requests in %d sendmsg calls", p.Len(), after.Requests-before.Requests, s)
					}
					batches += s
				})
				b.ReportMetric(float64(batches)/float64(b.N), "batches/op")
			})
		})
	}
}
