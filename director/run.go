package director

import (
	"context"
	"errors"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// flipWindow is how long Run waits after a health change for others to
// join it in one batch.
const flipWindow = 5 * time.Millisecond

// Run applies c, then keeps the namespace matching it while health
// checks fail and recover, and applies each configuration received on
// reload, until ctx is done. With Options.Drain it also collects drained
// real servers. report, if not nil, is called from Run's goroutine.
//
// Its work is proportional to the change, not to the table: health changes
// arriving within a few milliseconds of each other are planned together,
// for the affected services only, against what the Director knows it
// applied, and sent as one batch, with no read of the kernel's table. A
// reload is planned against what the Director knows too, with no read of
// the whole table: only each service the new configuration declares and
// the Director does not know is asked of the kernel, so that one made by
// someone else is still seen (and taken over, as a full plan would). The
// table is read whole at start, every Options.Resync, when whatever
// differs (a change made by hand) is repaired and reported with
// Report.Resync set, and whenever the Director does not know what the
// kernel holds (after an IPVS change that failed). Each step has
// Options.CallTimeout (an apply, one more millisecond for each of its
// operations, so that a first apply of any size completes; a read of the
// whole table, two more for each service declared). The checks
// start once the first apply has been tried. What Run does and the health of the real servers it
// checks are counted in the Director's Status.
//
// With a vrrp section Run also runs its VRRP instances (see VRRP): they
// start after the first apply, hold their VIPs while master, and stop
// (priority 0 sent, VIPs removed) before Run returns.
func (d *Director) Run(ctx context.Context, c *Compiled, reload <-chan *Compiled, report func(Report)) error {
	loop := &runLoop{admin: make(chan adminRequest), stopped: make(chan struct{})}
	d.mu.Lock()
	if d.run != nil {
		d.mu.Unlock()
		return errors.New("director: Run is already running")
	}
	d.run = loop
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.run = nil
		d.mu.Unlock()
		close(loop.stopped)
	}()
	if err := d.useModel(c.m, true); err != nil {
		return err
	}
	r := &runner{
		d: d, ctx: ctx, m: c.m, tell: report,
		v:       verdicts{failed: map[target]bool{}, below: map[ipvs.Key]bool{}},
		hooks:   newHooks(d),
		changes: make(chan healthChange),
	}
	defer r.hooks.wait()
	// The table first, every real server in as configured (as keepalived
	// starts), then the checks: they do not compete with a large first
	// apply.
	r.judge(nil)
	r.apply(readTable, false)
	r.announce()
	r.startVRRP()
	defer r.stopVRRP()
	r.stopChecks = d.startChecks(ctx, r.m, r.v.failed, r.changes)
	defer func() {
		r.stopChecks()
		d.status.watch(nil, nil)
		d.status.quorum(nil)
	}()
	var collect, resync <-chan time.Time
	if d.opts.Drain > 0 {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		collect = t.C
	}
	var resyncTimer *time.Timer
	if next := d.opts.resyncAfter(r.lastRead); next > 0 {
		resyncTimer = time.NewTimer(next)
		defer resyncTimer.Stop()
		resync = resyncTimer.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case hc := <-r.changes:
			if !r.onHealth(hc) {
				return nil
			}
		case n, ok := <-reload:
			if !ok {
				reload = nil
				continue
			}
			r.onReload(n)
		case a := <-loop.admin:
			r.onAdmin(a)
		case <-r.vrrpReady():
			r.onVRRP()
		case err := <-r.hooks.errs:
			r.report(Report{Time: time.Now(), Err: err})
		case <-resync:
			// The period runs from one resync's start to the next's.
			start := time.Now()
			r.apply(readTable, true)
			r.announce()
			resyncTimer.Reset(max(0, d.opts.resyncAfter(r.lastRead)-time.Since(start)))
		case <-collect:
			r.onCollect()
		}
	}
}

// runner is the state of one Run: the model it keeps the namespace
// matching, the health verdicts, and whether an apply has succeeded. Its
// methods run on Run's goroutine, one per event.
type runner struct {
	d    *Director
	ctx  context.Context
	m    *model
	tell func(Report) // Run's report argument; nil: none
	v    verdicts
	// ready is set once an apply has succeeded: the prefixes may be
	// announced.
	ready      bool
	hooks      *hooks
	changes    chan healthChange
	stopChecks func()
	// vrrp runs the VRRP instances; nil when the model has none.
	vrrp *vrrpRunner
	// lastRead is how long the last read of the whole table and its plan
	// took (Options.Resync's adaptive period).
	lastRead time.Duration
}

// report counts a Report's error in the Status and passes it on.
func (r *runner) report(rep Report) {
	if rep.Err != nil {
		r.d.status.errored()
	}
	if r.tell != nil {
		r.tell(rep)
	}
}

// step is the context of one step of Run (Options.CallTimeout).
func (r *runner) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.d.opts.callTimeout())
}

// perOp is what an apply step's deadline grows by for each operation: a
// first apply of 25,000 operations gets 25 seconds more than a step.
const perOp = time.Millisecond

// applyStep is the context of applying p: Options.CallTimeout, and perOp
// for each of its operations, so that an apply of any size can complete.
func (r *runner) applyStep(p *Plan) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.d.opts.callTimeout()+time.Duration(p.Len())*perOp)
}

// perService is what the step of a read of the whole table grows by for
// each service the configuration declares: the kernel is asked for each
// one's real servers.
const perService = 2 * time.Millisecond

// readStep is the context of a read of the whole table and its plan:
// Options.CallTimeout, and perService for each service of the model, so
// that a resync of any size completes.
func (r *runner) readStep() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, r.d.opts.callTimeout()+time.Duration(len(r.m.services))*perService)
}

