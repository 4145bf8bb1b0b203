package director

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os/exec"
	"sync"
	"time"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/ipvs"
)

// flipWindow is how long Run waits after a health change for others to
// join it in one batch.
const flipWindow = 5 * time.Millisecond

// Run applies cfg, then keeps the namespace matching it while health
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
// Options.CallTimeout. What Run does and the health of the real servers it
// checks are counted in the Director's Status.
func (d *Director) Run(ctx context.Context, cfg *Config, reload <-chan *Config, report func(Report)) error {
	m, err := compile(cfg)
	if err != nil {
		return err
	}
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
	if err := d.useModel(m, true); err != nil {
		return err
	}
	tell := report
	report = func(r Report) {
		if r.Err != nil {
			d.status.errored()
		}
		if tell != nil {
			tell(r)
		}
	}
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, d.opts.callTimeout()) }
	v := verdicts{failed: map[target]bool{}, below: map[ipvs.Key]bool{}}
	failed := v.failed
	hk := newHooks(d)
	defer hk.wait()
	// judge updates the quorum of the services keyed in keys (all if nil),
	// and reports and notifies each change.
	judge := func(keys map[ipvs.Key]bool) {
		v.disabled = d.disabledNow()
		for _, c := range m.judgeQuorum(keys, v) {
			report(Report{Time: time.Now(), Quorum: &c.e})
			hk.quorum(c.s, c.e)
		}
		v.disabled = nil
		d.status.quorum(v.below)
	}
	ready := false // an apply has succeeded: the prefixes may be announced
	announce := func() {
		sctx, cancel := step()
		defer cancel()
		d.reportAnnounce(sctx, m, v.below, ready, report)
	}
	apply := func(mode readMode, resync bool) error {
		sctx, cancel := step()
		defer cancel()
		p, err := d.planModel(sctx, m, v, mode)
		if err == nil && p.Len() > 0 {
			err = d.Apply(sctx, p)
		}
		ready = ready || err == nil
		if err != nil || (p != nil && p.Len() > 0) {
			report(Report{Time: time.Now(), Plan: p, Err: err, Resync: resync})
		}
		drift := 0
		if resync && p != nil {
			drift = p.Len()
		}
		d.status.resynced(mode == readTable && err == nil, drift)
		return err
	}
	flip := func(services map[ipvs.Key]bool) error {
		sctx, cancel := step()
		defer cancel()
		p, ok := d.planFlip(m, v, services)
		if !ok { // nothing known of the kernel yet: read it
			cancel()
			return apply(readTable, false)
		}
		var err error
		if p.Len() > 0 {
			err = d.Apply(sctx, p)
		}
		if err != nil || p.Len() > 0 {
			report(Report{Time: time.Now(), Plan: p, Err: err})
		}
		return err
	}
	changes := make(chan change)
	stop := d.startChecks(ctx, m, failed, changes)
	defer func() {
		stop()
		d.status.watch(nil, nil)
		d.status.quorum(nil)
	}()
	judge(nil)
	apply(readTable, false)
	announce()
	var collect, resync <-chan time.Time
	if d.opts.Drain > 0 {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		collect = t.C
	}
	if r := d.opts.resync(); r > 0 {
		t := time.NewTicker(r)
		defer t.Stop()
		resync = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			affected := map[ipvs.Key]bool{}
			take := func(c change) {
				failed[c.tg] = !c.e.Healthy
				d.status.flipped(c.tg, c.e.Healthy)
				affected[c.tg.svc] = true
				report(Report{Time: time.Now(), Health: &c.e})
				hk.realServer(m.service(c.tg.svc), c.e)
			}
			take(c)
			window := time.NewTimer(flipWindow)
		gather:
			for {
				select {
				case c := <-changes:
					take(c)
				case <-window.C:
					break gather
				case <-ctx.Done():
					window.Stop()
					return nil
				}
			}
			judge(affected)
			flip(affected)
			announce()
		case n, ok := <-reload:
			if !ok {
				reload = nil
				continue
			}
			nm, err := compile(n)
			if err == nil {
				err = appendedOnly(m, nm)
			}
			if err != nil {
				report(Report{Time: time.Now(), Err: err})
				continue
			}
			stop()
			m = nm
			if err := d.useModel(m, true); err != nil {
				report(Report{Time: time.Now(), Err: err})
			}
			targets := m.targets()
			for tg := range failed {
				if _, ok := targets[tg]; !ok {
					delete(failed, tg)
				}
			}
			for k := range v.below {
				if s := m.service(k); s == nil || s.quorum == 0 {
					delete(v.below, k)
				}
			}
			judge(nil)
			stop = d.startChecks(ctx, m, failed, changes)
			apply(readKnown, false)
			announce()
		case r := <-loop.admin:
			switch {
			case r.ping:
				r.done <- nil
				continue
			case r.announce:
				sctx, cancel := step()
				a, w, err := d.announce(sctx, m, v.below, ready)
				cancel()
				if len(a)+len(w) > 0 || err != nil {
					report(Report{Time: time.Now(), Announced: a, Withdrawn: w, Err: err})
				}
				r.done <- err
				continue
			}
			svc := map[ipvs.Key]bool{r.svc: true}
			judge(svc)
			r.done <- flip(svc)
			announce()
		case err := <-hk.errs:
			report(Report{Time: time.Now(), Err: err})
		case <-resync:
			apply(readTable, true)
			announce()
		case <-collect:
			sctx, cancel := step()
			n, err := d.Collect(sctx)
			cancel()
			if n > 0 || err != nil {
				report(Report{Time: time.Now(), Collected: n, Err: err})
			}
		}
	}
}

