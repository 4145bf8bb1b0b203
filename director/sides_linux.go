package director

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"sync"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// The default kernel sides: the real ones in the Director's namespace.

func defaultIPVS(netns int, opts *Options) (ipvs.API, error) {
	return ipvs.New(&ipvs.Config{NetNS: netns, SkipFeatureChecks: opts.SkipFeatureChecks})
}

func defaultSysctls(netns int) (Sysctls, error) { return sysctl.New(&sysctl.Config{NetNS: netns}) }

func defaultFirewall(netns int, kind iptables.Kind) (iptables.Backend, error) {
	return iptables.New(&iptables.Config{NetNS: netns, Backend: kind})
}

func defaultLinks(netns int) (Links, error) {
	c, err := rtnl.Dial(netns)
	if err != nil {
		return nil, err
	}
	return &rtLinks{c: c}, nil
}

// rtLinks are Links over one rtnetlink connection, used one call at a
// time.
type rtLinks struct {
	mu sync.Mutex
	c  *rtnl.Conn
}

func (l *rtLinks) Close() error { return l.c.Close() }

// find returns the named link; fs.ErrNotExist if there is none. l.mu is
// held.
func (l *rtLinks) find(name string) (*rtnetlink.LinkMessage, error) {
	m, err := l.c.FindLink(name)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("interface %s: %w", name, fs.ErrNotExist)
	}
	return m, nil
}

func (l *rtLinks) Link(_ context.Context, name string) (Link, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.find(name)
	if err != nil {
		return Link{}, err
	}
	out := Link{Name: name, Up: m.Flags&unix.IFF_UP != 0}
	if m.Attributes != nil && m.Attributes.Info != nil {
		out.Kind = m.Attributes.Info.Kind
	}
	return out, nil
}

func (l *rtLinks) AddDummy(_ context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.c.CreateLink(name, "dummy"); err != nil {
		return rtnl.Unsupported(err, "the dummy module")
	}
	return nil
}

func (l *rtLinks) DeleteLink(_ context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.c.DeleteLink(name)
}

func (l *rtLinks) SetUp(_ context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.find(name)
	if err != nil {
		return err
	}
	return l.c.SetUp(m.Index, true)
}

func (l *rtLinks) Addrs(_ context.Context, name string) ([]netip.Prefix, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.find(name)
	if err != nil {
		return nil, err
	}
	return l.c.Addrs(m.Index)
}

func (l *rtLinks) AddAddr(_ context.Context, name string, p netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.find(name)
	if err != nil {
		return err
	}
	return l.c.AddAddr(m.Index, p)
}

func (l *rtLinks) DelAddr(_ context.Context, name string, p netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, err := l.find(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return l.c.DelAddr(m.Index, p)
}

// OpenLinks returns the Links a Director uses by default: rtnetlink in
// the namespace open as netns (0: the caller's). Close it (it is an
// io.Closer) when done.
func OpenLinks(netns int) (Links, error) { return defaultLinks(netns) }

// netnsVRRP are the real VRRP sides in a namespace.
type netnsVRRP struct{ netns int }

func defaultVRRP(netns int) (VRRPSides, error) { return netnsVRRP{netns}, nil }

func (n netnsVRRP) Listen(cfg *vrrp.Config) (vrrp.Conn, error) { return vrrp.Listen(cfg, n.netns) }

func (n netnsVRRP) Announcer(iface string, v6 bool) (vrrp.Announcer, error) {
	return vrrp.NewAnnouncer(iface, v6, n.netns)
}
