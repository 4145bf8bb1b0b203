package vrrp

import (
	"net/netip"
	"slices"
	"time"
)

// PriorityOwner is the priority of the address owner (it holds the
// virtual addresses as its own and goes master at once).
const PriorityOwner = 255

// Config is one VRRP instance (keepalived's vrrp_instance).
type Config struct {
	// Name names the instance in events (keepalived's instance name).
	Name string
	// Interface is the link adverts are sent and received on.
	Interface string
	// VRID is the virtual router's id, 1-255, unique on the interface.
	VRID uint8
	// Priority is 1-254, or 255 (PriorityOwner) for the address owner.
	Priority uint8
	// Version is V2 (IPv4 only; keepalived's default) or V3; zero is V2
	// for IPv4 and V3 for IPv6.
	Version Version
	// Interval is the advertisement interval: 1-255 whole seconds in v2,
	// 10ms-40.95s in centiseconds in v3; zero is one second.
	Interval time.Duration
	// VIPs are the virtual addresses, all of one family, added to
	// Interface (or to VIP.Interface) while master.
	VIPs []VIP
	// Excluded are held while master as VIPs are, but not listed in
	// adverts, and may be of either family (keepalived's
	// virtual_ipaddress_excluded); gratuitous ARPs / NAs go out for those
	// of the instance's family.
	Excluded []VIP
	// Source is the address adverts are sent from (keepalived's
	// unicast_src_ip); zero is the interface's primary address (IPv6: its
	// link-local address), filled in by the socket.
	Source netip.Addr
	// Peers, if any, are unicast peers adverts are sent to instead of the
	// multicast group (keepalived's unicast_peer); adverts from other
	// sources are refused.
	Peers []netip.Addr
	// AuthType and Password are v2's authentication (keepalived's
	// authentication { auth_type PASS auth_pass ... }); at most 8 bytes.
	AuthType AuthType
	Password string
	// NoPreempt keeps a lower-priority master in place when this instance
	// could take over (keepalived's nopreempt).
	NoPreempt bool
	// PreemptDelay waits this long, from the first lower-priority advert
	// heard in Backup (after start, a fault or a higher master), before
	// preempting (keepalived's preempt_delay, 0-1000s).
	PreemptDelay time.Duration
	// V3ChecksumAsV2 computes the v3 IPv4 checksum without the
	// pseudo-header (keepalived's vrrp_version 3 with v3_checksum_as_v2).
	V3ChecksumAsV2 bool
	// GARP is the gratuitous ARP / unsolicited neighbour advertisement
	// schedule on becoming master; zero is keepalived's default.
	GARP GARP
}

// VIP is a virtual address with its prefix length, and the interface it
// is added to (empty: the instance's).
type VIP struct {
	Prefix    netip.Prefix
	Interface string
}

// GARP is when gratuitous ARPs (IPv4) or unsolicited neighbour
// advertisements (IPv6) are sent: Repeat of each on becoming master,
// Repeat again Delay later, and RefreshRepeat every Refresh while master;
// a master that hears a lower priority sends LowerPrioRepeat and again
// LowerPrioDelay later. keepalived's defaults (vrrp_garp_master_repeat 5,
// vrrp_garp_master_delay 5, no refresh, the lower-priority ones as the
// master ones) are what the zero value means.
type GARP struct {
	Repeat          int
	Delay           time.Duration
	Refresh         time.Duration
	RefreshRepeat   int
	LowerPrioRepeat int
	LowerPrioDelay  time.Duration
	// Off sends none.
	Off bool
}

func (g GARP) withDefaults() GARP {
	if g.Off {
		return GARP{Off: true}
	}
	if g.Repeat == 0 {
		g.Repeat = 5
	}
	if g.Delay == 0 {
		g.Delay = 5 * time.Second
	}
	if g.RefreshRepeat == 0 {
		g.RefreshRepeat = 1
	}
	if g.LowerPrioRepeat == 0 {
		g.LowerPrioRepeat = g.Repeat
	}
	if g.LowerPrioDelay == 0 {
		g.LowerPrioDelay = g.Delay
	}
	return g
}

// held are the addresses the master holds: the VIPs, then the excluded.
func (c *Config) held() []VIP {
	return append(slices.Clip(c.VIPs), c.Excluded...)
}

// Is6 reports whether the instance is IPv6.
func (c *Config) Is6() bool {
	return len(c.VIPs) > 0 && c.VIPs[0].Prefix.Addr().Is6()
}

