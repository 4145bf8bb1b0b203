package director

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
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

func (d *Director) addVIP(ctx context.Context, v VIP) error {
	l, err := d.links.Link(ctx, v.iface())
	if errors.Is(err, fs.ErrNotExist) && v.Dummy {
		if err := d.links.AddDummy(ctx, v.iface()); err != nil {
			return err
		}
		if !slices.Contains(d.st.Dummies, v.iface()) {
			d.st.Dummies = append(d.st.Dummies, v.iface())
		}
		l, err = d.links.Link(ctx, v.iface())
	}
	if err != nil {
		return err
	}
	if !l.Up {
		if err := d.links.SetUp(ctx, l.Name); err != nil {
			return err
		}
	}
	if err := d.links.AddAddr(ctx, l.Name, netip.PrefixFrom(v.Address, v.Address.BitLen())); err != nil {
		return err
	}
	if !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.on() == v.on() }) {
		d.st.VIPs = append(d.st.VIPs, v)
	}
	return nil
}

func (d *Director) removeVIP(ctx context.Context, v VIP) error {
	if err := d.links.DelAddr(ctx, v.iface(), netip.PrefixFrom(v.Address, v.Address.BitLen())); err != nil {
		return err
	}
	d.st.VIPs = slices.DeleteFunc(d.st.VIPs, func(x VIP) bool { return x.on() == v.on() })
	// A dummy device the Director made goes when no VIP of its uses it.
	// It must still be a dummy: the state file's word alone deletes no
	// other link.
	if slices.Contains(d.st.Dummies, v.iface()) && !slices.ContainsFunc(d.st.VIPs, func(x VIP) bool { return x.iface() == v.iface() }) {
		l, err := d.links.Link(ctx, v.iface())
		switch {
		case err == nil && l.Kind == "dummy":
			if err := d.links.DeleteLink(ctx, v.iface()); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return err
		}
		d.st.Dummies = slices.DeleteFunc(d.st.Dummies, func(x string) bool { return x == v.iface() })
	}
	return nil
}
