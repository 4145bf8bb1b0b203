package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// appliers apply the operations that are not IPVS changes, one kind each.
var appliers = map[OpKind]func(d *Director, ctx context.Context, o Op) error{
	SetSysctl:   (*Director).applySysctl,
	SetTimeouts: func(d *Director, ctx context.Context, o Op) error { return d.ipvs.SetTimeouts(ctx, o.Timeouts) },
	SyncDaemons: (*Director).syncDaemons,
	SyncMarks:   (*Director).syncMarks,
	SyncSNAT:    (*Director).syncSNAT,
	AddVIP:      func(d *Director, ctx context.Context, o Op) error { return d.addVIP(ctx, o.VIP) },
	RemoveVIP:   func(d *Director, ctx context.Context, o Op) error { return d.removeVIP(ctx, o.VIP) },
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
	if err := d.intend(ctx, p); err != nil {
		return &ApplyError{Failed: []FailedOp{{Err: err}}}
	}
	if err := d.save(); err != nil {
		return &ApplyError{Failed: []FailedOp{{Err: err}}} // nothing was changed
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
func (d *Director) applyOps(ctx context.Context, p *Plan) []FailedOp {
	var failed []FailedOp
	// flush applies a run of IPVS operations, p.Ops[from:to], as one
	// batch. The operations are read in place: a plan of 25,000 holds
	// 23 MB of them, which copies would double.
	flush := func(from, to int) {
		if from >= to {
			return
		}
		batch := p.Ops[from:to]
		var b ipvs.Batch
		b.Grow(len(batch))
		for i := range batch {
			b.AddRule(&batch[i].Rule)
		}
		results, err := d.ipvs.Apply(ctx, &b)
		result := func(i int) error {
			if results != nil {
				return results[i]
			}
			return err
		}
		nfailed := 0
		for i := range batch {
			if r := result(i); r != nil {
				failed = append(failed, FailedOp{Op: batch[i], Err: r})
				d.known = nil // read the kernel again before planning against it
				nfailed++
				continue
			}
			d.learn(&batch[i])
		}
		applied := batch
		if nfailed > 0 {
			applied = make([]Op, 0, len(batch)-nfailed)
			for i := range batch {
				if result(i) == nil {
					applied = append(applied, batch[i])
				}
			}
		}
		d.shareLearned(applied)
		d.record(applied)
	}
	from := 0 // where the current run of IPVS operations starts
	for i := range p.Ops {
		o := &p.Ops[i]
		if o.IsIPVS() {
			continue
		}
		flush(from, i)
		from = i + 1
		apply, ok := appliers[o.Kind]
		if !ok {
			failed = append(failed, FailedOp{Op: *o, Err: fmt.Errorf("director: unknown operation %v", o.Kind)})
			continue
		}
		if err := apply(d, ctx, *o); err != nil {
			failed = append(failed, FailedOp{Op: *o, Err: err})
		}
	}
	flush(from, len(p.Ops))
	if err := d.save(); err != nil {
		failed = append(failed, FailedOp{Err: err})
	}
	return failed
}

// counted counts tried, the operations tried, each applied unless failed
// lists it.
func (b *statusBook) counted(tried []Op, failed []FailedOp) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s.Ops == nil {
		b.s.Ops, b.s.Failed = map[OpKind]uint64{}, map[OpKind]uint64{}
	}
	for i := range tried {
		b.s.Ops[tried[i].Kind]++
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
func (d *Director) intend(ctx context.Context, p *Plan) error {
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
	for i := range p.Ops {
		o := &p.Ops[i]
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
			_, err := d.links.Link(ctx, v.iface())
			if errors.Is(err, fs.ErrNotExist) { // it will be the Director's
				d.st.Dummies = append(d.st.Dummies, v.iface())
			} else if err != nil {
				return err
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
func (d *Director) learn(o *Op) {
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
		delete(d.knownShared, ts) // nil, or one replaced
		d.known[k] = &ipvs.TableService{Service: o.Rule.Service}
	case UpdateService:
		ts.Service = o.Rule.Service
	case DeleteService:
		delete(d.known, k)
		delete(d.knownShared, ts)
	case CreateDestination:
		d.own(ts)
		ts.Destinations = append(ts.Destinations, dst)
	case UpdateDestination, DrainDestination, DeleteDestination:
		d.own(ts)
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

// record notes in the state what the applied IPVS operations changed: the
// deleted services leave the owned list in one pass, however many there
// are, with their drains.
func (d *Director) record(ops []Op) {
	var deleted map[ipvs.Key]bool
	for i := range ops {
		o := &ops[i]
		k := o.Rule.Service.Key()
		switch o.Kind {
		case DeleteService:
			if deleted == nil {
				deleted = map[ipvs.Key]bool{}
			}
			deleted[k] = true
		case DeleteDestination, CreateDestination, UpdateDestination:
			if len(d.st.Draining) > 0 { // no key made when nothing drains
				delete(d.st.Draining, drainKey(k, o.Rule.Destination.Addr))
			}
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
