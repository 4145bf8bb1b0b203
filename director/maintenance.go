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
// and the index of rs's entry, -1 if none), saves the state and has a
// running Run apply it; if the state cannot be saved, the list stays as it
// was and the error says why. disabling refuses what cannot be quiesced.
func (d *Director) maintain(ctx context.Context, svc ipvs.Key, rs netip.AddrPort, disabling bool, edit func([]Maintenance, int) []Maintenance) error {
	d.mu.Lock()
	var s *service
	if d.model != nil {
		s = d.model.service(svc)
	}
	if s == nil || !slices.ContainsFunc(s.dests, func(x ipvs.Destination) bool { return x.Addr == rs }) {
		d.mu.Unlock()
		return &UnknownRealServerError{Service: svc, Addr: rs}
	}
	if disabling && s.svc.Scheduler == ipvs.MaglevHashing && s.svc.Flags&ipvs.FlagMHFallback == 0 {
		d.mu.Unlock()
		return fmt.Errorf("director: %v: %s: %w", svc, errMHQuiesce, errors.ErrUnsupported)
	}
	i := slices.IndexFunc(d.st.Disabled, func(m Maintenance) bool { return m.Service == svc && m.Addr == rs })
	before := slices.Clone(d.st.Disabled)
	d.st.Disabled = edit(slices.Clone(d.st.Disabled), i)
	if err := d.save(); err != nil {
		// A change that cannot be kept is not made: Status, the next
		// plan and the state file all keep the list as it was.
		d.st.Disabled = before
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

// disabledTargets is the disabled list as a set; d.mu is held.
func (d *Director) disabledTargets() map[target]bool {
	if len(d.st.Disabled) == 0 {
		return nil
	}
	out := make(map[target]bool, len(d.st.Disabled))
	for _, m := range d.st.Disabled {
		out[target{m.Service, m.Addr}] = true
	}
	return out
}

// useModel makes m the configuration Disable and Enable check against and,
// with prune (Run's configurations, not a dry run's), forgets the disabled
// real servers m no longer lists.
func (d *Director) useModel(m *model, prune bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.model = m
	if !prune {
		return nil
	}
	n := len(d.st.Disabled)
	d.st.Disabled = slices.DeleteFunc(d.st.Disabled, func(x Maintenance) bool {
		s := m.service(x.Service)
		return s == nil || !slices.ContainsFunc(s.dests, func(y ipvs.Destination) bool { return y.Addr == x.Addr })
	})
	if len(d.st.Disabled) == n {
		return nil
	}
	return d.save()
}
