package director_test

// The director's logic on in-memory kernel sides (ipvs/ipvstest and
// director/directortest): no root, no ip_vs, any system. The VM tier
// (the _linux tests) runs the same Director on the real kernel with
// traffic.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

var natConf = director.NatYAML

var web = ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80")}

func parse(t *testing.T, text string) *director.Compiled {
	t.Helper()
	c, err := director.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stepCtx is one step's context: each step of a test has a deadline of
// its own, long enough for a busy machine.
func stepCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func apply(t *testing.T, d *director.Director, c *director.Compiled) *director.Plan {
	t.Helper()
	ctx := stepCtx(t)
	p, err := d.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// weights are the destinations' weights of svc, by address.
func weights(t *testing.T, api ipvs.API, svc ipvs.Service) map[string]int {
	t.Helper()
	ds, err := api.Destinations(stepCtx(t), svc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		out[d.Addr.String()] = int(d.Weight)
	}
	return out
}

// TestFakeApplyConverges: a plan from nothing makes the services, the
// VIP and the sysctl NAT needs; planned again it is empty; one changed
// weight is one operation; Teardown leaves the namespace as it was.
func TestFakeApplyConverges(t *testing.T) {
	d, k := directortest.New(t, nil)
	p := apply(t, d, parse(t, natConf))
	if got := p.Len(); got != 5 { // sysctl, VIP, service, two real servers
		t.Errorf("first plan has %d operations, want 5:\n%s", got, p)
	}
	if w := weights(t, k.IPVS, web); w["10.0.0.110:80"] != 1 || w["10.0.0.120:80"] != 2 {
		t.Errorf("weights %v", w)
	}
	if v, _ := k.Sysctls.Value(sysctl.IPv4Forward); v != "1" {
		t.Errorf("ip_forward %q, want 1 (NAT)", v)
	}
	if l, addrs, _ := k.Links.State("lo"); !l.Up || !slices.Contains(addrs, netip.MustParsePrefix("192.168.10.200/32")) {
		t.Errorf("lo %+v %v: want up with the VIP", l, addrs)
	}
	again, err := d.Plan(stepCtx(t), parse(t, natConf))
	if err != nil || again.Len() != 0 {
		t.Fatalf("plan of what is applied: %v\n%s", err, again)
	}
	one := apply(t, d, parse(t, strings.Replace(natConf, "weight: 2", "weight: 5", 1)))
	if one.Len() != 1 || one.Ops[0].Kind != director.UpdateDestination {
		t.Errorf("one weight changed: %s", one)
	}
	if err := d.Teardown(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if svcs, _ := k.IPVS.Services(stepCtx(t)); len(svcs) != 0 {
		t.Errorf("services after Teardown: %v", svcs)
	}
	if v, _ := k.Sysctls.Value(sysctl.IPv4Forward); v != "0" {
		t.Errorf("ip_forward %q after Teardown, want 0 again", v)
	}
	if _, addrs, _ := k.Links.State("lo"); len(addrs) != 0 {
		t.Errorf("lo's addresses after Teardown: %v", addrs)
	}
}

// TestFakeForeignServiceKept: a service the Director does not own is
// neither changed nor deleted; one it declares is taken over.
func TestFakeForeignServiceKept(t *testing.T) {
	d, k := directortest.New(t, nil)
	ctx := stepCtx(t)
	foreign := ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.9:53"), Scheduler: ipvs.RoundRobin}
	if err := k.IPVS.CreateService(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if err := k.IPVS.CreateService(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: web.Addr, Scheduler: ipvs.WeightedLeastConnection}); err != nil {
		t.Fatal(err)
	}
	apply(t, d, parse(t, natConf))
	if err := d.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	svcs, err := k.IPVS.Services(ctx)
	if err != nil || len(svcs) != 1 || svcs[0].Key() != foreign.Key() {
		t.Errorf("after Teardown: %v, %v; want only the foreign service", svcs, err)
	}
}

// TestFakeDummyOnlyIfStillOne: a dummy device the Director made for a VIP
// goes with its last VIP; a state file naming another link (a bridge) as
// the Director's dummy deletes nothing.
func TestFakeDummyOnlyIfStillOne(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	conf := natConf + "    \n" // the same services
	conf = strings.Replace(conf, "  - address: 192.168.10.200\n", "  - {address: 192.168.10.200, interface: vip0, dummy: true}\n", 1)
	d, k := directortest.New(t, &director.Options{StateFile: state})
	apply(t, d, parse(t, conf))
	if l, addrs, ok := k.Links.State("vip0"); !ok || l.Kind != "dummy" || !l.Up || len(addrs) != 1 {
		t.Fatalf("vip0: %+v %v %v", l, addrs, ok)
	}
	if err := d.Teardown(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.Links.State("vip0"); ok {
		t.Error("vip0 left after Teardown")
	}

	// A state file that claims br0 (a bridge) for the Director.
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["dummies"] = []string{"br0"}
	st["vips"] = []map[string]any{{"address": "192.0.2.1", "interface": "br0", "dummy": true}}
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d2, k2 := directortest.New(t, &director.Options{StateFile: state})
	k2.Links.AddLink("br0", "bridge", true, netip.MustParsePrefix("192.0.2.1/32"))
	apply(t, d2, parse(t, natConf))
	if l, addrs, ok := k2.Links.State("br0"); !ok || l.Kind != "bridge" {
		t.Errorf("br0 after the plan that dropped its VIP: %+v %v %v; want the bridge kept", l, addrs, ok)
	}
}

// TestFakeIPVSFailureReported: an IPVS side that fails makes Plan fail
// with its error, wrapped so that errors.Is still sees it.
func TestFakeIPVSFailureReported(t *testing.T) {
	d, k := directortest.New(t, nil)
	boom := errors.New("boom")
	k.Links.Fail(func(op, name string) error {
		if op == "AddAddr" {
			return boom
		}
		return nil
	})
	ctx := stepCtx(t)
	p, err := d.Plan(ctx, parse(t, natConf))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Apply(ctx, p)
	var ae *director.ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, boom) || len(ae.Failed) != 1 || ae.Failed[0].Op.Kind != director.AddVIP {
		t.Fatalf("Apply: %v; want one failed AddVIP wrapping the side's error", err)
	}
	// The rest was applied, and the next plan has only the VIP.
	k.Links.Fail(nil)
	again, err := d.Plan(ctx, parse(t, natConf))
	if err != nil || again.Len() != 1 || again.Ops[0].Kind != director.AddVIP {
		t.Errorf("plan after the failure: %v\n%s", err, again)
	}
}

// TestFakeMarksAndSNAT: firewall-mark and source-NAT services write their
// rules to the firewall side, once.
func TestFakeMarksAndSNAT(t *testing.T) {
	d, k := directortest.New(t, nil)
	conf := `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    snat: true
    realServers: [{address: 10.0.0.110:80, forward: nat}]
  - fwmark: 7
    mark: {destination: 10.0.0.9/32, protocol: tcp, ports: ["80", "443"]}
    realServers: [{address: "10.0.0.110:0", forward: dr}]
`
	apply(t, d, parse(t, conf))
	marks, snat := k.Firewall.Rules()
	if len(marks) != 1 || marks[0].Mark != 7 || len(snat) != 1 || snat[0].Destination != netip.MustParseAddrPort("10.0.0.110:80") {
		t.Errorf("firewall: marks %v, snat %v", marks, snat)
	}
	if again, err := d.Plan(stepCtx(t), parse(t, conf)); err != nil || again.Len() != 0 {
		t.Errorf("again: %v\n%s", err, again)
	}
	if n := k.Firewall.Transactions(); n != 2 {
		t.Errorf("%d firewall transactions, want 2 (marks, source NAT)", n)
	}
	if err := d.Teardown(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	if marks, snat := k.Firewall.Rules(); len(marks)+len(snat) != 0 {
		t.Errorf("firewall after Teardown: %v %v", marks, snat)
	}
}

// running is a Director's Run on fakes, with its reports.
type running struct {
	t       *testing.T
	reports chan director.Report
	reload  chan *director.Compiled
}

func run(t *testing.T, d *director.Director, c *director.Compiled) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, reports: make(chan director.Report, 256), reload: make(chan *director.Compiled)}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c, r.reload, func(rep director.Report) { r.reports <- rep }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// waitFor returns the first report ok accepts, within 20 seconds.
func (r *running) waitFor(what string, ok func(director.Report) bool) director.Report {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case rep := <-r.reports:
			r.t.Logf("%s report: health %v plan %v err %v", time.Now().Format("15:04:05.000"), rep.Health, rep.Plan != nil, rep.Err)
			if ok(rep) {
				return rep
			}
		case <-deadline:
			r.t.Fatalf("no report of %s within 20 s", what)
		}
	}
}

// healthConf has one service whose real servers are checked by a command
// (the test binary, see director.ExistsArg) that passes while a file named
// after the real server exists in dir.
func healthConf(dir string, quorum int) string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    quorum: %d
    check: {type: command, command: [%q, %q, %q], interval: 100ms, timeout: 5s, rise: 1, fall: 1, onFailure: quiesce}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: 2}
