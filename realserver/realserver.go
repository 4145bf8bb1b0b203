package realserver

import (
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/lvs-go/lvs/internal/ifname"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// Mode is the forwarding method the director uses toward this server.
type Mode int

// Modes.
const (
	DR  Mode = iota + 1 // direct routing: the VIP on lo (or a dummy device)
	TUN                 // IP-in-IP tunnelling: the VIP on tunl0
)

func (m Mode) String() string {
	switch m {
	case DR:
		return "DR"
	case TUN:
		return "TUN"
	}
	return fmt.Sprintf("unknown(%d)", int(m))
}

// Encap is the tunnel encapsulation a TUN real server receives.
type Encap int

// Encapsulations, as the director's tunnel destinations send them (ipvs
// TunnelIPIP, TunnelGUE, TunnelGRE).
const (
	IPIP Encap = iota // IP in IP: received on tunl0 (module ipip)
	GUE               // IP in IP in GUE over UDP: a fou port (module fou), then tunl0
	GRE               // IP in GRE: received on gre0 (module ip_gre)
)

// Config describes the role.
type Config struct {
	Mode Mode
	// VIPs are the virtual addresses the server accepts (IPv4 or IPv6).
	// In TUN mode they are all of one family, the family of the tunnelled
	// (inner) packets: a server with IPv4 and IPv6 VIPs takes two roles.
	VIPs []netip.Addr
	// OuterFamily is the family of the tunnel's outer header, that of the
	// server's address the director tunnels to, when it differs from the
	// VIPs' family: ipvs.IPv6 for IPv4 VIPs whose service has IPv6 real
	// servers (IPv4 in IPv6, received on ip6tnl0, or ip6gre0 for GRE),
	// ipvs.IPv4 for IPv6 VIPs whose service has IPv4 real servers (IPv6 in
	// IPv4, received on sit0, or gre0 for GRE). Zero, or the VIPs' own
	// family, means the outer family is the VIPs'. TUN only.
	OuterFamily ipvs.Family
	// Interface holds the VIPs in DR mode: "lo" if empty. With Dummy set it
	// names a dummy device that Setup creates and Teardown deletes. In TUN
	// mode the VIPs are on the tunnel device (tunl0, gre0; ip6tnl0, ip6gre0
	// for IPv6; across families see OuterFamily) and Interface must be
	// empty.
	Interface string
	Dummy     bool
	// Encap is the TUN encapsulation; IPIP if zero.
	Encap Encap
	// GUEPort is the UDP port GUE packets arrive on (the director's
	// destination TunnelPort); GUE only.
	GUEPort uint16
	// NetNS is an open file descriptor of the network namespace to
	// configure; zero means the caller's.
	NetNS int
}

// tunnel is a tunnel module's fallback device, present in every namespace
// once the module is loaded (unless net.core.fb_tunnels_only_for_init_net
// says otherwise): the device that receives what no configured tunnel
// claims, from any remote address.
type tunnel struct {
	device, kind, module string
}

// The fallback devices of ipip, ip_gre, ip6_tunnel, ip6_gre and sit.
var (
	tunl0   = tunnel{"tunl0", "ipip", "ipip"}
	gre0    = tunnel{"gre0", "gre", "ip_gre"}
	ip6tnl0 = tunnel{"ip6tnl0", "ip6tnl", "ip6_tunnel"}
	ip6gre0 = tunnel{"ip6gre0", "ip6gre", "ip6_gre"}
	sit0    = tunnel{"sit0", "sit", "sit"}
)

// ipv6 reports whether the role is for IPv6 VIPs (in TUN mode all VIPs
// are of one family).
func (c *Config) ipv6() bool { return len(c.VIPs) > 0 && c.VIPs[0].Is6() }

// outer6 reports whether the tunnel's outer header is IPv6.
func (c *Config) outer6() bool {
	if c.OuterFamily == 0 {
		return c.ipv6()
	}
	return c.OuterFamily == ipvs.IPv6
}

// cross reports whether a TUN role's outer family differs from its VIPs'.
func (c *Config) cross() bool { return c.Mode == TUN && c.outer6() != c.ipv6() }

// tunnel is the TUN role's device, chosen by the outer header: IPIP and
// GUE packets (GUE is IP-in-IP in UDP) are decapsulated on tunl0 (IPv4 in
// IPv4), sit0 (IPv6 in IPv4) or ip6tnl0 (IPv6 or IPv4 in IPv6); GRE on
// gre0, or ip6gre0 over IPv6, whatever it carries.
func (c *Config) tunnel() tunnel {
	switch {
	case c.Encap == GRE && c.outer6():
		return ip6gre0
	case c.Encap == GRE:
		return gre0
	case c.outer6():
		return ip6tnl0
	case c.ipv6():
		return sit0
	}
	return tunl0
}

// anyProto reports whether the role needs ip6tnl0 to take IPv4 inner
// packets: the fallback device decapsulates only IPv6 in IPv6 unless its
// tunnel protocol is "any" (or ipip).
func (c *Config) anyProto() bool { return c.cross() && c.tunnel() == ip6tnl0 }

// iface is the interface that holds the VIPs.
func (c *Config) iface() string {
	switch {
	case c.Mode == TUN:
		return c.tunnel().device
	case c.Interface == "":
		return "lo"
	}
	return c.Interface
}

// ErrInvalid is matched by configuration errors, reported before anything
// is changed. They match fs.ErrInvalid too.
var ErrInvalid = fmt.Errorf("realserver: invalid configuration")

type invalidError struct{ reason string }

func (e *invalidError) Error() string { return "realserver: invalid configuration: " + e.reason }

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *invalidError) Is(target error) bool {
	return target == ErrInvalid || target == fs.ErrInvalid
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error { return &invalidError{reason: fmt.Sprintf(format, args...)} }
	if c == nil {
		return bad("no configuration")
	}
	if c.Mode != DR && c.Mode != TUN {
		return bad("mode %v is not DR or TUN", c.Mode)
	}
	if len(c.VIPs) == 0 {
		return bad("no VIPs")
	}
	seen := map[netip.Addr]bool{}
	for _, v := range c.VIPs {
		if !v.IsValid() || v.IsUnspecified() || v.IsMulticast() || v.Unmap() != v || v.Zone() != "" {
			return bad("VIP %v is not a unicast address", v)
		}
		if seen[v] {
			return bad("VIP %v listed twice", v)
		}
		seen[v] = true
		if c.Mode == TUN && v.Is6() != c.VIPs[0].Is6() {
			return bad("VIPs %v and %v: TUN takes the VIPs of one family, each on its own tunnel device: set up one role per family", c.VIPs[0], v)
		}
	}
	switch {
	case c.OuterFamily != 0 && c.OuterFamily != ipvs.IPv4 && c.OuterFamily != ipvs.IPv6:
		return bad("outer family %v is not IPv4 or IPv6", c.OuterFamily)
	case c.OuterFamily != 0 && c.Mode != TUN:
		return bad("OuterFamily is for TUN")
	}
	if c.Mode == TUN && (c.Interface != "" || c.Dummy) {
		return bad("TUN puts the VIPs on the tunnel device; Interface and Dummy are for DR")
	}
	if c.Dummy && (c.Interface == "" || c.Interface == "lo") {
		return bad("Dummy needs an Interface name other than lo")
	}
	if c.Interface != "" && !ifname.Valid(c.Interface) {
		return bad("interface name %q", c.Interface)
	}
	switch {
	case c.Encap < IPIP || c.Encap > GRE:
		return bad("unknown encapsulation %v", c.Encap)
	case c.Encap != IPIP && c.Mode != TUN:
		return bad("encapsulation %v is for TUN", c.Encap)
	case c.Encap == GUE && c.GUEPort == 0:
		return bad("GUE needs GUEPort")
	case c.Encap != GUE && c.GUEPort != 0:
		return bad("GUEPort is for GUE")
	}
	return nil
}

