package director

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/lvs-go/lvs/director/vrrp"
)

// vrrpRetry is how long Run waits before it opens again the sockets of
// instances that could not start, or whose receiving failed.
const vrrpRetry = time.Second

// vrrpQueue carries the instances' events to Run's loop: never blocking
// an instance (its Events hook must not), never dropping a state change.
type vrrpQueue struct {
	mu    sync.Mutex
	q     []vrrpMsg
	ready chan struct{}
}

// vrrpMsg is an instance's event, with the instance.
type vrrpMsg struct {
	e  vrrp.Event
	rm *vrrpRunning
}

func newVRRPQueue() *vrrpQueue { return &vrrpQueue{ready: make(chan struct{}, 1)} }

func (q *vrrpQueue) push(e vrrpMsg) {
	q.mu.Lock()
	q.q = append(q.q, e)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *vrrpQueue) take() []vrrpMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.q
	q.q = nil
	return out
}

// vrrpRunner runs a Run's VRRP instances: each sync group, or instance
// of none, is a unit, started together and restarted together.
type vrrpRunner struct {
	d     *Director
	ctx   context.Context // Run's
	q     *vrrpQueue
	sides VRRPSides

	mu    sync.Mutex // units and their members, which Status reads
	units []*vrrpUnit
	// groups are the sync groups' states, as their members' (Run's
	// goroutine only).
	groups map[string]vrrp.State
	// withdrawn is the Director's Withdraw, which puts every instance in
	// FAULT (Run's goroutine only).
	withdrawn bool
}

// vrrpUnit is a sync group, or an instance of none.
type vrrpUnit struct {
	group   string // empty: a lone instance
	key     string
	members []*vrrpRunning
	ctx     context.Context // the unit's, which its trackers run in
	cancel  context.CancelFunc
	done    chan struct{}
}

// vrrpRunning is one instance of a unit, across its restarts.
type vrrpRunning struct {
	unit  *vrrpUnit
	mu    sync.Mutex
	m     *vrrpInstance
	in    *vrrp.Instance // the current run's; nil before the first
	tr    *tracker
	state vrrp.State // as the last event said
	since time.Time
	err   error // why the unit is not running, if so
}

func (rm *vrrpRunning) model() *vrrpInstance {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.m
}

func newVRRPRunner(d *Director, ctx context.Context) (*vrrpRunner, error) {
	sides := d.opts.VRRP
	if sides == nil {
		var err error
		if sides, err = defaultVRRP(d.netns); err != nil {
			return nil, err
		}
	}
	v := &vrrpRunner{d: d, ctx: ctx, q: newVRRPQueue(), sides: sides, groups: map[string]vrrp.State{}}
	d.status.vrrpFrom(v.status)
	return v, nil
}

// sync makes the running units m's: a unit whose instances are the same
// (the same key) keeps running, with m's track and notify; the others are
// stopped, and m's new ones started. A nil m stops every unit.
func (v *vrrpRunner) sync(m *vrrpModel) {
	type want struct {
		group   string
		members []*vrrpInstance
		key     string
	}
	var wants []want
	if m != nil {
		seen := map[string]bool{}
		for _, in := range m.instances {
			if in.group == "" {
				wants = append(wants, want{members: []*vrrpInstance{in}, key: in.key})
				continue
			}
			if seen[in.group] {
				continue
			}
			seen[in.group] = true
			w := want{group: in.group, key: in.key}
			for _, g := range m.groups {
				if g.Name == in.group {
					for _, name := range g.Instances {
						w.members = append(w.members, m.instance(name))
					}
				}
			}
			wants = append(wants, w)
		}
	}
	v.mu.Lock()
	old := v.units
	v.mu.Unlock()
	// The units to stop first (their VRIDs and VIPs may be the new
	// ones'), then the others in the configuration's order.
	kept := map[int]*vrrpUnit{}
	for _, u := range old {
		i := slices.IndexFunc(wants, func(w want) bool { return w.group == u.group && w.key == u.key })
		if i < 0 || kept[i] != nil {
			v.stopUnit(u)
			continue
		}
		kept[i] = u
	}
	var next, started []*vrrpUnit
	for i, w := range wants {
		if u := kept[i]; u != nil {
			for j, rm := range u.members {
				rm.retrack(v.d, u.ctx, w.members[j], v.withdrawn)
			}
			next = append(next, u)
			continue
		}
		u := &vrrpUnit{group: w.group, key: w.key, done: make(chan struct{})}
		for _, in := range w.members {
			u.members = append(u.members, &vrrpRunning{unit: u, m: in, since: time.Now()})
		}
		next = append(next, u)
		started = append(started, u)
	}
	v.mu.Lock()
	v.units = next
	v.mu.Unlock()
	for _, u := range started {
		u.ctx, u.cancel = context.WithCancel(v.ctx)
		for _, rm := range u.members {
			rm.retrack(v.d, u.ctx, nil, v.withdrawn)
		}
		go v.runUnit(u.ctx, u)
	}
	for g := range v.groups {
		if m == nil || !slices.ContainsFunc(m.groups, func(x VRRPSyncGroup) bool { return x.Name == g }) {
			delete(v.groups, g)
		}
	}
}

