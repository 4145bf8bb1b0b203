package director_test

// The director's logic on both kernels: each test runs on the in-memory
// sides (always, milliseconds) and on the real kernel in the NAT lab's
// director namespace (the VM tier, where the host has no IPVS): the same
// assertions hold on both.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/ipvs"
)

var natLab = director.NatLab

// newDirector returns a Director with opts on the kernel of the test
// (closed when the test ends).
type newDirector func(t *testing.T, opts director.Options) *director.Director

// onBoth runs body on the in-memory sides and on the real kernel, in the
// NAT lab's director namespace.
func onBoth(t *testing.T, body func(t *testing.T, mk newDirector)) {
	t.Run("fake", func(t *testing.T) {
		k := directortest.NewKernel()
		body(t, func(t *testing.T, opts director.Options) *director.Director {
			d, err := director.New(k.Options(&opts))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
	t.Run("kernel", func(t *testing.T) {
		ns := kernelNamespace(t)
		body(t, func(t *testing.T, opts director.Options) *director.Director {
			opts.NetNS = ns
			d, err := director.New(&opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		})
	})
}

func kinds(p *director.Plan) string {
	var ks []string
	for _, o := range p.Ops {
		ks = append(ks, o.Kind.String())
	}
	return strings.Join(ks, ", ")
}

// TestRunReload: a reload with one changed weight is applied as that one
// change.
func TestRunReload(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{})
		r := run(t, d, parse(t, natLab))
		if rep := r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil }); rep.Err != nil || rep.Plan.Len() != 4 {
			t.Fatalf("first apply: %+v", rep)
		}
		r.reload <- parse(t, strings.Replace(natLab, "weight: 2", "weight: 5", 1))
		rep := r.waitFor("the reload", func(rep director.Report) bool { return rep.Plan != nil || rep.Err != nil })
		if rep.Err != nil || rep.Plan.Len() != 1 || rep.Plan.Ops[0].Rule.Destination.Weight != 5 {
			t.Fatalf("after reload: %+v", rep)
		}
		if w := weights(t, d.IPVS(), web); w["10.0.0.120:80"] != 5 || len(w) != 2 {
			t.Errorf("after the reload: %v", w)
		}
	})
}

// TestApplySavesStateWhenIPVSFails: when the IPVS batch fails as a whole
// (here: the socket is gone), the other operations still run, each IPVS
// operation is reported in the ApplyError, and what was changed (the
// sysctl, the VIP) is in the state file, so that Teardown can undo it.
func TestApplySavesStateWhenIPVSFails(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		state := t.TempDir() + "/state.json"
		d := mk(t, director.Options{StateFile: state})
		ctx := stepCtx(t)
		p, err := d.Plan(ctx, parse(t, natLab+"vips:\n  - {address: 192.0.2.80, interface: lo}\n"))
		if err != nil {
			t.Fatal(err)
		}
		d.IPVS().Close() // every IPVS request now fails
		err = d.Apply(ctx, p)
		var ae *director.ApplyError
		if !errors.As(err, &ae) {
			t.Fatalf("Apply: %v, want an *ApplyError", err)
		}
		ipvsOps := 0
		for _, o := range p.Ops {
			if o.IsIPVS() {
				ipvsOps++
			}
		}
		if len(ae.Failed) != ipvsOps {
			t.Errorf("%d failed operations, want the %d IPVS ones:\n%v", len(ae.Failed), ipvsOps, err)
		}
		for _, f := range ae.Failed {
			if !f.Op.IsIPVS() {
				t.Errorf("a non-IPVS operation failed: %s: %v", f.Op, f.Err)
			}
		}
		sysctls, vips, err := director.LoadStateFile(state)
		if err != nil {
			t.Fatal(err)
		}
		if len(sysctls) != 1 || sysctls[0] != "net.ipv4.ip_forward" {
			t.Errorf("state sysctls %v, want ip_forward's previous value", sysctls)
		}
		if len(vips) != 1 || vips[0].Address != netip.MustParseAddr("192.0.2.80") {
			t.Errorf("state VIPs %+v, want the added VIP", vips)
		}
	})
}

