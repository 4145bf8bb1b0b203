package realserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// Role is a host in the real-server role; Teardown takes it back out. A Role
// holds a reference to its network namespace (a file descriptor) until
// Teardown; a role meant to outlive the process is simply never torn down.
type Role struct {
	cfg   Config
	netns int    // own duplicate of cfg.NetNS
	steps []step // what Setup changed, in order
}

// step is one change Setup made, with its exact undo.
type step struct {
	what string
	undo func(context.Context, *env) error
}

// env holds the handles a setup or teardown works with.
type env struct {
	rt *rtnl.Conn
	sc *sysctl.Sysctl
}

func openEnv(netns int) (*env, error) {
	rt, err := rtnl.Dial(netns)
	if err != nil {
		return nil, fmt.Errorf("realserver: %w", err)
	}
	sc, err := sysctl.New(&sysctl.Config{NetNS: netns})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("realserver: %w", err)
	}
	return &env{rt: rt, sc: sc}, nil
}

func (e *env) close() {
	e.rt.Close()
	e.sc.Close()
}

// Setup brings the namespace into the role described by cfg; see the
// package documentation for what it changes. A nil or bad cfg gives an
// error matching ErrInvalid (and fs.ErrInvalid) before anything changes;
// Setup keeps its own copy of cfg. If ctx ends, or a step fails, Setup
// undoes the steps already done (whatever ctx) and returns the error.
func Setup(ctx context.Context, cfg *Config) (*Role, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := *cfg
	c.VIPs = slices.Clone(cfg.VIPs)
	fd, err := netnsx.Dup(c.NetNS)
	if err != nil {
		return nil, err
	}
	r := &Role{cfg: c, netns: fd}
	e, err := openEnv(fd)
	if err != nil {
		r.release()
		return nil, err
	}
	defer e.close()
	if err := r.setup(ctx, e); err != nil {
		if uerr := r.undo(context.WithoutCancel(ctx), e); uerr != nil {
			err = fmt.Errorf("%w (undoing the steps already done also failed: %v)", err, uerr)
		}
		r.release()
		return nil, err
	}
	return r, nil
}

func (r *Role) setup(ctx context.Context, e *env) error {
	ifc := r.cfg.iface()
	link, err := e.rt.FindLink(ifc)
	if err != nil {
		return err
	}
	switch {
	case link == nil && r.cfg.Dummy:
		if err := e.rt.CreateLink(ifc, "dummy"); err != nil {
			return fmt.Errorf("realserver: create dummy %s: %w", ifc, rtnl.Unsupported(err, "the dummy module"))
		}
		r.done("created dummy device "+ifc, func(_ context.Context, e *env) error { return e.rt.DeleteLink(ifc) })
	case link == nil && r.cfg.Mode == TUN:
		// tunl0 (gre0, ip6tnl0, ip6gre0) appears in every namespace when
		// the ipip (ip_gre, ip6_tunnel, ip6_gre) module loads; asking for
		// such a link makes the kernel load it.
		tun := r.cfg.tunnel()
		err := e.rt.CreateLink(ifc, tun.kind)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("realserver: %s: %w", ifc, rtnl.Unsupported(err, "the "+tun.module+" module"))
		}
		if err == nil {
			r.done("created "+tun.kind+" device "+ifc, func(_ context.Context, e *env) error { return e.rt.DeleteLink(ifc) })
		}
	case link == nil:
		return fmt.Errorf("realserver: interface %s: %w", ifc, unix.ENODEV)
	case r.cfg.Dummy && link.Attributes.Info != nil && link.Attributes.Info.Kind != "dummy":
		return fmt.Errorf("realserver: %s exists and is a %s device, not a dummy", ifc, link.Attributes.Info.Kind)
	}
	if link, err = e.rt.FindLink(ifc); err != nil {
		return err
	}
	if link == nil {
		return fmt.Errorf("realserver: interface %s: %w", ifc, unix.ENODEV)
	}
	if link.Flags&unix.IFF_UP == 0 {
		if err := r.setUp(e, ifc, link.Index); err != nil {
			return err
		}
	}
	// ARP settings before the VIPs, so that no ARP reply for a VIP can
	// leave in between.
	undo, err := e.sc.Apply(ctx, r.cfg.settings()...)
	if err != nil {
		return fmt.Errorf("realserver: %w", err)
	}
	if len(undo) > 0 {
		var names []string
		for _, s := range undo {
			names = append(names, s.Key.String())
		}
		r.done("set "+strings.Join(names, ", "), func(ctx context.Context, e *env) error { return e.sc.Restore(ctx, undo) })
	}
	if r.cfg.anyProto() {
		if err := r.setupAnyProto(e, ifc, link.Index); err != nil {
			return err
		}
	}
	if r.cfg.Encap == GUE {
		if err := r.setupGUE(); err != nil {
			return err
		}
	}
	have, err := e.rt.Addrs(link.Index)
	if err != nil {
		return err
	}
	for _, vip := range r.cfg.VIPs {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := netip.PrefixFrom(vip, vip.BitLen())
		if slices.Contains(have, p) {
			continue // already there: not ours to remove
		}
		if err := e.rt.AddAddr(link.Index, p); err != nil {
			return fmt.Errorf("realserver: add %v to %s: %w", p, ifc, err)
		}
		r.done(fmt.Sprintf("added %v to %s", p, ifc), func(_ context.Context, e *env) error {
			l, err := e.rt.FindLink(ifc)
			if err != nil || l == nil {
				return err
			}
			return e.rt.DelAddr(l.Index, p)
		})
	}
	return nil
}