// stop stops every unit and waits for them: each master sends priority 0
// and removes its VIPs.
func (v *vrrpRunner) stop() { v.sync(nil) }

func (v *vrrpRunner) stopUnit(u *vrrpUnit) {
	u.cancel()
	<-u.done
}

// runUnit runs u's instances until ctx is done, opening them again
// (after vrrpRetry) when they could not start or their receiving failed.
func (v *vrrpRunner) runUnit(ctx context.Context, u *vrrpUnit) {
	defer close(u.done)
	defer func() {
		for _, rm := range u.members {
			rm.mu.Lock()
			tr := rm.tr
			rm.mu.Unlock()
			tr.stop()
		}
	}()
	last := ""
	for {
		ran, err := v.runOnce(ctx, u)
		if ctx.Err() != nil {
			return
		}
		for _, rm := range u.members {
			rm.mu.Lock()
			rm.err = err
			rm.mu.Unlock()
		}
		// An error opening the sockets is reported once, not on every
		// try (Status shows it meanwhile).
		if ran {
			last = ""
		}
		if err.Error() != last {
			last = err.Error()
			v.q.push(vrrpMsg{vrrp.Event{Instance: u.members[0].model().cfg.Name, Time: time.Now(), Err: err}, u.members[0]})
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(vrrpRetry):
		}
	}
}

