package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// Director makes one network namespace's director role match a Config.
// Its methods are safe for concurrent use; they run one at a time.
type Director struct {
	mu       sync.Mutex
	opts     Options
	netns    int
	ipvs     *ipvs.Client
	sc       *sysctl.Sysctl
	firewall iptables.Backend
	st       state
	// known is what the Director knows the kernel's IPVS holds: the last
	// full read, with the services read one by one and what Apply changed
	// since. nil when unknown (before the first read, or after a change
	// whose outcome is not known).
	known map[ipvs.Key]*ipvs.TableService
	// fullReads counts reads of the whole table (for tests).
	fullReads int
	// status is what Status returns, under a lock of its own.
	status statusBook
	// model is the configuration last given to Run or Plan, which Disable
	// and Enable check against; nil before.
	model *model
	// run reaches the running Run; nil when none runs.
	run *runLoop
	// announced is what Options.Announcer announces for the Director;
	// draining keeps it empty (Drain).
	announced []netip.Prefix
	draining  bool
	// connReuse is the conn_reuse_mode this kernel needs, if any (see
	// connReuseDefault).
	connReuse    string
	setConnReuse bool
}

// New opens a Director on the options' namespace (nil options are the
// defaults: the caller's namespace, no state file, no drain), loading the
// state file if there is one.
func New(opts *Options) (*Director, error) {
	if opts == nil {
		opts = &Options{}
	}
	fd, err := netnsx.Dup(opts.NetNS)
	if err != nil {
		return nil, err
	}
	d := &Director{opts: *opts, netns: fd}
	if release, err := kernel.Release(); err == nil {
		d.connReuse, d.setConnReuse = connReuseDefault(release)
	}
	if d.ipvs, err = ipvs.New(&ipvs.Config{NetNS: fd, SkipFeatureChecks: opts.SkipFeatureChecks}); err != nil {
		d.Close()
		return nil, err
	}
	if d.sc, err = sysctl.New(&sysctl.Config{NetNS: fd}); err != nil {
		d.Close()
		return nil, err
	}
	if opts.StateFile != "" {
		st, err := loadState(opts.StateFile)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.st = st
	}
	d.status.owns(d.st)
	return d, nil
}

// Close releases the Director's sockets; it changes nothing in the kernel.
// Call it after Run has returned.
func (d *Director) Close() error {
	if d.ipvs != nil {
		d.ipvs.Close()
	}
	if d.sc != nil {
		d.sc.Close()
	}
	if d.netns > 0 {
		unix.Close(d.netns)
		d.netns = 0
	}
	return nil
}

// IPVS is the Director's IPVS client, for reading the table.
func (d *Director) IPVS() *ipvs.Client { return d.ipvs }

// Status returns what the Director has done and the health of the real
// servers Run checks. It is safe to call at any time, also while Run or
// Apply runs, and never waits for them or for the kernel.
func (d *Director) Status() Status { return d.status.snapshot() }

// backend is the firewall backend of the mark and source-NAT rules,
// opened on first use.
func (d *Director) backend() (iptables.Backend, error) {
	if d.firewall == nil {
		b, err := iptables.New(&iptables.Config{NetNS: d.netns, Backend: d.opts.Firewall})
		if err != nil {
			return nil, err
		}
		d.firewall = b
	}
	return d.firewall, nil
}

// Plan reads the namespace, the whole IPVS table included, and returns
// the operations that make it match cfg. It changes nothing.
func (d *Director) Plan(ctx context.Context, cfg *Config) (*Plan, error) {
	m, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if err := d.useModel(m, false); err != nil {
		return nil, err
	}
	return d.planModel(ctx, m, verdicts{}, readTable)
}

// readMode is where read takes the IPVS services from.
type readMode int

const (
	// readTable reads the whole table from the kernel, which then becomes
	// what the Director knows.
	readTable readMode = iota + 1
	// readKnown takes the services the Director knows from what it knows
	// (its last full read, with what it applied since) and asks the kernel
	// about each other service the model declares, one at a time, so that
	// one made by someone else is still seen. With nothing known it reads
	// the whole table.
	readKnown
)

// planModel plans m with real servers taken out of service as v (Run's
// verdicts) and the disabled list say.
func (d *Director) planModel(ctx context.Context, m *model, v verdicts, mode readMode) (*Plan, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.setConnReuse {
		m = m.withSysctl(sysctl.VSConnReuseMode, d.connReuse)
	}
	v.disabled = d.disabledTargets()
	m = m.effective(v)
	cur, err := d.read(ctx, m, mode)
	if err != nil {
		return nil, err
	}
	return plan(m, cur, d.opts.Drain > 0), nil
}