// TestApplyPartialFailureConverges: an operation the kernel refuses fails
// alone; the next plan is that operation only, and once the configuration
// no longer asks for it the plan is empty.
func TestApplyPartialFailureConverges(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{})
		ctx := stepCtx(t)
		// The broadcast address is valid as an address, refused by the
		// kernel as a real server (EINVAL).
		bad := parse(t, natLab+"      - {address: 255.255.255.255:80, forward: nat}\n")
		p, err := d.Plan(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		err = d.Apply(ctx, p)
		var ae *director.ApplyError
		if !errors.As(err, &ae) || len(ae.Failed) != 1 || ae.Failed[0].Op.Kind != director.CreateDestination ||
			ae.Failed[0].Op.Rule.Destination.Addr != netip.MustParseAddrPort("255.255.255.255:80") || !errors.Is(ae.Failed[0].Err, syscall.EINVAL) {
			t.Fatalf("Apply: %v, want one failure: creating 255.255.255.255:80, EINVAL", err)
		}
		again, err := d.Plan(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		if again.Len() != 1 || again.Ops[0].Rule.Destination.Addr != netip.MustParseAddrPort("255.255.255.255:80") {
			t.Errorf("plan after the partial apply:\n%s\nwant only the refused destination", again)
		}
		if p, err := d.Plan(ctx, parse(t, natLab)); err != nil || p.Len() != 0 {
			t.Errorf("plan without the refused destination: %v\n%s", err, p)
		}
	})
}

// TestReloadPlansFromWhatItKnows: with 201 services applied, a reload that
// changes one weight is one operation, planned without reading the whole
// table. A service someone else made with the key of one a reload adds is
// still seen (the kernel is asked about that service alone) and taken
// over as a full plan would: updated to the configuration and given its
// real servers, not created again. After an IPVS change fails, the
// Director no longer trusts what it knows: the next reload reads the whole
// table.
func TestReloadPlansFromWhatItKnows(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{Resync: time.Hour})
		ctx := stepCtx(t)
		conf := func(weight int, extra string) *director.Compiled {
			var text strings.Builder
			text.WriteString(strings.Replace(natLab, "weight: 2", fmt.Sprintf("weight: %d", weight), 1))
			for i := 0; i < 200; i++ {
				fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.0.0.8:%d, realServers: [{address: 10.0.0.120:80, forward: nat}]}\n", 2000+i)
			}
			text.WriteString(extra)
			return parse(t, text.String())
		}
		r := run(t, d, conf(2, ""))
		r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
		if n := director.FullReads(d); n != 1 {
			t.Fatalf("%d full reads after the first apply, want 1", n)
		}
		rs1, rs2 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80")

		r.reload <- conf(5, "")
		rep := r.waitFor("the weight's reload", func(rep director.Report) bool { return rep.Plan != nil })
		if rep.Plan.Len() != 1 || rep.Plan.Ops[0].Kind != director.UpdateDestination || rep.Plan.Ops[0].Rule.Destination.Addr != rs2 ||
			rep.Plan.Ops[0].Rule.Destination.Weight != 5 || rep.Plan.Ops[0].Old.Destination.Weight != 2 {
			t.Fatalf("reload of one weight:\n%s\nwant one update of %v, weight 2 -> 5", rep.Plan, rs2)
		}
		if n := director.FullReads(d); n != 1 {
			t.Errorf("%d full reads after the reload, want still 1", n)
		}
		if got, err := d.IPVS().Destination(ctx, web, rs2); err != nil || got.Weight != 5 {
			t.Errorf("rs2 after the reload: %+v, %v; want weight 5", got, err)
		}

		// Someone else makes the service the next configuration adds.
		foreign := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:3000"), Scheduler: ipvs.RoundRobin}
		if err := d.IPVS().CreateService(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		withForeign := "  - {protocol: tcp, address: 10.0.0.8:3000, scheduler: wrr, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n"
		r.reload <- conf(5, withForeign)
		rep = r.waitFor("the reload adding the foreign service", func(rep director.Report) bool { return rep.Plan != nil })
		if got := kinds(rep.Plan); got != "update service, create destination" ||
			rep.Plan.Ops[0].Rule.Service.Addr != foreign.Addr || rep.Plan.Ops[0].Old.Service.Scheduler != ipvs.RoundRobin ||
			rep.Plan.Ops[1].Rule.Destination.Addr != rs1 {
			t.Fatalf("reload adding a service someone else made:\n%s\nwant it updated to wrr and given rs1, not created", rep.Plan)
		}
		if n := director.FullReads(d); n != 1 {
			t.Errorf("%d full reads after the second reload, want still 1", n)
		}
		if got, err := d.IPVS().Service(ctx, foreign); err != nil || got.Scheduler != ipvs.WeightedRoundRobin {
			t.Errorf("the taken-over service: %+v, %v; want scheduler wrr", got, err)
		}
		if ds, err := d.IPVS().Destinations(ctx, foreign); err != nil || len(ds) != 1 || ds[0].Addr != rs1 {
			t.Errorf("the taken-over service's real servers: %+v, %v; want rs1", ds, err)
		}

		// A change the kernel refuses: the broadcast address (EINVAL as a
		// real server).
		r.reload <- conf(5, withForeign+"  - {protocol: tcp, address: 10.0.0.8:3001, realServers: [{address: 255.255.255.255:80, forward: nat}]}\n")
		rep = r.waitFor("the refused real server", func(rep director.Report) bool { return rep.Err != nil || rep.Plan != nil })
		var ae *director.ApplyError
		if !errors.As(rep.Err, &ae) || len(ae.Failed) != 1 || !errors.Is(ae.Failed[0].Err, syscall.EINVAL) {
			t.Fatalf("reload with a refused real server: %+v, want one failure, EINVAL", rep)
		}
		if n := director.FullReads(d); n != 1 {
			t.Errorf("%d full reads after the refused reload, want still 1", n)
		}
		r.reload <- conf(6, withForeign)
		rep = r.waitFor("the reload after the failure", func(rep director.Report) bool { return rep.Plan != nil })
		if got := kinds(rep.Plan); got != "update destination, delete service" || rep.Plan.Ops[0].Rule.Destination.Weight != 6 {
			t.Errorf("reload after the failure:\n%s\nwant rs2 to weight 6 and the refused service's removal", rep.Plan)
		}
		if n := director.FullReads(d); n != 2 {
			t.Errorf("%d full reads after the reload that followed a failure, want 2", n)
		}
		// What the Director believes is what the kernel has.
		if again, err := d.Plan(ctx, conf(6, withForeign)); err != nil || again.Len() != 0 {
			t.Errorf("a full plan after the reloads: %v\n%s", err, again)
		}
	})
}

