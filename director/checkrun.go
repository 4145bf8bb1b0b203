package director

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// healthChange is a health change of one target.
type healthChange struct {
	tg target
	e  Event
}

// probe is one check of one address on a schedule: the real servers of
// every service that checks the same address the same way share it (one
// probe, each keeping its own run of results). It is 64 bytes, and its
// subscribers 32 each: the address and the real servers' keys are the
// model's, which the table of targets the subscribers point into refers
// to.
type probe struct {
	cc   *compiledCheck
	subs []subscriber // at least one; all of the same address
	due  time.Time    // when it runs next
	idx  int          // its place in the schedule's heap
}

// addr is the address p checks, its subscribers'.
func (p *probe) addr() netip.AddrPort { return p.subs[0].tg.addr() }

// subscriber is one check of one target fed by a probe: a target with
// several checks has a subscriber on each of their probes, sharing its
// state.
type subscriber struct {
	tg *targetRef // in the table of targets, which Status shares
	tl tally
	// cc is the target's own check (the probe's may be another
	// service's identical one), naming it in the target's errors; st
	// is the target's state, shared by its subscribers (nil: the
	// target's only check).
	cc *compiledCheck
	st *targetState
}

// targetState is a target's health as its checks make it: failed while
// any of them has failed (keepalived's num_failed_checkers).
type targetState struct {
	checks  int // how many
	failing int // how many have failed
}

// verdict applies a flip of sub's run of results to its target: whether
// the target's health changed, and the event's error.
func (sub *subscriber) verdict(err error) (changed bool, e error) {
	st := sub.st
	if st == nil {
		return true, err
	}
	if sub.tl.failed {
		st.failing++
		return st.failing == 1, named(sub.cc, st.checks, err)
	}
	st.failing--
	return st.failing == 0, nil
}

// probeResult is what a worker reports of a probe it ran.
type probeResult struct {
	p   *probe
	err error
}

// schedule orders the probes by when they are due.
type schedule []*probe

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].due.Before(s[j].due) }
func (s schedule) Swap(i, j int)      { s[i], s[j] = s[j], s[i]; s[i].idx, s[j].idx = i, j }
func (s *schedule) Push(x any)        { p := x.(*probe); p.idx = len(*s); *s = append(*s, p) }
func (s *schedule) Pop() any {
	old := *s
	p := old[len(old)-1]
	*s = old[:len(old)-1]
	return p
}

// probes groups the checks of the targets refs (checkTargets') into
// probes: one per address and identical check (the check's settings as
// its file would say them), whichever services and real servers' lists
// it is in. The subscribers point into refs. A target failed as failed
// says starts with each of its checks failed: it is healthy again once
// every one has passed Rise times.
func probes(refs []targetRef, failed map[target]bool, now time.Time) []*probe {
	keys := map[*compiledCheck]string{}
	type id struct {
		check string
		addr  netip.AddrPort
	}
	byID := map[id]*probe{}
	var out []*probe
	for i := range refs {
		r, l := &refs[i], refs[i].checks()
		tg := r.target()
		var st *targetState // only where it has several checks
		if len(l) > 1 {
			st = &targetState{checks: len(l)}
			if failed[tg] {
				st.failing = len(l)
			}
		}
		for _, cc := range l {
			k, ok := keys[cc]
			if !ok {
				b, err := json.Marshal(cc.check)
				if err != nil { // not shared with any other check
					b = fmt.Appendf(nil, "%s %p", tg.svc, cc)
				}
				k = string(b)
				keys[cc] = k
			}
			pid := id{k, tg.addr}
			p := byID[pid]
			if p == nil {
				p = &probe{cc: cc, due: now}
				if j := cc.check.Jitter; j > 0 {
					p.due = now.Add(rand.N(j))
				}
				byID[pid] = p
				out = append(out, p)
			}
			p.subs = append(p.subs, subscriber{tg: r, tl: tally{failed: failed[tg]}, cc: cc, st: st})
		}
	}
	return out
}