// read gathers what the planner compares m with, the IPVS services as
// mode says.
func (d *Director) read(ctx context.Context, m *model, mode readMode) (current, error) {
	cur := current{owned: map[ipvs.Key]bool{}, sysctls: map[sysctl.Key]string{}, vips: map[vipOn]bool{}}
	var err error
	if mode == readKnown && d.known != nil {
		cur.table, err = d.knownServices(ctx, m)
	} else {
		cur.table, err = d.readTable(ctx)
	}
	if err != nil {
		return cur, err
	}
	for _, k := range d.st.Services {
		cur.owned[k] = true
	}
	for _, s := range m.sysctls {
		v, err := d.sc.Get(ctx, s.Key)
		if err != nil {
			return cur, fmt.Errorf("director: %w", err)
		}
		cur.sysctls[s.Key] = v
	}
	if m.timeouts != nil {
		if cur.timeouts, err = d.ipvs.Timeouts(ctx); err != nil {
			return cur, err
		}
	}
	cur.ownSync = d.st.Sync
	if len(m.daemons) > 0 || d.st.Sync {
		if cur.daemons, err = d.ipvs.SyncDaemons(ctx); err != nil {
			return cur, err
		}
	}
	if len(m.marks) > 0 || d.st.Marks || len(m.snat) > 0 || d.st.SNAT {
		b, err := d.backend()
		if err != nil {
			return cur, err
		}
		if len(m.marks) > 0 || d.st.Marks {
			if cur.marks, err = b.List(ctx); err != nil {
				return cur, err
			}
		}
		if len(m.snat) > 0 || d.st.SNAT {
			if cur.snat, err = b.ListSNAT(ctx); err != nil {
				return cur, err
			}
		}
	}
	rt, err := rtnl.Dial(d.netns)
	if err != nil {
		return cur, err
	}
	defer rt.Close()
	for _, v := range append(slices.Clone(m.vips), d.st.VIPs...) {
		l, err := rt.FindLink(v.iface())
		if err != nil {
			return cur, err
		}
		if l == nil {
			continue
		}
		addrs, err := rt.Addrs(l.Index)
		if err != nil {
			return cur, err
		}
		if slices.Contains(addrs, netip.PrefixFrom(v.Address, v.Address.BitLen())) {
			cur.vips[v.on()] = true
		}
	}
	cur.ownVIPs = d.st.VIPs
	return cur, nil
}

// readTable reads the whole IPVS table, and keeps it as what the Director
// knows.
func (d *Director) readTable(ctx context.Context) ([]ipvs.TableService, error) {
	t, err := d.ipvs.Table(ctx)
	if err != nil {
		return nil, err
	}
	d.fullReads++
	d.known = make(map[ipvs.Key]*ipvs.TableService, len(t.Services))
	for i := range t.Services {
		ts := t.Services[i]
		ts.Destinations = slices.Clone(ts.Destinations)
		d.known[ts.Key()] = &ts
	}
	return t.Services, nil
}

// knownServices is what the planner needs of the IPVS table for m, taken
// from what the Director knows: the services m declares, then those the
// Director owns and m no longer declares (to be deleted). A declared
// service it does not know is asked of the kernel, and known from then on
// if the kernel has it. d.known must not be nil.
func (d *Director) knownServices(ctx context.Context, m *model) ([]ipvs.TableService, error) {
	out := make([]ipvs.TableService, 0, len(m.services))
	declared := make(map[ipvs.Key]bool, len(m.services))
	for _, s := range m.services {
		k := s.svc.Key()
		declared[k] = true
		ts, ok := d.known[k]
		if !ok {
			var err error
			if ts, err = d.readService(ctx, s.svc); err != nil {
				return nil, err
			}
			if ts == nil {
				continue // not in the kernel: the plan creates it
			}
			d.known[k] = ts
		}
		out = append(out, *ts)
	}
	for _, k := range d.st.Services {
		if ts, ok := d.known[k]; ok && !declared[k] {
			out = append(out, *ts)
		}
	}
	return out, nil
}

