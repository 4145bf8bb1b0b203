package realserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/sysctl"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Role is a host in the real-server role; Teardown takes it back out.
type Role struct {
	cfg   Config
	netns int    // own duplicate of cfg.NetNS
	steps []step // what Setup changed, in order
}

// step is one change Setup made, with its exact undo.
type step struct {
	what string
	undo func(*env) error
}

// env holds the handles a setup or teardown works with.
type env struct {
	rt *rtnetlink.Conn
	sc *sysctl.Sysctl
}

func openEnv(netns int) (*env, error) {
	rt, err := rtnetlink.Dial(&netlink.Config{NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("realserver: rtnetlink: %w", err)
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
// package documentation for what it changes.
func Setup(ctx context.Context, cfg Config) (*Role, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fd, err := netnsx.Dup(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	r := &Role{cfg: cfg, netns: fd}
	e, err := openEnv(fd)
	if err != nil {
		r.release()
		return nil, err
	}
	defer e.close()
	if err := r.setup(ctx, e); err != nil {
		if uerr := r.undo(e); uerr != nil {
			err = fmt.Errorf("%w (undoing the steps already done also failed: %v)", err, uerr)
		}
		r.release()
		return nil, err
	}
	return r, nil
}

func (r *Role) setup(ctx context.Context, e *env) error {
	ifc := r.cfg.iface()
	link, err := findLink(e.rt, ifc)
	if err != nil {
		return err
	}
	switch {
	case link == nil && r.cfg.Dummy:
		if err := e.rt.Link.New(&rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{
			Name: ifc, Info: &rtnetlink.LinkInfo{Kind: "dummy"}}}); err != nil {
			return fmt.Errorf("realserver: create dummy %s: %w", ifc, unsupportedIf(err, "the dummy module"))
		}
		r.done("created dummy device "+ifc, func(e *env) error { return deleteLink(e.rt, ifc) })
	case link == nil && r.cfg.Mode == TUN:
		// tunl0 (gre0) appears in every namespace when the ipip (ip_gre)
		// module loads; asking for such a link makes the kernel load it.
		kind, module := "ipip", "the ipip module"
		if r.cfg.Encap == GRE {
			kind, module = "gre", "the ip_gre module"
		}
		err := e.rt.Link.New(&rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{
			Name: ifc, Info: &rtnetlink.LinkInfo{Kind: kind}}})
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("realserver: %s: %w", ifc, unsupportedIf(err, module))
		}
		if err == nil {
			r.done("created "+kind+" device "+ifc, func(e *env) error { return deleteLink(e.rt, ifc) })
		}
	case link == nil:
		return fmt.Errorf("realserver: interface %s: %w", ifc, unix.ENODEV)
	case r.cfg.Dummy && link.Attributes.Info != nil && link.Attributes.Info.Kind != "dummy":
		return fmt.Errorf("realserver: %s exists and is a %s device, not a dummy", ifc, link.Attributes.Info.Kind)
	}
	if link, err = findLink(e.rt, ifc); err != nil {
		return err
	}
	if link == nil {
		return fmt.Errorf("realserver: interface %s: %w", ifc, unix.ENODEV)
	}
	if link.Flags&unix.IFF_UP == 0 {
		if err := setUp(e.rt, link.Index, true); err != nil {
			return fmt.Errorf("realserver: set %s up: %w", ifc, err)
		}
		r.done("set "+ifc+" up", func(e *env) error {
			l, err := findLink(e.rt, ifc)
			if err != nil || l == nil {
				return err
			}
			return setUp(e.rt, l.Index, false)
		})
	}
	// ARP settings before the VIPs, so that no ARP reply for a VIP can
	// leave in between.
	undo, err := e.sc.Apply(r.cfg.settings()...)
	if err != nil {
		return fmt.Errorf("realserver: %w", err)
	}
	if len(undo) > 0 {
		var names []string
		for _, s := range undo {
			names = append(names, s.Key.String())
		}
		r.done("set "+strings.Join(names, ", "), func(e *env) error { return e.sc.Restore(undo) })
	}
	if r.cfg.Encap == GUE {
		if err := r.setupGUE(); err != nil {
			return err
		}
	}
	have, err := addrsOf(e.rt, link.Index)
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
		msg := addrMessage(link.Index, p)
		if err := e.rt.Address.New(msg); err != nil {
			return fmt.Errorf("realserver: add %v to %s: %w", p, ifc, err)
		}
		r.done(fmt.Sprintf("added %v to %s", p, ifc), func(e *env) error {
			l, err := findLink(e.rt, ifc)
			if err != nil || l == nil {
				return err
			}
			err = e.rt.Address.Delete(addrMessage(l.Index, p))
			if errors.Is(err, unix.EADDRNOTAVAIL) {
				return nil // already gone
			}
			return err
		})
	}
	return nil
}

