package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// Maintenance is a real server taken out of service by hand
// (Director.Disable): quiesced, whatever its health, until Enable.
type Maintenance struct {
	Service ipvs.Key       `json:"service"`
	Addr    netip.AddrPort `json:"realServer"`
	Reason  string         `json:"reason,omitempty"`
	Since   time.Time      `json:"since"`
}

// ErrNotRunning is returned by Ping when no Run is running.
var ErrNotRunning = errors.New("director: not running")

// UnknownRealServerError is a Disable or Enable of a real server that the
// configuration does not list (or before any configuration was planned).
// It matches fs.ErrNotExist.
type UnknownRealServerError struct {
	Service ipvs.Key
	Addr    netip.AddrPort
}

func (e *UnknownRealServerError) Error() string {
	return fmt.Sprintf("director: %v has no real server %v in the configuration", e.Service, e.Addr)
}

// Is matches fs.ErrNotExist.
func (e *UnknownRealServerError) Is(target error) bool { return target == fs.ErrNotExist }

// adminRequest asks Run's loop to replan one service (a Disable or
// Enable), to announce again (Withdraw, Rejoin), or nothing (a Ping), and to answer
// on done.
type adminRequest struct {
	svc      ipvs.Key
	ping     bool
	announce bool // Withdraw or Rejoin: announce or withdraw now
	done     chan error
}

// runLoop is how other goroutines reach a running Run.
type runLoop struct {
	admin   chan adminRequest
	stopped chan struct{}
}

// Disable takes the real server rs of the service svc out of service by
// hand, for maintenance: its weight becomes 0 (open connections go on, new
// ones go to the others), whatever its health checks say, until Enable.
// reason is kept with it. The sorry server, if the service has one, comes
// in when no real server is left in service. A disabled real server stays
// disabled across reloads (while the configuration lists it) and, with
// Options.StateFile, across restarts.
//
// rs must be a real server of svc in the configuration last given to Run or
// Plan (else an *UnknownRealServerError). While Run runs, Disable returns
// once Run has applied the change (or failed to: the error); otherwise the
// change is recorded and the next Plan or Run applies it. A real server of
// an mh service without the mh-fallback flag is refused (the error matches
// errors.ErrUnsupported): quiesced, it would keep its share of the lookup
// table and its flows would find no destination.
func (d *Director) Disable(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, reason string) error {
	return d.maintain(ctx, svc, rs, true, func(list []Maintenance, i int) []Maintenance {
		if i >= 0 {
			list[i].Reason = reason
			return list
		}
		return append(list, Maintenance{Service: svc, Addr: rs, Reason: reason, Since: time.Now()})
	})
}

// Enable puts a real server disabled by Disable back in service (at the
// weight its health allows), as Disable does; enabling one that is not
// disabled changes nothing.
func (d *Director) Enable(ctx context.Context, svc ipvs.Key, rs netip.AddrPort) error {
	return d.maintain(ctx, svc, rs, false, func(list []Maintenance, i int) []Maintenance {
		if i < 0 {
			return list
		}
		return slices.Delete(list, i, i+1)
	})
}

// maintain changes the disabled list with edit (given a copy of the list
// and the index of rs's entry, -1 if none), as change does.
func (d *Director) maintain(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, disabling bool, edit func([]Maintenance, int) []Maintenance) error {
	return d.change(ctx, svc, rs, disabling, func(st *state) {
		i := slices.IndexFunc(st.Disabled, func(m Maintenance) bool { return m.Service == svc && m.Addr == rs })
		st.Disabled = edit(st.Disabled, i)
	})
}

// change checks that rs is a real server of svc in the configuration
// (quiescing, that it can be quiesced), edits copies of the state's lists
// by hand (disabled, overrides), saves the state and has a running Run
// apply it. If the state cannot be saved, the lists stay as they were and
// the error says why: a change that cannot be kept is not made.
func (d *Director) change(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, quiescing bool, edit func(*state)) error {
	d.mu.Lock()
	var s *service
	if d.model != nil {
		s = d.model.service(svc)
	}
	if s == nil || !slices.ContainsFunc(s.dests, func(x ipvs.Destination) bool { return x.Addr == rs }) {
		d.mu.Unlock()
		return &UnknownRealServerError{Service: svc, Addr: rs}
	}
	if quiescing && s.svc.Scheduler == ipvs.MaglevHashing && s.svc.Flags&ipvs.FlagMHFallback == 0 {
		d.mu.Unlock()
		return fmt.Errorf("director: %v: %s: %w", svc, errMHQuiesce, errors.ErrUnsupported)
	}
	disabled, overrides := d.st.Disabled, d.st.Overrides
	d.st.Disabled, d.st.Overrides = slices.Clone(disabled), slices.Clone(overrides)
	edit(&d.st)
	if err := d.save(); err != nil {
		d.st.Disabled, d.st.Overrides = disabled, overrides
		d.status.owns(d.st)
		d.mu.Unlock()
		return err
	}
	run := d.run
	d.mu.Unlock()
	if run == nil {
		return nil
	}
	return run.ask(ctx, adminRequest{svc: svc})
}