// readService reads one service with its destinations from the kernel;
// nil when the kernel has no service with svc's key.
func (d *Director) readService(ctx context.Context, svc ipvs.Service) (*ipvs.TableService, error) {
	s, err := d.ipvs.Service(ctx, keyOnly(svc))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ds, err := d.ipvs.Destinations(ctx, s)
	if errors.Is(err, fs.ErrNotExist) { // deleted in between
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &ipvs.TableService{Service: s, Destinations: ds}, nil
}

// appliers apply the operations that are not IPVS changes, one kind each.
var appliers = map[OpKind]func(d *Director, ctx context.Context, o Op) error{
	SetSysctl:   (*Director).applySysctl,
	SetTimeouts: func(d *Director, ctx context.Context, o Op) error { return d.ipvs.SetTimeouts(ctx, o.Timeouts) },
	SyncDaemons: (*Director).syncDaemons,
	SyncMarks:   (*Director).syncMarks,
	SyncSNAT:    (*Director).syncSNAT,
	AddVIP:      func(d *Director, _ context.Context, o Op) error { return d.addVIP(o.VIP) },
	RemoveVIP:   func(d *Director, _ context.Context, o Op) error { return d.removeVIP(o.VIP) },
}

// Apply executes the plan in its order: runs of IPVS changes each in one
// ipvs.Batch (the additions and updates, then, after the marks and VIPs,
// the deletions), the other operations one by one. Every operation is
// tried: those that fail are reported in an *ApplyError, whatever the
// cause (a refusal by the kernel, a failed socket, an ended context), and
// the state is saved afterwards in every case, so what was applied stays
// owned.
func (d *Director) Apply(ctx context.Context, p *Plan) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.status.applied(time.Now())
	// Write ahead: what the plan may create or change is recorded as owned,
	// and saved, before anything changes, so that a director killed midway
	// still knows on restart what is its own (recorded but never made is
	// harmless: removing it finds nothing).
	if err := d.intend(p); err != nil {
		return &ApplyError{Failed: []OpError{{Err: err}}}
	}
	if err := d.save(); err != nil {
		return &ApplyError{Failed: []OpError{{Err: err}}} // nothing was changed
	}
	failed := d.applyOps(ctx, p)
	d.status.counted(p.Ops, failed)
	if len(failed) > 0 {
		return &ApplyError{Failed: failed}
	}
	return nil
}

// applyOps applies p's operations, then saves the state, and returns what
// failed.
func (d *Director) applyOps(ctx context.Context, p *Plan) []OpError {
	var failed []OpError
	var batch []Op
	flush := func() {
		if len(batch) == 0 {
			return
		}
		var b ipvs.Batch
		for _, o := range batch {
			b.AddRules([]ipvs.Rule{o.Rule})
		}
		results, err := d.ipvs.Apply(ctx, &b)
		applied := batch[:0:0]
		for i, o := range batch {
			r := err
			if results != nil {
				r = results[i]
			}
			if r != nil {
				failed = append(failed, OpError{Op: o, Err: r})
				d.known = nil // read the kernel again before planning against it
				continue
			}
			applied = append(applied, o)
			d.learn(o)
		}
		d.record(applied)
		batch = batch[:0]
	}
	for _, o := range p.Ops {
		if o.IsIPVS() {
			batch = append(batch, o)
			continue
		}
		flush()
		apply, ok := appliers[o.Kind]
		if !ok {
			failed = append(failed, OpError{Op: o, Err: fmt.Errorf("director: unknown operation %v", o.Kind)})
			continue
		}
		if err := apply(d, ctx, o); err != nil {
			failed = append(failed, OpError{Op: o, Err: err})
		}
	}
	flush()
	if err := d.save(); err != nil {
		failed = append(failed, OpError{Err: err})
	}
	return failed
}

// counted counts tried, the operations tried, each applied unless failed
// lists it.
func (b *statusBook) counted(tried []Op, failed []OpError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s.Ops == nil {
		b.s.Ops, b.s.Failed = map[OpKind]uint64{}, map[OpKind]uint64{}
	}
	for _, o := range tried {
		b.s.Ops[o.Kind]++
	}
	for _, f := range failed {
		if f.Op.Kind != 0 {
			b.s.Ops[f.Op.Kind]--
			b.s.Failed[f.Op.Kind]++
		}
	}
}

