package director

import (
	"context"
	"net/netip"

	"github.com/lvs-go/lvs/director/vrrp"

	"github.com/lvs-go/lvs/sysctl"
)

// The kernel sides a Director acts on besides IPVS (ipvs.API) and the
// firewall (iptables.Backend), as small interfaces: the real ones are the
// defaults (see Options), package director/directortest has in-memory
// ones.

// Sysctls reads and writes a namespace's sysctls, as *sysctl.Sysctl does.
type Sysctls interface {
	// Get returns the key's value.
	Get(ctx context.Context, k sysctl.Key) (string, error)
	// Apply writes the settings and returns what they replaced (the values
	// before, for Restore), in order.
	Apply(ctx context.Context, settings ...sysctl.Setting) (undo sysctl.Snapshot, err error)
	// Restore writes a snapshot's values back, last first.
	Restore(ctx context.Context, snap sysctl.Snapshot) error
}

// Links manages network links and their addresses by name, as the VIPs
// need: a missing link is fs.ErrNotExist.
type Links interface {
	// Link returns the named link; an error matching fs.ErrNotExist if
	// there is none.
	Link(ctx context.Context, name string) (Link, error)
	// AddDummy creates a dummy link, down.
	AddDummy(ctx context.Context, name string) error
	// DeleteLink deletes the named link; none is not an error.
	DeleteLink(ctx context.Context, name string) error
	// SetUp brings the named link up.
	SetUp(ctx context.Context, name string) error
	// Addrs returns the link's addresses.
	Addrs(ctx context.Context, name string) ([]netip.Prefix, error)
	// AddAddr adds an address to the link; one it has already is an error
	// matching fs.ErrExist.
	AddAddr(ctx context.Context, name string, p netip.Prefix) error
	// DelAddr removes an address from the link; one it does not have is
	// not an error.
	DelAddr(ctx context.Context, name string, p netip.Prefix) error
}

// Link is a network link as Links reports it.
type Link struct {
	Name string
	// Kind is the link's kind as the kernel says it ("dummy", "veth",
	// "bridge"...; empty for a device with none, such as a physical one).
	Kind string
	Up   bool
}

// VRRPSides open what a VRRP instance (package director/vrrp) speaks
// through: its socket and its gratuitous ARP / neighbour advertisement
// sender. The default (Options.VRRP nil) opens the real ones in the
// Director's namespace, which needs CAP_NET_RAW; package directortest has
// an in-memory network of them (directortest.VRRPNetwork).
type VRRPSides interface {
	// Listen opens the socket of the instance cfg (cfg.Source zero: the
	// interface's primary address, as vrrp.Listen picks it).
	Listen(cfg *vrrp.Config) (vrrp.Conn, error)
	// Announcer opens what announces addresses on iface (IPv6 if v6); nil
	// with no error announces nothing. One that is an io.Closer is closed
	// when its instance stops.
	Announcer(iface string, v6 bool) (vrrp.Announcer, error)
}
