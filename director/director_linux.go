package director

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

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
	mu    sync.Mutex
	opts  Options
	netns int
	ipvs  *ipvs.Client
	sc    *sysctl.Sysctl
	marks iptables.Backend
	st    state
}

// New opens a Director on the options' namespace, loading the state file if
// there is one.
func New(opts Options) (*Director, error) {
	fd, err := netnsx.Dup(opts.NetNS)
	if err != nil {
		return nil, err
	}
	d := &Director{opts: opts, netns: fd}
	if d.ipvs, err = ipvs.New(&ipvs.Config{NetNS: fd}); err != nil {
		d.Close()
		return nil, err
	}
	if d.sc, err = sysctl.New(&sysctl.Config{NetNS: fd}); err != nil {
		d.Close()
		return nil, err
	}
	if opts.StateFile != "" {
		b, err := os.ReadFile(opts.StateFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			d.Close()
			return nil, fmt.Errorf("director: state: %w", err)
		default:
			if err := json.Unmarshal(b, &d.st); err != nil {
				d.Close()
				return nil, fmt.Errorf("director: state %s: %w", opts.StateFile, err)
			}
		}
	}
	return d, nil
}

// Close releases the Director's sockets; it changes nothing in the kernel.
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

func (d *Director) backend() (iptables.Backend, error) {
	if d.marks == nil {
		b, err := iptables.New(&iptables.Config{NetNS: d.netns, Backend: d.opts.Marks})
		if err != nil {
			return nil, err
		}
		d.marks = b
	}
	return d.marks, nil
}

// Plan reads the namespace and returns the operations that make it match
// cfg. It changes nothing.
func (d *Director) Plan(ctx context.Context, cfg *Config) (*Plan, error) {
	desired, err := cfg.desired()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.read(ctx, cfg, desired)
	if err != nil {
		return nil, err
	}
	return plan(cfg, desired, cur, d.opts.Drain > 0), nil
}

// read gathers what the planner compares with.
func (d *Director) read(ctx context.Context, cfg *Config, desired []desiredService) (current, error) {
	cur := current{owned: map[ipvs.Key]bool{}, draining: map[string]bool{}, sysctls: map[sysctl.Key]string{}, vips: map[netip.Addr]string{}}
	t, err := d.ipvs.Table(ctx)
	if err != nil {
		return cur, err
	}
	cur.table = t.Services
	for _, k := range d.st.Services {
		cur.owned[k] = true
	}
	for k := range d.st.Draining {
		cur.draining[k] = true
	}
	for k := range cfg.NeededSysctls() {
		v, err := d.sc.Get(k)
		if err != nil {
			return cur, fmt.Errorf("director: %w", err)
		}
		cur.sysctls[k] = v
	}
	if cfg.Timeouts != nil {
		if cur.timeouts, err = d.ipvs.Timeouts(ctx); err != nil {
			return cur, err
		}
	}
	wantMarks := slices.ContainsFunc(desired, func(s desiredService) bool { return s.mark != nil })
	if wantMarks || d.st.Marks {
		b, err := d.backend()
		if err != nil {
			return cur, err
		}
		if cur.marks, err = b.List(ctx); err != nil {
			return cur, err
		}
	}
	if d.st.SNAT || slices.ContainsFunc(desired, func(s desiredService) bool { return s.snat }) {
		if cur.snat, err = d.snatRules(); err != nil {
			return cur, err
		}
	}
	rt, err := rtnl.Dial(d.netns)
	if err != nil {
		return cur, err
	}
	defer rt.Close()
	for _, v := range append(append([]VIP{}, cfg.VIPs...), d.st.VIPs...) {
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
			cur.vips[v.Address] = v.iface()
		}
	}
	cur.ownVIPs = d.st.VIPs
	return cur, nil
}

// ApplyError reports the operations the kernel refused; the others were
// applied.
type ApplyError struct {
	Failed []OpError
}

// OpError is one refused operation.
type OpError struct {
	Op  Op
	Err error
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "director: %d operation(s) failed:", len(e.Failed))
	for _, f := range e.Failed {
		fmt.Fprintf(&b, "\n  %s: %v", f.Op, f.Err)
	}
	return b.String()
}