// TestResyncRepairsDrift: a weight changed by hand is put back by the
// periodic resync, reported as a Resync plan of that one change, after a
// read of the whole table.
func TestResyncRepairsDrift(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{Resync: 300 * time.Millisecond})
		ctx := stepCtx(t)
		r := run(t, d, parse(t, natLab))
		first := r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil || rep.Err != nil })
		if first.Err != nil || first.Resync {
			t.Fatalf("first report: %+v", first)
		}
		reads := director.FullReads(d)
		rs := netip.MustParseAddrPort("10.0.0.120:80")
		if err := d.IPVS().ModifyDestination(ctx, web, rs, func(dst *ipvs.Destination) error { dst.Weight = 7; return nil }); err != nil {
			t.Fatal(err)
		}
		rep := r.waitFor("the repair", func(rep director.Report) bool { return rep.Plan != nil || rep.Err != nil })
		if rep.Err != nil || !rep.Resync || rep.Plan.Len() != 1 || rep.Plan.Ops[0].Rule.Destination.Weight != 2 || rep.Plan.Ops[0].Old.Destination.Weight != 7 {
			t.Fatalf("after the hand change: %+v\n%v", rep, rep.Plan)
		}
		if got, err := d.IPVS().Destination(ctx, web, rs); err != nil || got.Weight != 2 {
			t.Errorf("weight after the resync: %+v, %v; want 2", got, err)
		}
		if n := director.FullReads(d); n <= reads {
			t.Errorf("%d full reads after the resync, %d before: want more", n, reads)
		}
		if err := d.Ping(ctx); err != nil { // answered once the resync's step has ended
			t.Fatal(err)
		}
		if st := d.Status(); st.Drift < 1 {
			t.Errorf("status drift %d, want the repaired change counted", st.Drift)
		}
	})
}

