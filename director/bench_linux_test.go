package director

import (
	"context"
	"fmt"
	"net/netip"
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
// BenchmarkHealthFlip is one real server's failure or recovery applied by
// Run's path (plan for its service against what was applied, one batch) at
// 1,000 and 10,000 services: it must cost the same. BenchmarkPlan is a
// full plan (one read of the whole table) with no change, for scale.
func benchDirector(b *testing.B, services int) (*Director, *model) {
	b.Helper()
	vmtest.Require(b, "ip_vs", "ip_vs_wlc", "veth", "bridge")
	l := labtest.Build(b, lab.NAT())
	ns := labtest.Host(b, l, lab.Director).NS()
	var text strings.Builder
	text.WriteString("services:\n")
	for i := 0; i < services; i++ {
		fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.1.%d.%d:80, check: {type: tcp}, realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]}\n", i>>8, i&255)
	}
	cfg, err := Parse([]byte(text.String()))
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
	p, err := d.planModel(ctx, m)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		b.Fatal(err)
	}
	return d, m
}

func BenchmarkHealthFlip(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			tg := target{svc: m.services[n/2].svc.Key(), addr: netip.MustParseAddrPort("10.0.0.110:80")}
			affected := map[ipvs.Key]bool{tg.svc: true}
			reads := d.fullReads
			ctx := context.Background()
			failed := map[target]bool{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				failed[tg] = !failed[tg]
				p, ok := d.planFlip(m, failed, affected)
				if !ok || p.Len() != 1 {
					b.Fatalf("flip plan: %v, %v", ok, p)
				}
				if err := d.Apply(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if d.fullReads != reads {
				b.Fatalf("%d full reads during the flips", d.fullReads-reads)
			}
		})
	}
}

func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d, m := benchDirector(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := d.planModel(ctx, m)
				if err != nil || p.Len() != 0 {
					b.Fatalf("plan: %v, %v", err, p)
				}
			}
		})
	}
}