// settings are the sysctls the role needs.
func (c *Config) settings() []sysctl.Setting {
	ifc := c.iface()
	if c.Mode == TUN && c.ipv6() {
		// IPv6 has neither ARP nor rp_filter. The tunnel device must have
		// IPv6 on: the decapsulated packets arrive on it (ipv6_rcv drops
		// what arrives on a device with disable_ipv6=1), and it must
		// accept the VIPs. Over IPv4 (sit0, gre0) nothing IPv4 is needed
		// either: the outer packets are addressed to the server's own
		// address.
		return []sysctl.Setting{{Key: sysctl.ConfIPv6(ifc, "disable_ipv6"), Value: "0"}}
	}
	s := []sysctl.Setting{
		{Key: sysctl.ArpIgnore("all"), Value: "1"},
		{Key: sysctl.ArpAnnounce("all"), Value: "2"},
		{Key: sysctl.ArpIgnore(ifc), Value: "1"},
		{Key: sysctl.ArpAnnounce(ifc), Value: "2"},
	}
	if c.Mode == TUN {
		// Also over IPv6 (ip6tnl0, ip6gre0): the inner IPv4 packets arrive
		// on the tunnel device and are filtered and answered as IPv4.
		s = append(s,
			sysctl.Setting{Key: sysctl.RPFilter("all"), Value: "0"},
			sysctl.Setting{Key: sysctl.RPFilter(ifc), Value: "0"},
		)
	}
	return s
}

func (e Encap) String() string {
	switch e {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return fmt.Sprintf("unknown(%d)", int(e))
}