// runOnce opens u's instances and runs them until ctx is done or one's
// receiving fails; ran says they were opened.
func (v *vrrpRunner) runOnce(ctx context.Context, u *vrrpUnit) (ran bool, err error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var ins []*vrrp.Instance
	for _, rm := range u.members {
		cfg := rm.model().cfg
		events := func(e vrrp.Event) { v.q.push(vrrpMsg{e, rm}) }
		conn, err := v.sides.Listen(&cfg)
		if err != nil {
			return false, fmt.Errorf("director: vrrp: %s: %w", cfg.Name, err)
		}
		closers = append(closers, conn)
		var ann vrrp.Announcer
		if !cfg.GARP.Off {
			if ann, err = v.sides.Announcer(cfg.Interface, cfg.Is6()); err != nil {
				return false, fmt.Errorf("director: vrrp: %s: %w", cfg.Name, err)
			}
			if c, ok := ann.(io.Closer); ok {
				closers = append(closers, c)
			}
		}
		in, err := vrrp.New(cfg, vrrp.Options{Conn: conn, Addrs: v.d.links, Announcer: ann, Events: events})
		if err != nil {
			return false, fmt.Errorf("director: %w", err)
		}
		ins = append(ins, in)
	}
	// VIPs left by a director killed while master go: the instances
	// start as backups (the address owner's are its own addresses).
	for _, rm := range u.members {
		cfg := rm.model().cfg
		if cfg.Priority == vrrp.PriorityOwner {
			continue
		}
		for _, a := range cfg.VIPs {
			iface := a.Interface
			if iface == "" {
				iface = cfg.Interface
			}
			cctx, cancel := context.WithTimeout(ctx, v.d.opts.callTimeout())
			err := v.d.links.DelAddr(cctx, iface, a.Prefix)
			cancel()
			if err != nil {
				return false, fmt.Errorf("director: vrrp: %s: removing %v: %w", cfg.Name, a.Prefix, err)
			}
		}
	}
	if len(ins) > 1 {
		if _, err := vrrp.NewGroup(u.group, ins...); err != nil {
			return false, fmt.Errorf("director: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(ins))
	for i, in := range ins {
		u.members[i].attach(in)
		go func() { errs <- in.Run(ctx) }()
	}
	var first error
	for range ins {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel() // the others stop with it
		}
	}
	for _, rm := range u.members {
		rm.attach(nil)
	}
	if first == nil && ctx.Err() == nil {
		first = errors.New("director: vrrp: instance stopped")
	}
	return true, first
}

// running returns the instance named name, if it runs.
func (v *vrrpRunner) running(name string) *vrrpRunning {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, u := range v.units {
		for _, rm := range u.members {
			if rm.model().cfg.Name == name {
				return rm
			}
		}
	}
	return nil
}

// isMaster reports whether the named instance is master, as its last
// event said.
func (v *vrrpRunner) isMaster(name string) bool {
	if v == nil {
		return false
	}
	rm := v.running(name)
	if rm == nil {
		return false
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.state == vrrp.Master
}

// services tells each instance's tracker the state of the services it
// tracks: down while below its quorum or without a real server in
// service.
func (v *vrrpRunner) services(m *model, vd verdicts) {
	if v == nil {
		return
	}
	v.mu.Lock()
	units := slices.Clone(v.units)
	v.mu.Unlock()
	for _, u := range units {
		for _, rm := range u.members {
			rm.mu.Lock()
			in, tr := rm.m, rm.tr
			rm.mu.Unlock()
			for _, ts := range in.services {
				down := false
				for _, k := range ts.keys {
					s := m.service(k)
					down = down || s == nil || vd.below[k] || s.inService(vd.failed, vd.disabled) == 0
				}
				tr.set("service "+ts.name, down)
			}
		}
	}
}

// status is Status.VRRP.
func (v *vrrpRunner) status() []VRRPInstanceStatus {
	v.mu.Lock()
	units := slices.Clone(v.units)
	v.mu.Unlock()
	var out []VRRPInstanceStatus
	for _, u := range units {
		for _, rm := range u.members {
			rm.mu.Lock()
			m, in, tr := rm.m, rm.in, rm.tr
			st := VRRPInstanceStatus{Name: m.cfg.Name, Group: m.group, Interface: m.cfg.Interface, VRID: m.cfg.VRID,
				State: rm.state, Since: rm.since, Priority: m.cfg.Priority, Err: rm.err}
			rm.mu.Unlock()
			if in != nil {
				st.Stats = in.Stats()
				st.State = st.Stats.State
			}
			st.EffectivePriority, st.Failing = tr.report()
			if st.Stats.Priority != 0 {
				st.EffectivePriority = st.Stats.Priority
			}
			out = append(out, st)
		}
	}
	return out
}

// withdraw puts every instance in FAULT while the Director is withdrawn
// (on), or takes them out.
func (v *vrrpRunner) withdraw(on bool) {
	if v == nil || v.withdrawn == on {
		return
	}
	v.withdrawn = on
	v.mu.Lock()
	units := slices.Clone(v.units)
	v.mu.Unlock()
	for _, u := range units {
		for _, rm := range u.members {
			rm.mu.Lock()
			tr := rm.tr
			rm.mu.Unlock()
			tr.set("withdrawn", on)
		}
	}
}

// startVRRP starts the model's VRRP instances, if it has any.
func (r *runner) startVRRP() {
	if r.m.vrrp == nil {
		return
	}
	v, err := newVRRPRunner(r.d, r.ctx)
	if err != nil {
		r.report(Report{Time: time.Now(), VRRP: &VRRPEvent{Err: err}, Err: err})
		return
	}
	r.vrrp = v
	r.d.mu.Lock()
	v.withdrawn = r.d.withdrawn
	r.d.mu.Unlock()
	v.sync(r.m.vrrp)
	r.judge(nil)
}

// syncVRRP makes the running VRRP instances the model's (after a reload).
func (r *runner) syncVRRP() {
	if r.vrrp == nil {
		r.startVRRP()
		return
	}
	r.vrrp.sync(r.m.vrrp)
}

// stopVRRP stops the instances (each master sends priority 0 and removes
// its VIPs) and takes their last events.
func (r *runner) stopVRRP() {
	if r.vrrp == nil {
		return
	}
	r.vrrp.stop()
	r.onVRRP()
	r.d.status.vrrpFrom(nil)
}

// vrrpReady is where the instances' events wait (nil: no instances).
func (r *runner) vrrpReady() <-chan struct{} {
	if r.vrrp == nil {
		return nil
	}
	return r.vrrp.q.ready
}

// onVRRP takes the instances' events: each reported, its notify commands
// run, its sync group's state followed; the sync daemons and the
// announcements follow the instances that gate them.
func (r *runner) onVRRP() {
	for _, msg := range r.vrrp.q.take() {
		r.vrrpEvent(msg.e, msg.rm)
	}
}

func (r *runner) vrrpEvent(e vrrp.Event, rm *vrrpRunning) {
	in := rm.model()
	if e.Err != nil {
		r.report(Report{Time: e.Time, VRRP: &VRRPEvent{Instance: e.Instance, Group: in.group, Err: e.Err}, Err: e.Err})
		return
	}
	rm.mu.Lock()
	rm.state, rm.since = e.To, e.Time
	rm.mu.Unlock()
	r.report(Report{Time: e.Time, VRRP: &VRRPEvent{Instance: e.Instance, Group: in.group, From: e.From, To: e.To, Priority: e.Priority}})
	r.hooks.vrrp(in.notify, "INSTANCE", e.Instance, e.To, e.Priority)
	if in.group != "" {
		r.groupFollows(rm.unit, e.Time)
	}
	if r.ctx.Err() != nil {
		return // Run is ending: the daemons and announcements stay
	}
	m := r.m.vrrp
	if m == nil {
		return
	}
	if sd := m.syncDaemon; sd != nil && !sd.both && sd.instance == e.Instance && (e.From == vrrp.Master) != (e.To == vrrp.Master) {
		r.apply(readKnown, false)
	}
	if m.announceWith == e.Instance {
		r.announce()
	}
}

// groupFollows reports and notifies a sync group's change once all its
// instances are in one state.
func (r *runner) groupFollows(u *vrrpUnit, t time.Time) {
	var to vrrp.State
	for i, rm := range u.members {
		rm.mu.Lock()
		s := rm.state
		rm.mu.Unlock()
		if i > 0 && s != to {
			return
		}
		to = s
	}
	from, ok := r.vrrp.groups[u.group]
	if ok && from == to {
		return
	}
	r.vrrp.groups[u.group] = to
	r.report(Report{Time: t, VRRP: &VRRPEvent{Group: u.group, From: from, To: to}})
	if m := r.m.vrrp; m != nil {
		for _, g := range m.groups {
			if g.Name == u.group {
				r.hooks.vrrp(g.Notify, "GROUP", g.Name, to, 0)
			}
		}
	}
}

// announcing reports whether the announcements may be made: always
// without vrrp.announceWith, else while its instance is master.
func (r *runner) announcing() bool {
	m := r.m.vrrp
	return m == nil || m.announceWith == "" || r.vrrp.isMaster(m.announceWith)
}

// planned is the model Run plans: with vrrp.syncDaemon, its daemons are
// those of the followed instance's state.
func (r *runner) planned() *model {
	m := r.m
	if m.vrrp == nil || m.vrrp.syncDaemon == nil {
		return m
	}
	sd := m.vrrp.syncDaemon
	out := *m
	out.daemons = sd.wanted(r.vrrp.isMaster(sd.instance))
	return &out
}
