//go:build linux

package lab

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/jsimonetti/rtnetlink/v2/driver"
	"golang.org/x/sys/unix"
)

// Port is one end of a link or one bridge port: the interface If in Host,
// with the address CIDR ("10.0.0.8/24"; empty for none).
type Port struct {
	Host     *Host
	If, CIDR string
}

// Link joins two hosts with a veth pair, a.If in a.Host and b.If in b.Host,
// adds the ports' addresses and brings both ends up.
func (l *Lab) Link(a, b Port) error {
	pa, err := l.checkPort(a)
	if err != nil {
		return err
	}
	pb, err := l.checkPort(b)
	if err != nil {
		return err
	}
	release, err := l.acquire()
	if err != nil {
		return err
	}
	defer release()
	return l.link(a, pa, b, pb, nil)
}

// Bridge makes one L2 segment: a new host called name (a namespace holding
// only the bridge, also called name, and its ports) with one veth port per
// entry of ports, each attached to the bridge on one side and named If, with
// the port's address, on the other. It returns the bridge's host.
func (l *Lab) Bridge(name string, ports ...Port) (*Host, error) {
	if err := checkIfName(name); err != nil {
		return nil, err
	}
	addrs := make([]netip.Prefix, len(ports))
	for i, p := range ports {
		var err error
		if addrs[i], err = l.checkPort(p); err != nil {
			return nil, err
		}
	}
	sw, err := l.NewHost(name)
	if err != nil {
		return nil, err
	}
	release, err := l.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	err = sw.rt.Link.New(&rtnetlink.LinkMessage{
		Family:     unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{Name: name, Info: &rtnetlink.LinkInfo{Kind: "bridge"}},
	})
	if err != nil {
		return nil, fmt.Errorf("lab: bridge %s: create: %w", name, err)
	}
	br, err := sw.ifindex(name)
	if err != nil {
		return nil, err
	}
	if err := sw.setUp(name); err != nil {
		return nil, err
	}
	for i, p := range ports {
		swPort := Port{Host: sw, If: bridgePortName(p)}
		if err := l.link(swPort, netip.Prefix{}, p, addrs[i], &br); err != nil {
			return nil, err
		}
	}
	return sw, nil
}

// bridgePortName names the bridge side of p after the host and interface
// it leads to, cut to the kernel's 15 bytes.
func bridgePortName(p Port) string {
	n := p.Host.name + "-" + p.If
	if len(n) > 15 {
		n = n[:15]
	}
	return n
}

// checkPort validates p and returns its parsed address (zero if none).
func (l *Lab) checkPort(p Port) (netip.Prefix, error) {
	if p.Host == nil || p.Host.lab != l {
		return netip.Prefix{}, fmt.Errorf("lab: port %s: host not of this lab", p.If)
	}
	if err := checkIfName(p.If); err != nil {
		return netip.Prefix{}, err
	}
	if p.CIDR == "" {
		return netip.Prefix{}, nil
	}
	return parseCIDR(p.CIDR)
}

// link creates the veth pair a-b from a's namespace (with a enslaved to the
// bridge *master if master is set), brings both ends up and addresses them.
func (l *Lab) link(a Port, pa netip.Prefix, b Port, pb netip.Prefix, master *uint32) error {
	err := a.Host.rt.Link.New(&rtnetlink.LinkMessage{
		Family: unix.AF_UNSPEC,
		Attributes: &rtnetlink.LinkAttributes{
			Name:   a.If,
			Master: master,
			Info: &rtnetlink.LinkInfo{Kind: "veth", Data: &driver.Veth{PeerInfo: &rtnetlink.LinkMessage{
				Family: unix.AF_UNSPEC,
				Attributes: &rtnetlink.LinkAttributes{
					Name:  b.If,
					NetNS: rtnetlink.NetNSForFD(uint32(b.Host.ns)),
				},
			}}},
		},
	})
	if err != nil {
		return fmt.Errorf("lab: veth %s/%s - %s/%s: %w", a.Host.name, a.If, b.Host.name, b.If, err)
	}
	for _, end := range []struct {
		p    Port
		addr netip.Prefix
	}{{a, pa}, {b, pb}} {
		if end.addr.IsValid() {
			if err := end.p.Host.addAddr(end.p.If, end.addr); err != nil {
				return err
			}
		}
		if err := end.p.Host.setUp(end.p.If); err != nil {
			return err
		}
	}
	return nil
}

