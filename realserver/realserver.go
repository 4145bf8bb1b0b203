package realserver

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/lvs-go/lvs/internal/ifname"
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
	VIPs []netip.Addr
	// Interface holds the VIPs in DR mode: "lo" if empty. With Dummy set it
	// names a dummy device that Setup creates and Teardown deletes. In TUN
	// mode the VIPs are on tunl0 and Interface must be empty.
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

// tunnelDevice is the ipip module's fallback device, present in every
// namespace once the module is loaded; greDevice is ip_gre's.
const (
	tunnelDevice = "tunl0"
	greDevice    = "gre0"
)

// iface is the interface that holds the VIPs.
func (c *Config) iface() string {
	switch {
	case c.Mode == TUN && c.Encap == GRE:
		return greDevice
	case c.Mode == TUN:
		return tunnelDevice
	case c.Interface == "":
		return "lo"
	}
	return c.Interface
}

// ErrInvalid is matched by configuration errors, reported before anything
// is changed. They match fs.ErrInvalid too.
var ErrInvalid = fmt.Errorf("realserver: invalid configuration")

type invalidError struct {
	reason      string
	unsupported bool // a configuration this package does not implement
}

func (e *invalidError) Error() string { return "realserver: invalid configuration: " + e.reason }

// Is matches ErrInvalid and fs.ErrInvalid, and errors.ErrUnsupported for a
// configuration this package does not implement.
func (e *invalidError) Is(target error) bool {
	return target == ErrInvalid || target == fs.ErrInvalid || e.unsupported && target == errors.ErrUnsupported
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
		if c.Mode == TUN && v.Is6() {
			return &invalidError{fmt.Sprintf("VIP %v: TUN is implemented for IPv4 (tunl0, gre0); IPv6 over ip6tnl0 is not", v), true}
		}
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
	s := []sysctl.Setting{
		{Key: sysctl.ArpIgnore("all"), Value: "1"},
		{Key: sysctl.ArpAnnounce("all"), Value: "2"},
		{Key: sysctl.ArpIgnore(ifc), Value: "1"},
		{Key: sysctl.ArpAnnounce(ifc), Value: "2"},
	}
	if c.Mode == TUN {
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
