package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// TestProbesShared: a real server checked the same way by two services is
// one probe feeding both; a different check, or another address, is a
// probe of its own.
func TestProbesShared(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 1s}, realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.9:80, check: {type: tcp, interval: 1s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.10:80, check: {type: tcp, interval: 2s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
`))
	targets := m.checkTargets()
	if len(targets) != 4 {
		t.Fatalf("%d targets, want 4", len(targets))
	}
	ps := probes(targets, map[target]bool{}, time.Now())
	subs := map[string]int{}
	for _, p := range ps {
		subs[p.addr().String()+" every "+p.cc.check.Interval.String()] = len(p.subs)
	}
	want := map[string]int{"10.0.0.110:80 every 1s": 2, "10.0.0.120:80 every 1s": 1, "10.0.0.110:80 every 2s": 1}
	if len(subs) != len(want) {
		t.Fatalf("probes %v, want %v", subs, want)
	}
	for k, n := range want {
		if subs[k] != n {
			t.Errorf("probes %v, want %v", subs, want)
		}
	}
}

// TestScheduleRetryDelay: a failed check of a healthy real server is tried
// again after RetryDelay, not a whole Interval, until Fall fails it; a
// failed real server is then checked every Interval, as keepalived's
// delay_before_retry does.
func TestScheduleRetryDelay(t *testing.T) {
	const interval, retry = time.Second, 20 * time.Millisecond
	cc := &compiledCheck{check: Check{Interval: interval, Timeout: time.Second, Rise: 1, Fall: 3, RetryDelay: retry}}
	tg := &targetRef{s: &service{dests: []ipvs.Destination{{Addr: netip.MustParseAddrPort("10.0.0.110:80")}}}}
	p := &probe{cc: cc, due: time.Now(), subs: []subscriber{{tg: tg}}}
	ctx, cancel := context.WithCancel(context.Background())
	work, results, changes := make(chan *probe), make(chan probeResult), make(chan healthChange, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Director{}).schedule(ctx, []*probe{p}, 1, work, results, changes)
	}()
	t.Cleanup(func() { cancel(); <-done })
	refused := errors.New("connection refused")
	// run takes the next dispatch of the probe, answers err, and returns
	// when it was dispatched.
	run := func(err error) time.Time {
		t.Helper()
		select {
		case q := <-work:
			at := time.Now()
			results <- probeResult{q, err}
			return at
		case <-time.After(5 * interval):
			t.Fatal("the probe was not run")
			return time.Time{}
		}
	}
	first := run(refused)
	run(refused)
	run(refused)
	var e healthChange
	select {
	case e = <-changes:
	case <-time.After(5 * interval):
		t.Fatal("no health change after Fall failures")
	}
	if e.e.Healthy {
		t.Fatalf("change %v, want failed", e.e)
	}
	if took := time.Since(first); took >= interval/2 {
		t.Errorf("failed %v after the first failure, want about 2*RetryDelay (%v), well under the interval %v", took, 2*retry, interval)
	}
	// Failed: the next check waits a whole interval.
	last := time.Now()
	if at := run(nil); at.Sub(last) < interval*8/10 {
		t.Errorf("a failed real server was checked again after %v, want an interval (%v)", at.Sub(last), interval)
	}
	select {
	case e = <-changes:
		if !e.e.Healthy {
			t.Fatalf("change %v, want healthy", e.e)
		}
	case <-time.After(5 * interval):
		t.Fatal("no health change after Rise successes")
	}
	// Healthy again, passing: the next check after an interval.
	last = time.Now()
	if at := run(refused); at.Sub(last) < interval*8/10 {
		t.Errorf("a passing real server was checked again after %v, want an interval (%v)", at.Sub(last), interval)
	}
	last = time.Now()
	if at := run(nil); at.Sub(last) >= interval/2 {
		t.Errorf("a retry came %v after a failure, want RetryDelay (%v)", at.Sub(last), retry)
	}
}

// TestProbeNext: when a probe runs next, as a pure function of its
// subscribers' runs of results.
func TestProbeNext(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	due := now.Add(-100 * time.Millisecond)
	chk := Check{Interval: 5 * time.Second, Fall: 3, Rise: 2, RetryDelay: time.Second}
	for _, c := range []struct {
		name  string
		retry time.Duration
		ok    bool
		tl    []tally
		want  time.Time
	}{
		{"passed", time.Second, true, []tally{{}}, due.Add(5 * time.Second)},
		{"failed, counting", time.Second, false, []tally{{run: 1}}, now.Add(time.Second)},
		{"failed, no retry delay", 0, false, []tally{{run: 1}}, due.Add(5 * time.Second)},
		{"failed, already failed", time.Second, false, []tally{{failed: true}}, due.Add(5 * time.Second)},
		{"failed, one of two counting", time.Second, false, []tally{{failed: true}, {run: 2}}, now.Add(time.Second)},
	} {
		cc := &compiledCheck{check: chk}
		cc.check.RetryDelay = c.retry
		p := &probe{cc: cc, due: due}
		for _, tl := range c.tl {
			p.subs = append(p.subs, subscriber{tl: tl})
		}
		if got := p.next(c.ok, now); !got.Equal(c.want) {
			t.Errorf("%s: next %v, want %v", c.name, got.Sub(now), c.want.Sub(now))
		}
	}
	// Slower than its interval: at once.
	p := &probe{cc: &compiledCheck{check: chk}, due: now.Add(-10 * time.Second), subs: []subscriber{{}}}
	if got := p.next(true, now); !got.Equal(now) {
		t.Errorf("an overdue probe runs next %v from now, want now", got.Sub(now))
	}
}

// TestStatusAccessors: LastResync and OverdueChecks are Status's, read
// without the copy.
func TestStatusAccessors(t *testing.T) {
	var d Director
	if !d.LastResync().IsZero() || d.OverdueChecks() != 0 {
		t.Fatalf("a new Director: last resync %v, %d overdue", d.LastResync(), d.OverdueChecks())
	}
	d.status.overdue()
	d.status.overdue()
	d.status.resynced(true, 0)
	st := d.Status()
	if d.OverdueChecks() != 2 || st.OverdueChecks != 2 || !d.LastResync().Equal(st.LastResync) || st.LastResync.IsZero() {
		t.Errorf("OverdueChecks %d, LastResync %v; Status has %d, %v", d.OverdueChecks(), d.LastResync(), st.OverdueChecks, st.LastResync)
	}
}

// TestCheckTargets: the checked real servers are listed once each, in the
// order Status lists them (services by key, real servers by address),
// whatever the order of the file; the real servers without a check are
// not; the subscribers point into the one table.
func TestCheckTargets(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - protocol: tcp
    address: 10.0.0.9:80
    check: {type: tcp}
    realServers:
      - {address: 10.0.0.130:80, forward: dr}
      - {address: 10.0.0.110:80, forward: dr}
  - protocol: tcp
    address: 10.0.0.8:80
    realServers:
      - {address: 10.0.0.120:80, forward: dr, checks: [{type: tcp}]}
      - {address: 10.0.0.140:80, forward: dr}
      - {address: 10.0.0.110:80, forward: dr, checks: [{type: tcp}, {type: tcp, port: 81}]}
`))
	refs := m.checkTargets()
	var got []string
	for _, r := range refs {
		got = append(got, fmt.Sprintf("%v %v %d", r.target().svc.Addr, r.addr(), len(r.checks())))
	}
	want := []string{"10.0.0.8:80 10.0.0.110:80 2", "10.0.0.8:80 10.0.0.120:80 1", "10.0.0.9:80 10.0.0.110:80 1", "10.0.0.9:80 10.0.0.130:80 1"}
	if !slices.Equal(got, want) {
		t.Fatalf("targets %q, want %q", got, want)
	}
	ps := probes(refs, map[target]bool{}, time.Now())
	subs := 0
	for _, p := range ps {
		for _, sub := range p.subs {
			subs++
			in := false
			for i := range refs {
				in = in || &refs[i] == sub.tg
			}
			if !in {
				t.Errorf("a subscriber of %v points outside the table", p.addr())
			}
		}
	}
	if subs != 5 {
		t.Errorf("%d subscribers, want 5 (one per check of each real server)", subs)
	}
}
