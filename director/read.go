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

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// Plan reads the namespace, the whole IPVS table included, and returns
// the operations that make it match c. It changes nothing.
func (d *Director) Plan(ctx context.Context, c *Compiled) (*Plan, error) {
	m := c.m
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
	m = d.withOverrides(m).effective(v)
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
		cur.table, err = d.readTable(ctx, m)
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
	for _, v := range append(slices.Clone(m.vips), d.st.VIPs...) {
		addrs, err := d.links.Addrs(ctx, v.iface())
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
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
		d.share(k, ts) // the model's after a reload, if the same
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
		o.add(d.serviceWithOverrides(s).effective(v), d.known[k], d.opts.Drain > 0)
	}
	return &Plan{Ops: o.ops(), drains: o.drains}, true
}