// setupGUE opens the GUE receive port unless it is open already.
func (r *Role) setupGUE() error {
	f, err := dialFOU(r.netns)
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
	r.done(fmt.Sprintf("opened GUE receive port %d", port), func(*env) error {
		f, err := dialFOU(r.netns)
		if err != nil {
			return err
		}
		defer f.close()
		return f.del(port)
	})
	return nil
}

func (r *Role) done(what string, undo func(*env) error) {
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
// A second Teardown does nothing.
func (r *Role) Teardown(ctx context.Context) error {
	if r.netns < 0 {
		return nil
	}
	e, err := openEnv(r.netns)
	if err != nil {
		return err
	}
	defer e.close()
	err = r.undo(e)
	r.release()
	return err
}

func (r *Role) undo(e *env) error {
	var errs []error
	for i := len(r.steps) - 1; i >= 0; i-- {
		if err := r.steps[i].undo(e); err != nil {
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

func findLink(rt *rtnetlink.Conn, name string) (*rtnetlink.LinkMessage, error) {
	links, err := rt.Link.List()
	if err != nil {
		return nil, fmt.Errorf("realserver: list links: %w", err)
	}
	for i := range links {
		if links[i].Attributes != nil && links[i].Attributes.Name == name {
			return &links[i], nil
		}
	}
	return nil, nil
}

func deleteLink(rt *rtnetlink.Conn, name string) error {
	l, err := findLink(rt, name)
	if err != nil || l == nil {
		return err
	}
	return rt.Link.Delete(l.Index)
}

func setUp(rt *rtnetlink.Conn, index uint32, up bool) error {
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	return rt.Link.Set(&rtnetlink.LinkMessage{Index: index, Flags: flags, Change: unix.IFF_UP})
}

func addrsOf(rt *rtnetlink.Conn, index uint32) ([]netip.Prefix, error) {
	msgs, err := rt.Address.List()
	if err != nil {
		return nil, fmt.Errorf("realserver: list addresses: %w", err)
	}
	var out []netip.Prefix
	for _, m := range msgs {
		if m.Index != index || m.Attributes == nil {
			continue
		}
		ip := m.Attributes.Local
		if ip == nil {
			ip = m.Attributes.Address
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, netip.PrefixFrom(a.Unmap(), int(m.PrefixLength)))
		}
	}
	return out, nil
}

func addrMessage(index uint32, p netip.Prefix) *rtnetlink.AddressMessage {
	fam := uint8(unix.AF_INET)
	var flags uint32
	if p.Addr().Is6() {
		fam = unix.AF_INET6
		flags = unix.IFA_F_NODAD
	}
	ip := net.IP(p.Addr().AsSlice())
	return &rtnetlink.AddressMessage{
		Family: fam, PrefixLength: uint8(p.Bits()), Scope: unix.RT_SCOPE_UNIVERSE, Index: index,
		Attributes: &rtnetlink.AddressAttributes{Address: ip, Local: ip, Flags: flags},
	}
}

// unsupportedIf marks errors that mean the kernel lacks a device kind.
func unsupportedIf(err error, what string) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s is not available: %w (%w)", what, errors.ErrUnsupported, err)
	}
	return err
}