// withDefaults returns a copy with zero fields filled in.
func (c Config) withDefaults() Config {
	if c.Version == 0 {
		c.Version = V2
		if c.Is6() {
			c.Version = V3
		}
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	c.GARP = c.GARP.withDefaults()
	return c
}

// Validate checks the configuration; every error matches ErrInvalid.
func (c *Config) Validate() error {
	d := c.withDefaults()
	name := c.Name
	if name == "" {
		name = "instance"
	}
	if d.Interface == "" {
		return invalidf("%s: no interface", name)
	}
	if d.VRID == 0 {
		return invalidf("%s: VRID 0 is not 1-255", name)
	}
	if d.Priority == 0 {
		return invalidf("%s: priority 0 is not 1-255", name)
	}
	switch d.Version {
	case V2:
		if d.Interval < time.Second || d.Interval > 255*time.Second || d.Interval%time.Second != 0 {
			return invalidf("%s: v2 interval %s is not 1-255 whole seconds", name, d.Interval)
		}
	case V3:
		if d.Interval < 10*time.Millisecond || d.Interval > 40950*time.Millisecond || d.Interval%(10*time.Millisecond) != 0 {
			return invalidf("%s: v3 interval %s is not 10ms-40.95s in centiseconds", name, d.Interval)
		}
	default:
		return invalidf("%s: version %s is not 2 or 3", name, d.Version)
	}
	if len(d.VIPs) == 0 {
		return invalidf("%s: no virtual address", name)
	}
	if len(d.VIPs) > MaxAddrs {
		return invalidf("%s: %d virtual addresses, at most %d", name, len(d.VIPs), MaxAddrs)
	}
	v6 := d.Is6()
	seen := map[netip.Addr]bool{}
	for _, v := range d.VIPs {
		a := v.Prefix.Addr()
		if !v.Prefix.IsValid() || a.Zone() != "" || a.Is4In6() {
			return invalidf("%s: virtual address %q", name, v.Prefix)
		}
		if a.Is6() != v6 {
			return invalidf("%s: virtual addresses %s and %s of different families", name, d.VIPs[0].Prefix, v.Prefix)
		}
		if seen[a] {
			return invalidf("%s: virtual address %s twice", name, a)
		}
		seen[a] = true
	}
	for _, v := range d.Excluded {
		a := v.Prefix.Addr()
		if !v.Prefix.IsValid() || a.Zone() != "" || a.Is4In6() {
			return invalidf("%s: excluded virtual address %q", name, v.Prefix)
		}
		if seen[a] {
			return invalidf("%s: virtual address %s twice", name, a)
		}
		seen[a] = true
	}
	if v6 && d.Version == V2 {
		return invalidf("%s: IPv6 needs VRRP version 3", name)
	}
	if d.Source.IsValid() && d.Source.Is6() != v6 {
		return invalidf("%s: source %s is not of the virtual addresses' family", name, d.Source)
	}
	for _, p := range d.Peers {
		if !p.IsValid() || p.Is6() != v6 || p.IsMulticast() {
			return invalidf("%s: unicast peer %q", name, p)
		}
		if p == d.Source {
			return invalidf("%s: unicast peer %s is the source address", name, p)
		}
	}
	switch d.AuthType {
	case AuthNone:
		if d.Password != "" {
			return invalidf("%s: a password without auth type PASS", name)
		}
	case AuthPass:
		if d.Version != V2 {
			return invalidf("%s: authentication is VRRPv2 only", name)
		}
		if d.Password == "" || len(d.Password) > 8 {
			return invalidf("%s: PASS password of %d bytes is not 1-8", name, len(d.Password))
		}
	default:
		return invalidf("%s: auth type %s is not supported", name, d.AuthType)
	}
	if d.PreemptDelay < 0 || d.PreemptDelay > 1000*time.Second {
		return invalidf("%s: preempt delay %s is not 0-1000s", name, d.PreemptDelay)
	}
	g := d.GARP
	if g.Repeat < 0 || g.Repeat > 100 || g.RefreshRepeat < 0 || g.RefreshRepeat > 100 || g.LowerPrioRepeat < 0 || g.LowerPrioRepeat > 100 ||
		g.Delay < 0 || g.Refresh < 0 || g.LowerPrioDelay < 0 {
		return invalidf("%s: GARP schedule %+v", name, g)
	}
	return nil
}

func (c *Config) password() (p [8]byte) {
	copy(p[:], c.Password)
	return p
}