// ifindex returns the index of the interface called name.
func (h *Host) ifindex(name string) (uint32, error) {
	links, err := h.rt.Link.List()
	if err != nil {
		return 0, fmt.Errorf("lab: %s: list links: %w", h.name, err)
	}
	for _, m := range links {
		if m.Attributes != nil && m.Attributes.Name == name {
			return m.Index, nil
		}
	}
	return 0, fmt.Errorf("lab: %s: interface %s: %w", h.name, name, os.ErrNotExist)
}

// setUp sets the interface called name administratively up.
func (h *Host) setUp(name string) error {
	err := h.rt.Link.Set(&rtnetlink.LinkMessage{
		Family:     unix.AF_UNSPEC,
		Flags:      unix.IFF_UP,
		Change:     unix.IFF_UP,
		Attributes: &rtnetlink.LinkAttributes{Name: name},
	})
	if err != nil {
		return fmt.Errorf("lab: %s: set %s up: %w", h.name, name, err)
	}
	return nil
}

// addAddr adds p to the interface called name: global scope (host scope for
// loopback addresses), the broadcast address for IPv4, no DAD for IPv6.
func (h *Host) addAddr(name string, p netip.Prefix) error {
	idx, err := h.ifindex(name)
	if err != nil {
		return err
	}
	ip := net.IP(p.Addr().AsSlice())
	msg := &rtnetlink.AddressMessage{
		Family:       unix.AF_INET,
		PrefixLength: uint8(p.Bits()),
		Scope:        unix.RT_SCOPE_UNIVERSE,
		Index:        idx,
		Attributes:   &rtnetlink.AddressAttributes{Address: ip, Local: ip},
	}
	if p.Addr().IsLoopback() {
		msg.Scope = unix.RT_SCOPE_HOST
	}
	if p.Addr().Is6() {
		msg.Family = unix.AF_INET6
		msg.Attributes.Flags = unix.IFA_F_NODAD
	} else if p.Bits() < 31 {
		msg.Attributes.Broadcast = broadcast(p)
	}
	if err := h.rt.Address.New(msg); err != nil {
		return fmt.Errorf("lab: %s: add %s to %s: %w", h.name, p, name, err)
	}
	return nil
}

// broadcast returns the IPv4 broadcast address of p.
func broadcast(p netip.Prefix) net.IP {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	return binary.BigEndian.AppendUint32(nil, v)
}

// route adds a unicast route to dst through gw in the main table.
func (h *Host) route(dst netip.Prefix, gw netip.Addr) error {
	msg := &rtnetlink.RouteMessage{
		Family:    unix.AF_INET,
		DstLength: uint8(dst.Bits()),
		Table:     unix.RT_TABLE_MAIN,
		Protocol:  unix.RTPROT_BOOT,
		Scope:     unix.RT_SCOPE_UNIVERSE,
		Type:      unix.RTN_UNICAST,
		Attributes: rtnetlink.RouteAttributes{
			Gateway: net.IP(gw.AsSlice()),
		},
	}
	if gw.Is6() {
		msg.Family = unix.AF_INET6
	}
	if dst.Bits() > 0 {
		msg.Attributes.Dst = net.IP(dst.Addr().AsSlice())
	}
	if err := h.rt.Route.Add(msg); err != nil {
		return fmt.Errorf("lab: %s: route %s via %s: %w", h.name, dst, gw, err)
	}
	return nil
}