// Unwrap returns the operations' errors.
func (e *ApplyError) Unwrap() []error {
	var out []error
	for _, f := range e.Failed {
		out = append(out, f.Err)
	}
	return out
}

// Apply executes the plan in its order: IPVS changes in two batches (the
// additions and updates, then, after the marks and VIPs, the deletions).
// Operations the kernel refuses are reported in an *ApplyError; the rest
// are applied. The state is saved afterwards.
func (d *Director) Apply(ctx context.Context, p *Plan) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var failed []OpError
	var batch []Op
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var b ipvs.Batch
		for _, o := range batch {
			switch o.Kind {
			case CreateService:
				b.CreateService(o.Service)
			case UpdateService:
				b.UpdateService(o.Service)
			case CreateDestination:
				b.CreateDestination(o.Service, o.Destination)
			case UpdateDestination, DrainDestination:
				b.UpdateDestination(o.Service, o.Destination)
			case DeleteDestination:
				b.DeleteDestination(o.Service, o.Destination)
			case DeleteService:
				b.DeleteService(o.Service)
			}
		}
		results, err := d.ipvs.Apply(ctx, &b)
		if err != nil {
			return err
		}
		for i, r := range results {
			if r != nil {
				failed = append(failed, OpError{Op: batch[i], Err: r})
			} else {
				d.record(batch[i])
			}
		}
		batch = batch[:0]
		return nil
	}
	for _, o := range p.Ops {
		switch o.Kind {
		case CreateService, UpdateService, CreateDestination, UpdateDestination, DrainDestination, DeleteDestination, DeleteService:
			batch = append(batch, o)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := d.applyOne(ctx, o); err != nil {
			failed = append(failed, OpError{Op: o, Err: err})
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// The configuration's services are the Director's from now on.
	for _, k := range p.owned {
		if !slices.Contains(d.st.Services, k) {
			d.st.Services = append(d.st.Services, k)
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
	if err := d.save(); err != nil {
		failed = append(failed, OpError{Err: err})
	}
	if len(failed) > 0 {
		return &ApplyError{Failed: failed}
	}
	return nil
}

// record notes in the state what an applied IPVS operation changed.
func (d *Director) record(o Op) {
	switch o.Kind {
	case DeleteService:
		k := o.Service.Key()
		d.st.Services = slices.DeleteFunc(d.st.Services, func(x ipvs.Key) bool { return x == k })
		for dk := range d.st.Draining {
			if strings.HasPrefix(dk, fmt.Sprintf("%v|", k)) {
				delete(d.st.Draining, dk)
			}
		}
	case DeleteDestination:
		delete(d.st.Draining, drainKey(o.Service.Key(), o.Destination.Addr))
	case CreateDestination, UpdateDestination:
		delete(d.st.Draining, drainKey(o.Service.Key(), o.Destination.Addr))
	}
}

func (d *Director) applyOne(ctx context.Context, o Op) error {
	switch o.Kind {
	case SetSysctl:
		undo, err := d.sc.Apply(o.Sysctl)
		if err != nil {
			return err
		}
		for _, u := range undo {
			if !slices.ContainsFunc(d.st.Sysctls, func(s sysctl.Setting) bool { return s.Key == u.Key }) {
				d.st.Sysctls = append(d.st.Sysctls, u)
			}
		}
		return nil
	case SetTimeouts:
		return d.ipvs.SetTimeouts(ctx, o.Timeouts)
	case SyncMarks:
		b, err := d.backend()
		if err != nil {
			return err
		}
		if _, err := b.Sync(ctx, o.Marks); err != nil {
			return err
		}
		d.st.Marks = len(o.Marks) > 0
		return nil
	case SyncSNAT:
		if err := d.syncSNAT(o.SNAT); err != nil {
			return err
		}
		d.st.SNAT = len(o.SNAT) > 0
		return nil
	case AddVIP:
		return d.addVIP(o.VIP)
	case RemoveVIP:
		return d.removeVIP(o.VIP)
	}
	return fmt.Errorf("director: unknown operation %v", o.Kind)
}

func (d *Director) addVIP(v VIP) error {
	rt, err := rtnl.Dial(d.netns)
	if err != nil {
		return err
	}
	defer rt.Close()
	l, err := rt.FindLink(v.iface())
	if err != nil {
		return err
	}
	if l == nil && v.Dummy {
		if err := rt.CreateLink(v.iface(), "dummy"); err != nil {
			return rtnl.Unsupported(err, "the dummy module")
		}
		d.st.Dummies = append(d.st.Dummies, v.iface())
		if l, err = rt.FindLink(v.iface()); err != nil {
			return err
		}
	}
	if l == nil {
		return fmt.Errorf("interface %s: %w", v.iface(), unix.ENODEV)
	}
	if l.Flags&unix.IFF_UP == 0 {
		if err := rt.SetUp(l.Index, true); err != nil {
			return err
		}
	}
	if err := rt.AddAddr(l.Index, netip.PrefixFrom(v.Address, v.Address.BitLen())); err != nil {
		return err
	}
	d.st.VIPs = append(d.st.VIPs, v)
	return nil
}

func (d *Director) removeVIP(v VIP) error {
	rt, err := rtnl.Dial(d.netns)
	if err != nil {
		return err
	}
	defer rt.Close()
	l, err := rt.FindLink(v.iface())
	if err != nil {
		return err
	}
	if l != nil {
		if err := rt.DelAddr(l.Index, netip.PrefixFrom(v.Address, v.Address.BitLen())); err != nil {
			return err
		}
	}
	d.st.VIPs = slices.DeleteFunc(d.st.VIPs, func(x VIP) bool { return x.Address == v.Address })
	// A dummy device the Director made goes when no VIP of its uses it.
	if slices.Contains(d.st.Dummies, v.iface()) && !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.iface() == v.iface() }) {
		if err := rt.DeleteLink(v.iface()); err != nil {
			return err
		}
		d.st.Dummies = slices.DeleteFunc(d.st.Dummies, func(x string) bool { return x == v.iface() })
	}
	return nil
}

func (d *Director) save() error {
	if d.opts.StateFile == "" {
		return nil
	}
	b, err := d.st.marshal()
	if err != nil {
		return err
	}
	tmp := d.opts.StateFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("director: state: %w", err)
	}
	return os.Rename(tmp, d.opts.StateFile)
}

// Collect deletes the draining real servers whose active connections have
// reached zero or whose drain deadline has passed, and reports how many it
// deleted. A daemon calls it periodically.
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
	for _, ts := range t.Services {
		for _, dst := range ts.Destinations {
			k := drainKey(ts.Key(), dst.Addr)
			deadline, ok := d.st.Draining[k]
			if !ok || (dst.ActiveConns > 0 && now.Before(deadline)) {
				continue
			}
			o := Op{Kind: DeleteDestination, Service: keyOnly(ts.Service), Destination: ipvs.Destination{Addr: dst.Addr}}
			b.DeleteDestination(o.Service, o.Destination)
			ops = append(ops, o)
		}
	}
	results, err := d.ipvs.Apply(ctx, &b)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i, r := range results {
		if r == nil || errors.Is(r, fs.ErrNotExist) {
			d.record(ops[i])
			n++
			continue
		}
		errs = append(errs, r)
	}
	// Entries whose destination is gone already are forgotten too.
	for k := range d.st.Draining {
		found := false
		for _, ts := range t.Services {
			for _, dst := range ts.Destinations {
				found = found || drainKey(ts.Key(), dst.Addr) == k
			}
		}
		if !found {
			delete(d.st.Draining, k)
		}
	}
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// Teardown removes everything the Director owns: its services, VIPs and
// dummy devices, its mark rules, and puts back the sysctls it changed.
func (d *Director) Teardown(ctx context.Context) error {
	p, err := d.Plan(ctx, &Config{})
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
	if d.st.Marks {
		if b, err := d.backend(); err == nil {
			if err := b.Remove(ctx); err != nil {
				errs = append(errs, err)
			}
			d.st.Marks = false
		}
	}
	if err := d.sc.Restore(d.st.Sysctls); err != nil {
		errs = append(errs, err)
	} else {
		d.st.Sysctls = nil
	}
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