// intend records in the state everything p may make the Director's: the
// configuration's services, drains, the sysctls it sets (with their values
// before), the VIPs and dummy devices it adds, and the firewall rules.
func (d *Director) intend(p *Plan) error {
	if len(p.owned) > 0 {
		owned := make(map[ipvs.Key]bool, len(d.st.Services))
		for _, k := range d.st.Services {
			owned[k] = true
		}
		for _, k := range p.owned {
			if !owned[k] {
				owned[k] = true
				d.st.Services = append(d.st.Services, k)
			}
		}
	}
	for _, k := range p.drains {
		if d.st.Draining == nil {
			d.st.Draining = map[string]time.Time{}
		}
		if _, ok := d.st.Draining[k]; !ok {
			d.st.Draining[k] = time.Now().Add(d.opts.Drain)
		}
	}
	var rt *rtnl.Conn
	defer func() {
		if rt != nil {
			rt.Close()
		}
	}()
	for _, o := range p.Ops {
		switch o.Kind {
		case SetSysctl:
			if !slices.ContainsFunc(d.st.Sysctls, func(s sysctl.Setting) bool { return s.Key == o.Sysctl.Key }) {
				d.st.Sysctls = append(d.st.Sysctls, sysctl.Setting{Key: o.Sysctl.Key, Value: o.OldValue})
			}
		case AddVIP:
			v := o.VIP
			if !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.on() == v.on() }) {
				d.st.VIPs = append(d.st.VIPs, v)
			}
			if !v.Dummy || slices.Contains(d.st.Dummies, v.iface()) {
				continue
			}
			if rt == nil {
				var err error
				if rt, err = rtnl.Dial(d.netns); err != nil {
					return err
				}
			}
			l, err := rt.FindLink(v.iface())
			if err != nil {
				return err
			}
			if l == nil { // it will be the Director's
				d.st.Dummies = append(d.st.Dummies, v.iface())
			}
		case SyncDaemons:
			d.st.Sync = d.st.Sync || len(o.Daemons) > 0
		case SyncMarks:
			d.st.Marks = d.st.Marks || len(o.Marks) > 0
		case SyncSNAT:
			d.st.SNAT = d.st.SNAT || len(o.SNAT) > 0
		}
	}
	return nil
}

// learn updates what the Director knows the kernel holds with an applied
// IPVS operation.
func (d *Director) learn(o Op) {
	if d.known == nil {
		return
	}
	k := o.Rule.Service.Key()
	ts := d.known[k]
	if ts == nil && o.Kind != CreateService {
		d.known = nil // a service it does not know: read again
		return
	}
	dst := o.Rule.Destination
	switch o.Kind {
	case CreateService:
		d.known[k] = &ipvs.TableService{Service: o.Rule.Service}
	case UpdateService:
		ts.Service = o.Rule.Service
	case DeleteService:
		delete(d.known, k)
	case CreateDestination:
		ts.Destinations = append(ts.Destinations, dst)
	case UpdateDestination, DrainDestination, DeleteDestination:
		i := slices.IndexFunc(ts.Destinations, func(x ipvs.Destination) bool { return x.Addr == dst.Addr })
		switch {
		case i < 0:
			d.known = nil
		case o.Kind == DeleteDestination:
			ts.Destinations = slices.Delete(ts.Destinations, i, i+1)
		default:
			ts.Destinations[i] = dst
		}
	}
}

// planFlip plans the services keyed in services, with the failed real
// servers taken out, against what the Director knows it applied, reading
// nothing from the kernel and touching nothing else of m: its cost is the
// services', whatever the size of the table. False when the Director knows
// nothing of the kernel yet. Only destinations change on a health flip, so
// only the services' own operations are planned.
func (d *Director) planFlip(m *model, v verdicts, services map[ipvs.Key]bool) (*Plan, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.known == nil {
		return nil, false
	}
	v.disabled = d.disabledTargets()
	keys := slices.SortedFunc(maps.Keys(services), func(a, b ipvs.Key) int { return strings.Compare(a.String(), b.String()) })
	var o serviceOps
	for _, k := range keys {
		s := m.service(k)
		if s == nil {
			continue
		}
		ts, ok := d.known[k]
		if !ok {
			ts = &ipvs.TableService{}
		}
		o.add(s.effective(v), *ts, ok, d.opts.Drain > 0)
	}
	return &Plan{Ops: o.ops(), drains: o.drains}, true
}