// startChecks runs the configuration's health checks and sends each health
// change on changes. One scheduler keeps every probe in order of when it
// is due and hands the due ones to at most Options.MaxChecks workers: no
// goroutine or timer per real server, and a real server checked the same
// way by several services is probed once. Each target starts from the
// state failed has for it (the one Run acts on), so that a real server
// failed before a reload is reported when it recovers; the checked real
// servers are what Status reports. A probe that waits for a worker longer
// than its interval is overdue (Status.OverdueChecks). The returned func
// stops the checks and waits for them to end.
func (d *Director) startChecks(ctx context.Context, m *model, failed map[target]bool, changes chan<- healthChange) func() {
	ctx, cancel := context.WithCancel(ctx)
	workers := d.opts.MaxChecks
	if workers <= 0 {
		workers = 32
	}
	refs := m.checkTargets()
	d.status.watch(refs, failed)
	return d.runProbes(ctx, cancel, probes(refs, failed, time.Now()), workers, changes)
}

// runProbes runs the probes ps on workers workers until ctx ends, sending
// each health change on changes; cancel ends ctx. The returned func stops
// them and waits for them to end.
func (d *Director) runProbes(ctx context.Context, cancel context.CancelFunc, ps []*probe, workers int, changes chan<- healthChange) func() {
	if len(ps) == 0 {
		return cancel
	}
	workers = min(workers, len(ps))
	work := make(chan *probe)
	results := make(chan probeResult)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				err := p.cc.run(ctx, d, p.addr())
				select {
				case results <- probeResult{p, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		d.schedule(ctx, ps, workers, work, results, changes)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// schedule is the scheduler's loop: it dispatches the due probes to the
// idle workers, takes their results, and reschedules them.
func (d *Director) schedule(ctx context.Context, ps []*probe, workers int, work chan<- *probe, results <-chan probeResult, changes chan<- healthChange) {
	s := make(schedule, 0, len(ps))
	for _, p := range ps {
		heap.Push(&s, p)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	idle := workers
	for {
		now := time.Now()
		for idle > 0 && len(s) > 0 && !s[0].due.After(now) {
			p := heap.Pop(&s).(*probe)
			if now.Sub(p.due) > p.cc.check.Interval {
				d.status.overdue()
			}
			select {
			case work <- p:
				idle--
			case <-ctx.Done():
				return
			}
		}
		var wake <-chan time.Time
		if idle > 0 && len(s) > 0 {
			timer.Reset(time.Until(s[0].due)) // no stale tick since Go 1.23
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case r := <-results:
			idle++
			if ctx.Err() != nil {
				return
			}
			for i := range r.p.subs {
				sub := &r.p.subs[i]
				if !sub.tl.add(r.err == nil, r.p.cc.check) {
					continue
				}
				changed, err := sub.verdict(r.err)
				if !changed {
					continue
				}
				tg := sub.tg.target()
				e := Event{Service: tg.svc.String(), RealServer: tg.addr, Healthy: !sub.tl.failed, Err: err}
				select {
				case changes <- healthChange{tg, e}:
				case <-ctx.Done():
					return
				}
			}
			r.p.due = r.p.next(r.err == nil, time.Now())
			heap.Push(&s, r.p)
		}
	}
}

// next is when p runs again after a run that was due at p.due, ended at
// now, and passed if ok: RetryDelay from now after a failure that one of
// its real servers counts toward Fall (healthy, failures in a row fewer
// than Fall), as keepalived's delay_before_retry; otherwise as a ticker,
// an interval after this run was due (at once if that has passed: a
// probe slower than its interval).
func (p *probe) next(ok bool, now time.Time) time.Time {
	if d := p.cc.check.RetryDelay; !ok && d > 0 && slices.ContainsFunc(p.subs, counting) {
		return now.Add(d)
	}
	due := p.due.Add(p.cc.check.Interval)
	if due.Before(now) {
		due = now
	}
	return due
}

// counting says the subscriber is healthy with a run of failures that has
// not reached Fall yet (tally.add resets it when it does).
func counting(sub subscriber) bool { return !sub.tl.failed && sub.tl.run > 0 }