// change is a health change of one target.
type change struct {
	tg target
	e  Event
}

// startChecks runs the configuration's health checks, each real server in
// a goroutine of its own, at most Options.MaxChecks probing at once, and
// sends each health change on changes. Each check starts from the state
// failed has for its real server (the one Run acts on), so that a real
// server failed before a reload is reported when it recovers; the checked
// real servers are what Status reports. The returned func stops them and
// waits for them to end.
func (d *Director) startChecks(ctx context.Context, m *model, failed map[target]bool, changes chan<- change) func() {
	ctx, cancel := context.WithCancel(ctx)
	max := d.opts.MaxChecks
	if max <= 0 {
		max = 32
	}
	sem := make(chan struct{}, max)
	var wg sync.WaitGroup
	targets := m.targets()
	d.status.watch(targets, failed)
	for tg, cc := range targets {
		wasFailed := failed[tg]
		wg.Add(1)
		go func() {
			defer wg.Done()
			tl := tally{failed: wasFailed}
			if j := cc.check.Jitter; j > 0 {
				wait := time.NewTimer(rand.N(j))
				select {
				case <-ctx.Done():
					wait.Stop()
					return
				case <-wait.C:
				}
			}
			tick := time.NewTicker(cc.check.Interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case sem <- struct{}{}:
				}
				err := cc.run(ctx, d, tg.addr)
				<-sem
				if ctx.Err() != nil {
					return
				}
				if tl.add(err == nil, cc.check) {
					e := Event{Service: tg.svc.String(), RealServer: tg.addr, Healthy: !tl.failed, Err: err}
					select {
					case changes <- change{tg, e}:
					case <-ctx.Done():
						return
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// The Director is its health checks' probeEnv.
var _ probeEnv = (*Director)(nil)

// dial opens a connection from the director's namespace.
func (d *Director) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netnsx.Do(d.netns, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// listenPacket opens a packet socket (raw ones too) in the director's
// namespace.
func (d *Director) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := netnsx.Do(d.netns, func() error {
		var err error
		c, err = (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
		return err
	})
	return c, err
}

// start starts cmd from a thread inside the director's namespace, so the
// process is in it.
func (d *Director) start(cmd *exec.Cmd) error { return netnsx.Do(d.netns, cmd.Start) }