`, quorum, exe, director.ExistsArg, dir)
}

func touch(t *testing.T, dir, name string, up bool) {
	t.Helper()
	p := filepath.Join(dir, name)
	if up {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// TestFakeRunHealth: Run quiesces a failing real server and restores it,
// below quorum quiesces all, and a reload keeps what the checks found.
func TestFakeRunHealth(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "10.0.0.110", true)
	touch(t, dir, "10.0.0.120", true)
	d, k := directortest.New(t, nil)
	r := run(t, d, parse(t, healthConf(dir, 0)))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil && rep.Err == nil })

	touch(t, dir, "10.0.0.120", false)
	r.waitFor("rs2 down", func(rep director.Report) bool { return rep.Health != nil && !rep.Health.Healthy })
	r.waitFor("its weight 0", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 0 || w["10.0.0.110:80"] != 1 {
		t.Errorf("with rs2 failing: %v", w)
	}
	// A reload that changes rs1's weight keeps rs2 quiesced.
	r.reload <- parse(t, strings.Replace(healthConf(dir, 0), "forward: nat}\n      - {address: 10.0.0.120", "forward: nat, weight: 3}\n      - {address: 10.0.0.120", 1))
	r.waitFor("the reload's plan", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 0 || w["10.0.0.110:80"] != 3 {
		t.Errorf("after the reload: %v", w)
	}
	touch(t, dir, "10.0.0.120", true)
	r.waitFor("rs2 up", func(rep director.Report) bool { return rep.Health != nil && rep.Health.Healthy })
	r.waitFor("its weight back", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 2 {
		t.Errorf("with rs2 back: %v", w)
	}
	st := d.Status()
	if len(st.RealServers) != 2 || !st.RealServers[0].Healthy || !st.RealServers[1].Healthy {
		t.Errorf("status: %+v", st.RealServers)
	}
}

// TestFakeQuorum: below its quorum a service's real servers are all
// quiesced, and it is reported.
func TestFakeQuorum(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "10.0.0.110", true)
	touch(t, dir, "10.0.0.120", true)
	d, k := directortest.New(t, nil)
	r := run(t, d, parse(t, healthConf(dir, 2)))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil && rep.Err == nil })
	touch(t, dir, "10.0.0.110", false)
	q := r.waitFor("the quorum lost", func(rep director.Report) bool { return rep.Quorum != nil })
	if q.Quorum.Up || q.Quorum.InService != 1 || q.Quorum.Quorum != 2 {
		t.Errorf("quorum event %+v", q.Quorum)
	}
	r.waitFor("the plan", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 0 || w["10.0.0.110:80"] != 0 {
		t.Errorf("below quorum: %v, want every weight 0", w)
	}
	if st := d.Status(); len(st.BelowQuorum) != 1 {
		t.Errorf("status below quorum: %v", st.BelowQuorum)
	}
}

// TestFakeDisableEnable: a real server disabled by hand is quiesced
// whatever its health, across a reload and a new Director on the same
// state file, until Enable.
func TestFakeDisableEnable(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	k := directortest.NewKernel()
	d, err := director.New(k.Options(&director.Options{StateFile: state}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := stepCtx(t)
	r := run(t, d, parse(t, natConf))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
	rs2 := netip.MustParseAddrPort("10.0.0.120:80")
	if err := d.Disable(ctx, web.Key(), rs2, "disk swap"); err != nil {
		t.Fatal(err)
	}
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 0 {
		t.Errorf("weight %d once Disable returned, want 0", w["10.0.0.120:80"])
	}
	var unknown *director.UnknownRealServerError
	if err := d.Disable(ctx, web.Key(), netip.MustParseAddrPort("10.0.0.99:80"), ""); !errors.As(err, &unknown) {
		t.Errorf("Disable of an unknown real server: %v", err)
	}
	r.reload <- parse(t, strings.Replace(natConf, "weight: 2", "weight: 5", 1))
	if err := d.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if w := weights(t, k.IPVS, web); w["10.0.0.120:80"] != 0 {
		t.Errorf("weight %d after a reload, want 0 (disabled)", w["10.0.0.120:80"])
	}

	// Another Director on the same kernel and state file.
	d2, err := director.New(k.Options(&director.Options{StateFile: state}))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if st := d2.Status(); len(st.Disabled) != 1 || st.Disabled[0].Reason != "disk swap" {
		t.Errorf("the new Director's disabled list: %+v", st.Disabled)
	}
	p, err := d2.Plan(ctx, parse(t, natConf))
	if err != nil || p.Len() != 0 {
		t.Errorf("the new Director's plan: %v\n%s; want none (rs2 kept at weight 0)", err, p)
	}
	if err := d2.Enable(ctx, web.Key(), rs2); err != nil {
		t.Fatal(err)
	}
	p, err = d2.Plan(ctx, parse(t, natConf))
	if err != nil || p.Len() != 1 || p.Ops[0].Rule.Destination.Weight != 2 {
		t.Errorf("plan after Enable: %v\n%s", err, p)
	}
}

// announcer records what the Director asks it.
type announcer struct{ calls chan string }

func (a *announcer) Announce(_ context.Context, p netip.Prefix) error {
	a.calls <- "announce " + p.String()
	return nil
}

func (a *announcer) Withdraw(_ context.Context, p netip.Prefix) error {
	a.calls <- "withdraw " + p.String()
	return nil
}

func (a *announcer) Peers(context.Context) ([]director.Peer, error) { return nil, nil }
func (a *announcer) Close() error                                   { return nil }

func (a *announcer) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-a.calls:
		if got != want {
			t.Fatalf("announcer asked %q, want %q", got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("announcer not asked %q", want)
	}
}

// TestNoDefaultSidesNeeded: a Director built on given sides opens none of
// its own, so it works where the defaults do not exist.
func TestNoDefaultSidesNeeded(t *testing.T) {
	k := directortest.NewKernel()
	d, err := director.New(k.Options(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.IPVS() != ipvs.API(k.IPVS) {
		t.Error("IPVS() is not the IPVS given")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// Close leaves the given sides open.
	if _, err := k.IPVS.Services(stepCtx(t)); err != nil {
		t.Errorf("the fake after Close: %v", err)
	}
}

// TestFakeSharedProbeFlipsBoth: two services checking one real server the
// same way both see it fail and recover, from one probe.
func TestFakeSharedProbeFlipsBoth(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "10.0.0.110", true)
	touch(t, dir, "10.0.0.120", true)
	d, k := directortest.New(t, nil)
	conf := healthConf(dir, 0)
	second := strings.Replace(conf[strings.Index(conf, "  - protocol"):], "10.0.0.8:80", "10.0.0.9:80", 1)
	r := run(t, d, parse(t, conf+second))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
	touch(t, dir, "10.0.0.120", false)
	seen := map[string]bool{}
	r.waitFor("rs2 down in both services", func(rep director.Report) bool {
		if rep.Health != nil && !rep.Health.Healthy {
			seen[rep.Health.Service] = true
		}
		return len(seen) == 2
	})
	for _, svc := range []ipvs.Service{web, {Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.9:80")}} {
		deadline := time.Now().Add(10 * time.Second)
		for weights(t, k.IPVS, svc)["10.0.0.120:80"] != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if w := weights(t, k.IPVS, svc); w["10.0.0.120:80"] != 0 {
			t.Errorf("%v: %v, want rs2 quiesced", svc, w)
		}
	}
}

// slowSpec is a check kind of the tests: it takes 150 ms and passes.
type slowSpec struct{}

func (*slowSpec) Type() string                    { return "test-slow" }
func (*slowSpec) Compile() (check.Checker, error) { return slowChecker{}, nil }

type slowChecker struct{}

func (slowChecker) Check(ctx context.Context, _ check.Env, _ netip.AddrPort) error {
	select {
	case <-time.After(150 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var registerSlow sync.Once

// TestFakeOverdueChecks: more checks than one checker can run in their
// interval are counted overdue, and the others still run.
func TestFakeOverdueChecks(t *testing.T) {
	registerSlow.Do(func() {
		if err := check.Register("test-slow", check.Kind{New: func() check.Spec { return new(slowSpec) }}); err != nil {
			t.Fatal(err)
		}
	})
	d, _ := directortest.New(t, &director.Options{MaxChecks: 1})
	var text strings.Builder
	text.WriteString("services:\n  - protocol: tcp\n    address: 10.0.0.8:80\n    check: {type: test-slow, interval: 100ms}\n    realServers:\n")
	for i := range 5 {
		fmt.Fprintf(&text, "      - {address: 10.0.0.%d:80, forward: dr}\n", 110+i)
	}
	run(t, d, parse(t, text.String())).waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
	deadline := time.Now().Add(10 * time.Second)
	for d.Status().OverdueChecks < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := d.Status().OverdueChecks; n < 3 {
		t.Errorf("%d overdue checks, want some: 5 checks of 150 ms every 100 ms on one checker", n)
	}
	// Five checkers keep up (every 500 ms here, for a busy machine): each
	// check waits for none.
	d5, _ := directortest.New(t, &director.Options{MaxChecks: 5})
	run(t, d5, parse(t, strings.Replace(text.String(), "interval: 100ms", "interval: 500ms", 1))).waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
	time.Sleep(1200 * time.Millisecond)
	if n := d5.Status().OverdueChecks; n != 0 {
		t.Errorf("%d overdue checks with a checker for each", n)
	}
}