// TestAppliedPlansConverge: a configuration that used never to converge
// (a persistence netmask of the whole address) plans nothing after it is
// applied.
func TestAppliedPlansConverge(t *testing.T) {
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{})
		c := parse(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    persistence: {timeout: 60s, netmask: 32}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`)
		apply(t, d, c)
		for i := 0; i < 2; i++ {
			if again, err := d.Plan(stepCtx(t), c); err != nil || again.Len() != 0 {
				t.Fatalf("plan %d after applying: %v\n%s", i+1, err, again)
			}
		}
	})
}

// TestHealthFlipReadsNothing: with 1,000 other services configured, a real
// server's failure and recovery each reach the kernel as one operation,
// planned without reading the table again (the first apply's read is the
// only one), and what the Director believes is what the kernel has. (The
// VM tier's TestHealthChecks does the same with real servers and traffic.)
func TestHealthFlipReadsNothing(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "10.0.0.110", true)
	touch(t, dir, "10.0.0.120", true)
	onBoth(t, func(t *testing.T, mk newDirector) {
		d := mk(t, director.Options{Resync: time.Hour})
		var text strings.Builder
		text.WriteString(healthConf(dir, 0))
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&text, "  - {protocol: tcp, address: 10.0.0.8:%d, realServers: [{address: 10.0.0.120:80, forward: nat}]}\n", 2000+i)
		}
		c := parse(t, text.String())
		r := run(t, d, c)
		r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
		if n := director.FullReads(d); n != 1 {
			t.Fatalf("%d full reads after the first apply, want 1", n)
		}
		touch(t, dir, "10.0.0.110", false)
		p := r.waitFor("the quiesce", func(rep director.Report) bool { return rep.Plan != nil })
		if p.Plan.Len() != 1 || p.Plan.Ops[0].Rule.Destination.Weight != 0 {
			t.Errorf("plan on failure:\n%s", p.Plan)
		}
		touch(t, dir, "10.0.0.110", true)
		p = r.waitFor("the restore", func(rep director.Report) bool { return rep.Plan != nil })
		if p.Plan.Len() != 1 || p.Plan.Ops[0].Rule.Destination.Weight != 1 {
			t.Errorf("plan on recovery:\n%s", p.Plan)
		}
		if n := director.FullReads(d); n != 1 {
			t.Errorf("%d full reads after two health flips, want still 1", n)
		}
		if again, err := d.Plan(stepCtx(t), c); err != nil || again.Len() != 0 {
			t.Errorf("a full plan after the flips: %v\n%s", err, again)
		}
	})
}

// TestRunAnnounces: Run announces the cluster's prefix once its first
// apply has succeeded; Withdraw withdraws it until Rejoin; Run withdraws
// it when a service under it goes below its quorum, announces it again
// when the quorum is back, and Teardown withdraws it before removing
// anything.
func TestRunAnnounces(t *testing.T) {
	dir := t.TempDir()
	onBoth(t, func(t *testing.T, mk newDirector) {
		touch(t, dir, "10.0.0.110", true)
		touch(t, dir, "10.0.0.120", true)
		a := &announcer{calls: make(chan string, 16)}
		d := mk(t, director.Options{Announcer: a})
		conf := strings.Replace(healthConf(dir, 2), "address: 10.0.0.8:80\n", "address: 10.0.0.8:80\n    scheduler: mh\n    flags: [mh-fallback]\n", 1)
		c := parse(t, "cluster:\n  announce: [10.0.0.8/32]\n"+conf)
		ctx := stepCtx(t)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- d.Run(runCtx, c, nil, nil) }()
		a.next(t, "announce 10.0.0.8/32")
		// The Status follows once the Announcer has answered: a Ping is
		// answered after the step that announced.
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if st := d.Status(); len(st.Announced) != 1 || st.Announced[0] != netip.MustParsePrefix("10.0.0.8/32") {
			t.Errorf("Status().Announced = %v", st.Announced)
		}
		if err := d.Withdraw(ctx); err != nil {
			t.Fatal(err)
		}
		a.next(t, "withdraw 10.0.0.8/32")
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-a.calls:
			t.Fatalf("a withdrawn director's Run told the announcer %q", e)
		default:
		}
		if w := weights(t, d.IPVS(), web); len(w) != 2 {
			t.Errorf("withdrawn, the Director still forwards: %v", w)
		}
		if err := d.Rejoin(ctx); err != nil {
			t.Fatal(err)
		}
		a.next(t, "announce 10.0.0.8/32")
		touch(t, dir, "10.0.0.110", false)
		a.next(t, "withdraw 10.0.0.8/32")
		if err := d.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if st := d.Status(); len(st.Announced) != 0 || len(st.BelowQuorum) != 1 {
			t.Errorf("below quorum: Status().Announced = %v, BelowQuorum = %v", st.Announced, st.BelowQuorum)
		}
		touch(t, dir, "10.0.0.110", true)
		a.next(t, "announce 10.0.0.8/32")
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := d.Teardown(ctx); err != nil {
			t.Fatal(err)
		}
		a.next(t, "withdraw 10.0.0.8/32")
		if tab, err := d.IPVS().Table(ctx); err != nil || len(tab.Services) != 0 {
			t.Errorf("after Teardown: %d services, %v", len(tab.Services), err)
		}
		select {
		case e := <-a.calls:
			t.Errorf("announcer told %q after Teardown", e)
		default:
		}
	})
}
