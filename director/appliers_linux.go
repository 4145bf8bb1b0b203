package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"

	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// The appliers of the operations that are not IPVS changes (see appliers).

func (d *Director) applySysctl(ctx context.Context, o Op) error {
	undo, err := d.sc.Apply(ctx, o.Sysctl)
	if err != nil {
		return err
	}
	for _, u := range undo {
		if !slices.ContainsFunc(d.st.Sysctls, func(s sysctl.Setting) bool { return s.Key == u.Key }) {
			d.st.Sysctls = append(d.st.Sysctls, u)
		}
	}
	return nil
}

// syncDaemons stops the sync daemons running that are not wanted as they
// are, and starts the wanted ones not running.
func (d *Director) syncDaemons(ctx context.Context, o Op) error {
	for _, h := range o.OldDaemons {
		if slices.ContainsFunc(o.Daemons, func(w ipvs.SyncDaemon) bool { return sameDaemon(w, h) }) {
			continue
		}
		if err := d.ipvs.StopSyncDaemon(ctx, h.State); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, w := range o.Daemons {
		if slices.ContainsFunc(o.OldDaemons, func(h ipvs.SyncDaemon) bool { return sameDaemon(w, h) }) {
			continue
		}
		if err := d.ipvs.StartSyncDaemon(ctx, w); err != nil {
			return err
		}
	}
	d.st.Sync = len(o.Daemons) > 0
	return nil
}

func (d *Director) syncMarks(ctx context.Context, o Op) error {
	b, err := d.backend()
	if err != nil {
		return err
	}
	if _, err := b.Sync(ctx, o.Marks); err != nil {
		return err
	}
	d.st.Marks = len(o.Marks) > 0
	return nil
}

func (d *Director) syncSNAT(ctx context.Context, o Op) error {
	b, err := d.backend()
	if err != nil {
		return err
	}
	if _, err := b.SyncSNAT(ctx, o.SNAT); err != nil {
		return err
	}
	d.st.SNAT = len(o.SNAT) > 0
	return nil
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
		if !slices.Contains(d.st.Dummies, v.iface()) {
			d.st.Dummies = append(d.st.Dummies, v.iface())
		}
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
	if !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.on() == v.on() }) {
		d.st.VIPs = append(d.st.VIPs, v)
	}
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
	d.st.VIPs = slices.DeleteFunc(d.st.VIPs, func(x VIP) bool { return x.on() == v.on() })
	// A dummy device the Director made goes when no VIP of its uses it.
	if slices.Contains(d.st.Dummies, v.iface()) && !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.iface() == v.iface() }) {
		if err := rt.DeleteLink(v.iface()); err != nil {
			return err
		}
		d.st.Dummies = slices.DeleteFunc(d.st.Dummies, func(x string) bool { return x == v.iface() })
	}
	return nil
}
