package director

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/sysctl"
)

// multiConf has a service with two checks for its real servers, and one
// real server with checks of its own.
const multiConf = `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    checks:
      - {type: tcp, interval: 1s}
      - {type: file, file: /run/lvs/drain, healthy: zero}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - address: 10.0.0.120:80
        forward: nat
        checks: [{type: http, path: /up, interval: 1s, onFailure: remove}]
  - protocol: tcp
    address: 10.0.0.9:80
    check: {type: tcp, interval: 1s}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
`

// TestChecksCompile: a real server gets its service's checks, or its
// own in their place; probes are shared across services and lists.
func TestChecksCompile(t *testing.T) {
	m := mustCompile(t, mustConfig(t, multiConf))
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80")
	s := m.services[0]
	if l := s.checksAt(0); s.dests[0].Addr != rs1 || len(l) != 2 || l[0].check.Spec.Type() != "tcp" || l[1].check.Spec.Type() != "file" || l[1].name != "checks[1] (file)" {
		t.Errorf("rs1's checks: %+v", l)
	}
	if l := s.checksAt(1); s.dests[1].Addr != rs2 || len(l) != 1 || l[0].check.Spec.Type() != "http" || l.onFailure() != Remove {
		t.Errorf("rs2's checks: %+v", l)
	}
	if !s.fails(Remove) || !s.fails(Quiesce) {
		t.Error("the service's real servers fail both ways")
	}
	targets := m.checkTargets()
	if len(targets) != 3 {
		t.Fatalf("%d targets, want 3", len(targets))
	}
	// rs1's tcp check in the first service and the second service's
	// check are one probe; rs1's file check, and rs2's http, one each.
	ps := probes(targets, map[target]bool{}, time.Now())
	subs := map[string]int{}
	for _, p := range ps {
		subs[p.addr().String()+" "+p.cc.check.Spec.Type()] += len(p.subs)
	}
	want := map[string]int{"10.0.0.110:80 tcp": 2, "10.0.0.110:80 file": 1, "10.0.0.120:80 http": 1}
	if len(ps) != 3 || len(subs) != len(want) {
		t.Fatalf("%d probes %v, want %v", len(ps), subs, want)
	}
	for k, n := range want {
		if subs[k] != n {
			t.Errorf("probes %v, want %v", subs, want)
		}
	}
	// The expire_nodest_conn default follows a remove anywhere.
	defaults := map[sysctl.Key]string{}
	s.addKernelDefaults(defaults)
	if _, ok := defaults["net.ipv4.vs.expire_nodest_conn"]; !ok {
		t.Error("a real server removed on failure sets no expire_nodest_conn")
	}
}

// TestChecksRefused: what a list of checks may not be, where.
func TestChecksRefused(t *testing.T) {
	const head = "services:\n  - protocol: tcp\n    address: 10.0.0.8:80\n"
	const rs = "    realServers: [{address: 10.0.0.110:80, forward: nat}]\n"
	for _, tc := range []struct{ name, file, where, text string }{
		{"check and checks", head + "    check: {type: tcp}\n    checks: [{type: tcp}]\n" + rs, "services[0].checks", "check and checks both set"},
		{"onFailure differs", head + "    checks: [{type: tcp}, {type: file, file: /x, onFailure: remove}]\n" + rs, "services[0].checks[1].onFailure", "remove, where checks[0] has quiesce"},
		{"a bad check of a list", head + "    checks: [{type: tcp}, {type: tcp, interval: 1ns}]\n" + rs, "services[0].checks[1]", "interval 1ns"},
		{"a bad field of a real server's check", head + "    realServers: [{address: 10.0.0.110:80, forward: nat, checks: [{type: file}]}]\n", "services[0].realServers[0].checks[0].file", "needs a file"},
		{"a checked sorry server", head + rs + "    sorryServer: {address: 10.0.0.9:80, forward: nat, checks: [{type: tcp}]}\n", "services[0].sorryServer.checks", "not checked"},
		{"mh quiescing", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, scheduler: mh, realServers: [{address: 10.0.0.110:80, forward: nat, checks: [{type: tcp}]}]}\n", "services[0].checks", "mh-fallback"},
	} {
		_, err := Parse([]byte(tc.file))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Where != tc.where || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v; want at %s %q", tc.name, err, tc.where, tc.text)
		}
	}
}

// TestScheduleSeveralChecks: a real server with two checks fails when
// the first of them fails, its error naming it, stays failed while either
// fails, and is healthy again only once both pass.
func TestScheduleSeveralChecks(t *testing.T) {
	m := mustCompile(t, mustConfig(t, strings.Replace(multiConf, "interval: 1s}\n      - {type: file", "interval: 1s, rise: 1, fall: 1}\n      - {type: file", 1)))
	rs1 := netip.MustParseAddrPort("10.0.0.110:80")
	var targets []targetRef
	for _, r := range m.checkTargets() {
		if l := r.checks(); r.addr() == rs1 && len(l) == 2 {
			l[1].check.Rise, l[1].check.Fall = 1, 1
			l[1].check.Interval = l[0].check.Interval
			targets = append(targets, r)
		}
	}
	if len(targets) != 1 {
		t.Fatalf("targets %v", targets)
	}
	ps := probes(targets, map[target]bool{}, time.Now())
	if len(ps) != 2 {
		t.Fatalf("%d probes, want 2", len(ps))
	}
	byType := map[string]*probe{}
	for _, p := range ps {
		byType[p.cc.check.Spec.Type()] = p
	}
	ctx, cancel := context.WithCancel(context.Background())
	work, results, changes := make(chan *probe), make(chan probeResult), make(chan healthChange, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Director{}).schedule(ctx, ps, 2, work, results, changes)
	}()
	t.Cleanup(func() { cancel(); <-done })
	drained := errors.New("drained")
	// answer runs each probe once, with the results given by type.
	answer := func(errs map[string]error) {
		t.Helper()
		var due []*probe // both dispatched before either answers
		for range 2 {
			select {
			case p := <-work:
				due = append(due, p)
			case <-time.After(5 * time.Second):
				t.Fatal("a probe was not run")
			}
		}
		for _, p := range due {
			results <- probeResult{p, errs[p.cc.check.Spec.Type()]}
		}
	}
	next := func() (healthChange, bool) {
		select {
		case c := <-changes:
			return c, true
		case <-time.After(200 * time.Millisecond):
			return healthChange{}, false
		}
	}
	answer(map[string]error{"file": drained})
	c, ok := next()
	if !ok || c.e.Healthy || !errors.Is(c.e.Err, drained) || !strings.HasPrefix(c.e.Err.Error(), "checks[1] (file): ") {
		t.Fatalf("change %+v (%v), want failed by checks[1] (file)", c.e, ok)
	}
	// Both fail: no change; the file passes, tcp still fails: none.
	answer(map[string]error{"file": drained, "tcp": drained})
	answer(map[string]error{"tcp": drained})
	if c, ok := next(); ok {
		t.Fatalf("change %+v while a check still fails", c.e)
	}
	answer(nil)
	if c, ok := next(); !ok || !c.e.Healthy {
		t.Fatalf("change %+v (%v), want healthy once both pass", c.e, ok)
	}
}
