package director

import (
	"context"
	"sync"
	"time"

	"github.com/lvs-go/lvs/director/vrrp"
)

// tracker keeps an instance's fault and priority as what it tracks says
// (VRRPTrack): its own interface (weight 0, as keepalived tracks an
// instance's interface), the tracked interfaces, polled; the tracked
// services, as Run's verdicts say; the tracked checks, each run on its own
// schedule with its rise and fall; and "withdrawn" (weight 0) while the
// Director is withdrawn (Director.Withdraw).
type tracker struct {
	base uint8

	mu    sync.Mutex
	items []trackItem
	in    *vrrp.Instance // nil while no instance runs
	// fault and prio are what in was told.
	fault bool
	prio  uint8

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// trackItem is one tracked thing: "interface eth0", "service web",
// "check ping".
type trackItem struct {
	name    string
	weight  int
	failing bool
}

// retrack replaces rm's tracker with one for m (nil: rm's own model)
// running in ctx, carrying over what the old one knew of the items both
// have, its instance and what it told it. rm.mu is held throughout, so
// that the unit's attach goes to the old tracker before or to the new one
// after.
func (rm *vrrpRunning) retrack(d *Director, ctx context.Context, m *vrrpInstance, withdrawn bool) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if m != nil {
		rm.m = m
	}
	m = rm.m
	old := rm.tr
	old.stop()
	t := &tracker{base: m.cfg.Priority, prio: m.cfg.Priority}
	add := func(name string, weight int) { t.items = append(t.items, trackItem{name: name, weight: weight}) }
	add("interface "+m.cfg.Interface, 0)
	t.items = append(t.items, trackItem{name: "withdrawn", failing: withdrawn})
	for _, it := range m.ifaces {
		add("interface "+it.Name, it.Weight)
	}
	for _, s := range m.services {
		add("service "+s.name, s.weight)
	}
	for _, c := range m.checks {
		add("check "+c.name, c.weight)
	}
	if old != nil {
		old.mu.Lock()
		for i, it := range t.items {
			for _, o := range old.items {
				if o.name == it.name {
					t.items[i].failing = o.failing
				}
			}
		}
		t.in, t.fault, t.prio = old.in, old.fault, old.prio
		old.mu.Unlock()
	}
	t.start(d, ctx, m)
	rm.tr = t
}

// attach makes in the instance rm's tracker tells (nil: none runs); in
// stays rm's for its Stats.
func (rm *vrrpRunning) attach(in *vrrp.Instance) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if in != nil {
		rm.in, rm.err = in, nil
	}
	rm.tr.attach(in)
}

// start polls the interfaces once, then keeps polling them and running
// the checks until ctx is done or stop.
func (t *tracker) start(d *Director, ctx context.Context, m *vrrpInstance) {
	ctx, t.cancel = context.WithCancel(ctx)
	ifaces := []string{m.cfg.Interface}
	for _, it := range m.ifaces {
		ifaces = append(ifaces, it.Name)
	}
	poll := func() {
		for _, name := range ifaces {
			cctx, cancel := context.WithTimeout(ctx, d.opts.callTimeout())
			l, err := d.links.Link(cctx, name)
			cancel()
			if ctx.Err() != nil {
				return
			}
			t.set("interface "+name, err != nil || !l.Up)
		}
	}
	poll()
	every := min(max(m.cfg.Interval, 100*time.Millisecond), time.Second)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				poll()
			}
		}
	}()
	for _, c := range m.checks {
		name := "check " + c.name
		t.mu.Lock()
		tl := tally{failed: t.failing(name)}
		t.mu.Unlock()
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for {
				err := c.cc.run(ctx, d, c.addr)
				if ctx.Err() != nil {
					return
				}
				if tl.add(err == nil, c.cc.check) {
					t.set(name, tl.failed)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(c.cc.check.Interval):
				}
			}
		}()
	}
}

// stop ends the polling and the checks; a nil tracker is stopped.
func (t *tracker) stop() {
	if t == nil {
		return
	}
	t.cancel()
	t.wg.Wait()
}

// failing reports whether the item named name fails; t.mu is held.
func (t *tracker) failing(name string) bool {
	for _, it := range t.items {
		if it.name == name && it.failing {
			return true
		}
	}
	return false
}

// set records the items named name failing or not, and tells the
// instance what changes.
func (t *tracker) set(name string, failing bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.items {
		if t.items[i].name == name {
			t.items[i].failing = failing
		}
	}
	t.tell()
}

// attach makes in the instance told (nil: none runs); a new instance
// starts with its configured priority and no fault.
func (t *tracker) attach(in *vrrp.Instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.in, t.fault, t.prio = in, false, t.base
	t.tell()
}

// want is the fault and priority the items make: a failing item of weight
// 0 is a fault; a negative weight counts while its item fails, a positive
// one while it does not, within 1-254 (the address owner stays at 255:
// its items have weight 0). t.mu is held.
func (t *tracker) want() (fault bool, prio uint8) {
	p := int(t.base)
	for _, it := range t.items {
		switch {
		case it.weight == 0 && it.failing:
			fault = true
		case it.weight < 0 && it.failing, it.weight > 0 && !it.failing:
			p += it.weight
		}
	}
	if t.base == vrrp.PriorityOwner {
		return fault, t.base
	}
	return fault, uint8(min(max(p, 1), 254))
}

// tell tells the instance a change of fault or priority; t.mu is held.
func (t *tracker) tell() {
	fault, prio := t.want()
	if t.in == nil {
		return
	}
	if prio != t.prio {
		t.in.SetPriority(prio)
		t.prio = prio
	}
	if fault != t.fault {
		t.in.SetFault(fault)
		t.fault = fault
	}
}

// report is what Status shows of the tracker: the effective priority it
// wants, and the failing items.
func (t *tracker) report() (prio uint8, failing []string) {
	if t == nil {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, prio = t.want()
	for _, it := range t.items {
		if it.failing {
			failing = append(failing, it.name)
		}
	}
	return prio, failing
}