// record notes in the state what the applied IPVS operations changed: the
// deleted services leave the owned list in one pass, however many there
// are, with their drains.
func (d *Director) record(ops []Op) {
	var deleted map[ipvs.Key]bool
	for _, o := range ops {
		k := o.Rule.Service.Key()
		switch o.Kind {
		case DeleteService:
			if deleted == nil {
				deleted = map[ipvs.Key]bool{}
			}
			deleted[k] = true
		case DeleteDestination, CreateDestination, UpdateDestination:
			delete(d.st.Draining, drainKey(k, o.Rule.Destination.Addr))
		}
	}
	if len(deleted) == 0 {
		return
	}
	d.st.Services = slices.DeleteFunc(d.st.Services, func(x ipvs.Key) bool { return deleted[x] })
	for dk := range d.st.Draining {
		if svc, _, ok := parseDrainKey(dk); ok && deleted[svc] {
			delete(d.st.Draining, dk)
		}
	}
}

// save writes the state to Options.StateFile, if set, and shows it in the
// Status.
func (d *Director) save() error {
	d.status.owns(d.st)
	if d.opts.StateFile == "" {
		return nil
	}
	return saveState(d.opts.StateFile, d.st)
}

// Collect deletes the draining real servers whose active connections have
// reached zero or whose drain deadline has passed (only the deadline for
// a service a Cluster announces, so that every director deletes at the
// same time), and reports how many it deleted. A daemon calls it
// periodically.
func (d *Director) Collect(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.st.Draining) == 0 {
		return 0, nil
	}
	t, err := d.ipvs.Table(ctx)
	if err != nil {
		return 0, err
	}
	var b ipvs.Batch
	var ops []Op
	now := time.Now()
	present := map[string]bool{}
	for _, ts := range t.Services {
		for _, dst := range ts.Destinations {
			k := drainKey(ts.Key(), dst.Addr)
			deadline, ok := d.st.Draining[k]
			if !ok {
				continue
			}
			present[k] = true
			// A cluster's directors delete together, at the deadline: each
			// sees its own connections go idle at its own time, and a
			// deletion changes the mh table.
			if now.Before(deadline) && (dst.ActiveConns > 0 || d.inCluster(ts.Key())) {
				continue
			}
			o := Op{Kind: DeleteDestination, Rule: ipvs.Rule{Command: ipvs.DeleteServer, Service: keyOnly(ts.Service), Destination: ipvs.Destination{Addr: dst.Addr}}}
			b.AddRules([]ipvs.Rule{o.Rule})
			ops = append(ops, o)
		}
	}
	// Entries whose destination is gone already are forgotten.
	for k := range d.st.Draining {
		if !present[k] {
			delete(d.st.Draining, k)
		}
	}
	results, err := d.ipvs.Apply(ctx, &b)
	n := 0
	var errs []error
	var failed []OpError
	if err != nil {
		errs = append(errs, err)
	}
	for i, o := range ops {
		var r error = err
		if results != nil {
			r = results[i]
		}
		if r == nil || errors.Is(r, fs.ErrNotExist) {
			d.record([]Op{o})
			d.learn(o)
			n++
			continue
		}
		d.known = nil // perhaps applied, perhaps not: read the kernel again
		failed = append(failed, OpError{Op: o, Err: r})
		if results != nil {
			errs = append(errs, r)
		}
	}
	d.status.counted(ops, failed)
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// inCluster reports whether the service keyed k is announced by the last
// configuration's cluster; d.mu is held.
func (d *Director) inCluster(k ipvs.Key) bool {
	if d.model == nil || d.model.cluster == nil {
		return false
	}
	s := d.model.service(k)
	return s != nil && d.model.cluster.announces(s)
}

// Teardown removes everything the Director owns: its services, VIPs and
// dummy devices, its mark and source-NAT rules, and puts back the sysctls
// it changed.
func (d *Director) Teardown(ctx context.Context) error {
	// The routers stop sending before anything is removed.
	if err := d.withdrawAll(ctx); err != nil {
		return err
	}
	p, err := d.planModel(ctx, &model{}, verdicts{}, readTable)
	if err != nil {
		return err
	}
	err = d.Apply(ctx, p)
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if d.st.Marks || d.st.SNAT {
		if b, err := d.backend(); err == nil {
			if err := b.Remove(ctx); err != nil {
				errs = append(errs, err)
			} else {
				d.st.Marks, d.st.SNAT = false, false
			}
		} else {
			errs = append(errs, err)
		}
	}
	if err := d.sc.Restore(ctx, d.st.Sysctls); err != nil {
		errs = append(errs, err)
	} else {
		d.st.Sysctls = nil
	}
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