// judge updates the quorum of the services keyed in keys (all if nil),
// and reports and notifies each change.
func (r *runner) judge(keys map[ipvs.Key]bool) {
	r.v.disabled = r.d.disabledNow()
	for _, c := range r.m.judgeQuorum(keys, r.v) {
		r.report(Report{Time: time.Now(), Quorum: &c.e})
		r.hooks.quorum(c.s, c.e)
	}
	r.vrrp.services(r.m, r.v)
	r.v.disabled = nil
	r.d.status.quorum(r.v.below)
}

// announce makes the announced prefixes follow the model and the quorums.
func (r *runner) announce() {
	sctx, cancel := r.step()
	defer cancel()
	r.d.reportAnnounce(sctx, r.m, r.v.below, r.ready && r.announcing(), r.report)
}

// apply plans the whole model, reading the IPVS table as mode says, and
// applies the plan; resync says it is the periodic repair.
func (r *runner) apply(mode readMode, resync bool) error {
	step := r.step
	if mode == readTable {
		step = r.readStep
	}
	sctx, cancel := step()
	start := time.Now()
	p, err := r.d.planModel(sctx, r.planned(), r.v, mode)
	cancel()
	if mode == readTable {
		r.lastRead = time.Since(start)
	}
	if err == nil && p.Len() > 0 {
		actx, cancel := r.applyStep(p)
		err = r.d.Apply(actx, p)
		cancel()
	}
	r.ready = r.ready || err == nil
	if err != nil || (p != nil && p.Len() > 0) {
		r.report(Report{Time: time.Now(), Plan: p, Err: err, Resync: resync})
	}
	drift := 0
	if resync && p != nil {
		drift = p.Len()
	}
	r.d.status.resynced(mode == readTable && err == nil, drift)
	return err
}

// flip plans and applies the services keyed in services against what the
// Director knows, reading nothing (the whole model when it knows nothing
// yet).
func (r *runner) flip(services map[ipvs.Key]bool) error {
	p, ok := r.d.planFlip(r.m, r.v, services)
	if !ok { // nothing known of the kernel yet: read it
		return r.apply(readTable, false)
	}
	var err error
	if p.Len() > 0 {
		actx, cancel := r.applyStep(p)
		err = r.d.Apply(actx, p)
		cancel()
	}
	if err != nil || p.Len() > 0 {
		r.report(Report{Time: time.Now(), Plan: p, Err: err})
	}
	return err
}

// onHealth takes a health change and those arriving within flipWindow of
// it, then applies them together. False: Run's context ended meanwhile.
func (r *runner) onHealth(first healthChange) bool {
	affected := map[ipvs.Key]bool{}
	take := func(hc healthChange) {
		r.v.failed[hc.tg] = !hc.e.Healthy
		r.d.status.flipped(hc.tg, hc.e.Healthy)
		affected[hc.tg.svc] = true
		r.report(Report{Time: time.Now(), Health: &hc.e})
		r.hooks.realServer(r.m.service(hc.tg.svc), hc.e)
	}
	take(first)
	window := time.NewTimer(flipWindow)
	defer window.Stop()
gather:
	for {
		select {
		case hc := <-r.changes:
			take(hc)
		case <-window.C:
			break gather
		case <-r.ctx.Done():
			return false
		}
	}
	r.judge(affected)
	r.flip(affected)
	r.announce()
	return true
}

// onReload replaces the model with c's, keeping what the health checks
// found of the real servers both have, unless c changes what a cluster
// must not.
func (r *runner) onReload(c *Compiled) {
	if err := appendedOnly(r.m, c.m); err != nil {
		r.report(Report{Time: time.Now(), Err: err})
		return
	}
	r.stopChecks()
	r.m = c.m
	if err := r.d.useModel(r.m, true); err != nil {
		r.report(Report{Time: time.Now(), Err: err})
	}
	targets := r.m.targets()
	for tg := range r.v.failed {
		if _, ok := targets[tg]; !ok {
			delete(r.v.failed, tg)
		}
	}
	for k := range r.v.below {
		if s := r.m.service(k); s == nil || s.quorum == 0 {
			delete(r.v.below, k)
		}
	}
	r.syncVRRP()
	r.judge(nil)
	// The change first, then the checks (as at start): building the
	// probes of a big configuration takes a while, the weights need not
	// wait for it.
	r.apply(readKnown, false)
	r.stopChecks = r.d.startChecks(r.ctx, r.m, r.v.failed, r.changes)
	r.announce()
}

// onAdmin answers a request of another goroutine (see runLoop).
func (r *runner) onAdmin(a adminRequest) {
	switch {
	case a.ping:
		a.done <- nil
	case a.announce:
		r.d.mu.Lock()
		out := r.d.withdrawn
		r.d.mu.Unlock()
		r.vrrp.withdraw(out)
		sctx, cancel := r.step()
		ann, wd, err := r.d.announce(sctx, r.m, r.v.below, r.ready && r.announcing())
		cancel()
		if len(ann)+len(wd) > 0 || err != nil {
			r.report(Report{Time: time.Now(), Announced: ann, Withdrawn: wd, Err: err})
		}
		a.done <- err
	default:
		svc := map[ipvs.Key]bool{a.svc: true}
		r.judge(svc)
		a.done <- r.flip(svc)
		r.announce()
	}
}

// onCollect deletes the drained real servers that are due.
func (r *runner) onCollect() {
	sctx, cancel := r.step()
	n, err := r.d.Collect(sctx)
	cancel()
	if n > 0 || err != nil {
		r.report(Report{Time: time.Now(), Collected: n, Err: err})
	}
}