// setUp brings the device up. The kernel may add addresses of its own as it
// does (127.0.0.1/8 and ::1 on lo, an IPv6 link-local address elsewhere,
// tunnel devices included): those are Setup's doing too, and
// the undo removes them, then clears the flag. In that order: taking a
// device down deletes its IPv6 addresses (keep_addr_on_down is 0 by
// default), and one already gone is not an error.
func (r *Role) setUp(e *env, ifc string, index uint32) error {
	before, err := e.rt.Addrs(index)
	if err != nil {
		return err
	}
	if err := e.rt.SetUp(index, true); err != nil {
		return fmt.Errorf("realserver: set %s up: %w", ifc, err)
	}
	after, err := e.rt.Addrs(index)
	var added []netip.Prefix
	for _, p := range after {
		if !slices.Contains(before, p) {
			added = append(added, p)
		}
	}
	what := "set " + ifc + " up"
	if len(added) > 0 {
		what += fmt.Sprintf(" (the kernel added %v)", added)
	}
	r.done(what, func(_ context.Context, e *env) error {
		l, err := e.rt.FindLink(ifc)
		if err != nil || l == nil {
			return err
		}
		for _, p := range added {
			if err := e.rt.DelAddr(l.Index, p); err != nil {
				return fmt.Errorf("remove %v: %w", p, err)
			}
		}
		return e.rt.SetUp(l.Index, false)
	})
	return err // listing the addresses after: the step is recorded either way
}

// setupAnyProto lets ip6tnl0 decapsulate IPv4 in IPv6 (ip -6 tunnel
// change ip6tnl0 mode any) unless it does already; the undo puts back the
// protocol it had.
func (r *Role) setupAnyProto(e *env, ifc string, index uint32) error {
	_, proto, err := ip6tnlData(e.rt, index)
	if err != nil {
		return fmt.Errorf("realserver: %s: %w", ifc, err)
	}
	if acceptsIPv4(proto) {
		return nil
	}
	old, err := setTunnelProto(e.rt, r.netns, ifc, index, protoAny)
	if err != nil {
		return fmt.Errorf("realserver: set %s tunnel mode any: %w", ifc, err)
	}
	r.done(fmt.Sprintf("set %s tunnel mode %s (was %s)", ifc, tunnelProtoName(protoAny), tunnelProtoName(old)), func(_ context.Context, e *env) error {
		l, err := e.rt.FindLink(ifc)
		if err != nil || l == nil {
			return err
		}
		_, err = setTunnelProto(e.rt, r.netns, ifc, l.Index, old)
		return err
	})
	return nil
}

// setupGUE opens the GUE receive port unless it is open already. The port
// belongs to the outer family: GUE is the outer header's UDP.
func (r *Role) setupGUE() error {
	f, err := dialFOU(r.netns, r.cfg.outer6())
	if err != nil {
		return fmt.Errorf("realserver: GUE: %w", err)
	}
	defer f.close()
	port := r.cfg.GUEPort
	have, err := f.hasGUE(port)
	if err != nil {
		return fmt.Errorf("realserver: GUE port %d: %w", port, err)
	}
	if have {
		return nil
	}
	if err := f.add(port); err != nil {
		return fmt.Errorf("realserver: open GUE port %d: %w", port, err)
	}
	what := fmt.Sprintf("opened GUE receive port %d", port)
	if r.cfg.outer6() {
		what += " (IPv6)"
	}
	r.done(what, func(context.Context, *env) error {
		f, err := dialFOU(r.netns, r.cfg.outer6())
		if err != nil {
			return err
		}
		defer f.close()
		return f.del(port)
	})
	return nil
}

func (r *Role) done(what string, undo func(context.Context, *env) error) {
	r.steps = append(r.steps, step{what: what, undo: undo})
}

// Changes lists what Setup changed, in order; Teardown undoes them in
// reverse. An empty list means the host was already in the role.
func (r *Role) Changes() []string {
	out := make([]string, len(r.steps))
	for i, s := range r.steps {
		out[i] = s.what
	}
	return out
}

// Teardown removes what Setup added and restores the sysctls it changed,
// in reverse order. It tries every step and returns the errors joined.
// It runs to the end even if ctx is done, so that a role is never left
// half torn down (ctx's values are kept). A second Teardown does nothing.
func (r *Role) Teardown(ctx context.Context) error {
	if r.netns < 0 {
		return nil
	}
	e, err := openEnv(r.netns)
	if err != nil {
		return err
	}
	defer e.close()
	err = r.undo(context.WithoutCancel(ctx), e)
	r.release()
	return err
}

// undo runs the undo of every step, last first; ctx should not be one that
// ends, or the sysctls are left unrestored.
func (r *Role) undo(ctx context.Context, e *env) error {
	var errs []error
	for i := len(r.steps) - 1; i >= 0; i-- {
		if err := r.steps[i].undo(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("realserver: undo %q: %w", r.steps[i].what, err))
		}
	}
	r.steps = nil
	return errors.Join(errs...)
}

func (r *Role) release() {
	if r.netns > 0 {
		unix.Close(r.netns)
	}
	r.netns = -1
}