// Ping returns once a running Run's loop has answered, which it does
// between its steps: a watchdog's proof that Run is not stuck. Without a
// running Run it returns ErrNotRunning.
func (d *Director) Ping(ctx context.Context) error {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	if run == nil {
		return ErrNotRunning
	}
	return run.ask(ctx, adminRequest{ping: true})
}

// ask hands r to Run's loop and waits for its answer.
func (l *runLoop) ask(ctx context.Context, r adminRequest) error {
	r.done = make(chan error, 1)
	select {
	case l.admin <- r:
	case <-l.stopped:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// disabledNow is the disabled list as a set.
func (d *Director) disabledNow() map[target]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.disabledTargets()
}

// disabledTargets are the real servers out of service by hand: the
// disabled list, and the overrides at weight 0 (drains too); d.mu is held.
func (d *Director) disabledTargets() map[target]bool {
	if len(d.st.Disabled)+len(d.st.Overrides) == 0 {
		return nil
	}
	out := make(map[target]bool, len(d.st.Disabled))
	for _, m := range d.st.Disabled {
		out[target{m.Service, m.Addr}] = true
	}
	for _, o := range d.st.Overrides {
		if o.Weight == 0 {
			out[target{o.Service, o.Addr}] = true
		}
	}
	return out
}

// useModel makes m the configuration Disable, Enable and the overrides
// check against and, with prune (Run's configurations, not a dry run's),
// forgets the disabled and overridden real servers m no longer lists.
func (d *Director) useModel(m *model, prune bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.model = m
	if !prune {
		return nil
	}
	gone := func(svc ipvs.Key, rs netip.AddrPort) bool {
		s := m.service(svc)
		return s == nil || !slices.ContainsFunc(s.dests, func(y ipvs.Destination) bool { return y.Addr == rs })
	}
	n := len(d.st.Disabled) + len(d.st.Overrides)
	d.st.Disabled = slices.DeleteFunc(d.st.Disabled, func(x Maintenance) bool { return gone(x.Service, x.Addr) })
	d.st.Overrides = slices.DeleteFunc(d.st.Overrides, func(x Override) bool { return gone(x.Service, x.Addr) })
	if len(d.st.Disabled)+len(d.st.Overrides) == n {
		return nil
	}
	return d.save()
}

// Override is a real server's weight set by hand at run time, in place of
// the configuration's: a weight (SetWeight), or a drain (Drain): weight 0,
// the real server's open connections going on, until it is idle or Until
// passes; it is then drained, and stays at weight 0, until Restore. The
// configuration still decides which real servers there are: an override
// of a real server a reload no longer lists is forgotten.
type Override struct {
	Service ipvs.Key       `json:"service"`
	Addr    netip.AddrPort `json:"realServer"`
	// Weight is the weight set by hand; 0 for a drain.
	Weight int `json:"weight"`
	// Drain is true for a drain, Until its deadline (none if zero).
	Drain  bool      `json:"drain,omitempty"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// MaxWeight is the largest weight a real server takes, the kernel's.
const MaxWeight = 1<<31 - 1

// OverrideError is a SetWeight or Drain refused for its arguments: a
// weight out of range, a drain deadline in the past. It matches
// ErrInvalid.
type OverrideError struct {
	Service ipvs.Key
	Addr    netip.AddrPort
	Problem string
}

func (e *OverrideError) Error() string {
	return fmt.Sprintf("director: %v real server %v: %s", e.Service, e.Addr, e.Problem)
}

// Is matches ErrInvalid.
func (e *OverrideError) Is(target error) bool { return target == ErrInvalid }

// SetWeight sets the weight of the real server rs of svc by hand, in
// place of the configuration's (0..MaxWeight; 0 quiesces it), until
// Restore; reason is kept with it. Like Disable, it is kept across reloads
// (while the configuration lists rs) and, with Options.StateFile, across
// restarts; it returns once a running Run has applied it; a change that
// cannot be saved is not made. A real server disabled by hand stays at
// weight 0 whatever its override, and so does a failed one.
func (d *Director) SetWeight(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, weight int, reason string) error {
	if weight < 0 || weight > MaxWeight {
		return &OverrideError{svc, rs, fmt.Sprintf("weight %d is out of range 0..%d", weight, MaxWeight)}
	}
	return d.override(ctx, svc, rs, Override{Service: svc, Addr: rs, Weight: weight, Reason: reason})
}

// Drain drains the real server rs of svc: weight 0, its open connections
// going on, until it has none or until passes (no deadline if zero); it
// then stays at weight 0 until Restore (Status and the daemon's status say
// drained). until must not be in the past. Otherwise as SetWeight.
func (d *Director) Drain(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, until time.Time, reason string) error {
	if !until.IsZero() && !until.After(time.Now()) {
		return &OverrideError{svc, rs, fmt.Sprintf("drain deadline %s is in the past", until.Format(time.RFC3339))}
	}
	return d.override(ctx, svc, rs, Override{Service: svc, Addr: rs, Drain: true, Until: until, Reason: reason})
}

// Restore puts the real server rs of svc back at the configuration's
// weight, ending a SetWeight or a Drain; restoring one that has no
// override changes nothing.
func (d *Director) Restore(ctx context.Context, svc ipvs.Key, rs netip.AddrPort) error {
	return d.change(ctx, svc, rs, false, func(st *state) {
		st.Overrides = slices.DeleteFunc(st.Overrides, func(o Override) bool { return o.Service == svc && o.Addr == rs })
	})
}

func (d *Director) override(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, o Override) error {
	o.Since = time.Now()
	return d.change(ctx, svc, rs, o.Weight == 0, func(st *state) {
		i := slices.IndexFunc(st.Overrides, func(x Override) bool { return x.Service == svc && x.Addr == rs })
		if i < 0 {
			st.Overrides = append(st.Overrides, o)
			return
		}
		st.Overrides[i] = o
	})
}

// Overrides are the weights set by hand and the drains, in the order they
// were made.
func (d *Director) Overrides() []Override {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.st.Overrides)
}

// DeclaredWeight is the weight the configuration last given to Run or
// Plan declares for the real server rs of svc; false if it lists none.
func (d *Director) DeclaredWeight(svc ipvs.Key, rs netip.AddrPort) (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.model == nil {
		return 0, false
	}
	s := d.model.service(svc)
	if s == nil {
		return 0, false
	}
	i := slices.IndexFunc(s.dests, func(x ipvs.Destination) bool { return x.Addr == rs })
	if i < 0 {
		return 0, false
	}
	return s.dests[i].Weight, true
}

// withOverrides is m with the weights set by hand in place of its own (the
// ones at 0 are taken out of service as disabled ones are:
// disabledTargets); m itself when there are none. d.mu is held.
func (d *Director) withOverrides(m *model) *model {
	if !slices.ContainsFunc(d.st.Overrides, func(o Override) bool { return o.Weight > 0 }) {
		return m
	}
	out := *m
	out.byKey = nil
	out.services = make([]*service, len(m.services))
	for i, s := range m.services {
		out.services[i] = d.serviceWithOverrides(s)
	}
	return &out
}

// serviceWithOverrides is s with the weights set by hand of its real
// servers; s itself when it has none. d.mu is held.
func (d *Director) serviceWithOverrides(s *service) *service {
	k := s.svc.Key()
	var e *service
	for _, o := range d.st.Overrides {
		if o.Service != k || o.Weight == 0 {
			continue
		}
		i := slices.IndexFunc(s.dests, func(x ipvs.Destination) bool { return x.Addr == o.Addr })
		if i < 0 {
			continue
		}
		if e == nil {
			c := *s
			c.dests = slices.Clone(s.dests)
			e = &c
		}
		e.dests[i].Weight = o.Weight
	}
	if e == nil {
		return s
	}
	return e
}

// stateOverride is an Override as state files hold it.
type stateOverride struct {
	Service stateKey
	Addr    netip.AddrPort
	Weight  int
	Drain   bool      `json:",omitempty"`
	Until   time.Time `json:",omitzero"`
	Reason  string    `json:",omitempty"`
	Since   time.Time
}

func stateOverrides(list []Override) []stateOverride {
	var out []stateOverride
	for _, o := range list {
		out = append(out, stateOverride{stateKeyOf(o.Service), o.Addr, o.Weight, o.Drain, o.Until, o.Reason, o.Since})
	}
	return out
}

func overridesOf(sos []stateOverride) []Override {
	var out []Override
	for _, o := range sos {
		out = append(out, Override{o.Service.key(), o.Addr, o.Weight, o.Drain, o.Until, o.Reason, o.Since})
	}
	return out
}
