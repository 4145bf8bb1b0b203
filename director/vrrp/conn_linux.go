package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Listen opens a raw IP protocol 112 socket for cfg on its interface in
// the network namespace open as netns (0: the caller's): multicast
// membership of 224.0.0.18 / ff02::12 unless cfg has unicast peers, TTL /
// hop limit 255, received TTL, destination and interface reported. The
// socket keeps its namespace and may be used from any goroutine.
func Listen(cfg *Config, netns int) (Conn, error) {
	c := cfg.withDefaults()
	var conn Conn
	err := netnsx.Do(netns, func() error {
		ifi, err := net.InterfaceByName(c.Interface)
		if err != nil {
			return fmt.Errorf("vrrp: interface %s: %w", c.Interface, err)
		}
		src := c.Source
		if !src.IsValid() {
			if src, err = primary(ifi, c.Is6()); err != nil {
				return err
			}
		}
		if c.Is6() {
			conn, err = listen6(ifi, src, len(c.Peers) == 0)
		} else {
			conn, err = listen4(ifi, src, len(c.Peers) == 0)
		}
		return err
	})
	return conn, err
}

// primary is the interface's first IPv4 address, or its link-local IPv6
// address, as keepalived picks its source.
func primary(ifi *net.Interface, v6 bool) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("vrrp: addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		ip = ip.Unmap()
		if !v6 && ip.Is4() || v6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("vrrp: %s has no address to send from: %w", ifi.Name, ErrInvalid)
}

func bindToDevice(pc net.PacketConn, name string) error {
	sc, err := pc.(*net.IPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := sc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), name) }); err != nil {
		return err
	}
	return serr
}

type conn4 struct {
	pc  net.PacketConn
	rc  *ipv4.PacketConn
	ifi *net.Interface
	src netip.Addr
}

func listen4(ifi *net.Interface, src netip.Addr, multicast bool) (Conn, error) {
	pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket: %w", err)
	}
	c := &conn4{pc: pc, rc: ipv4.NewPacketConn(pc), ifi: ifi, src: src}
	err = errors.Join(
		bindToDevice(pc, ifi.Name),
		c.rc.SetTTL(TTL),
		c.rc.SetMulticastTTL(TTL),
		c.rc.SetMulticastInterface(ifi),
		c.rc.SetMulticastLoopback(false),
		c.rc.SetTOS(0xc0), // internetwork control, as keepalived sends
		c.rc.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
	)
	if err == nil && multicast {
		err = c.rc.JoinGroup(ifi, &net.IPAddr{IP: Group4.AsSlice()})
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("vrrp: socket options on %s: %w", ifi.Name, err)
	}
	return c, nil
}

func (c *conn4) Send(b []byte, dst netip.Addr) error {
	cm := &ipv4.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index}
	_, err := c.rc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

func (c *conn4) Receive(b []byte) (int, Header, error) {
	for {
		n, cm, src, err := c.rc.ReadFrom(b)
		if err != nil {
			return 0, Header{}, err
		}
		h := Header{TTL: -1}
		if a, ok := src.(*net.IPAddr); ok {
			h.Src, _ = netip.AddrFromSlice(a.IP)
			h.Src = h.Src.Unmap()
		}
		if cm != nil {
			if cm.IfIndex != 0 && cm.IfIndex != c.ifi.Index {
				continue
			}
			h.TTL = cm.TTL
			h.Dst, _ = netip.AddrFromSlice(cm.Dst)
			h.Dst = h.Dst.Unmap()
		}
		return n, h, nil
	}
}

func (c *conn4) Source() netip.Addr { return c.src }
func (c *conn4) Close() error       { return c.pc.Close() }

type conn6 struct {
	pc  net.PacketConn
	rc  *ipv6.PacketConn
	ifi *net.Interface
	src netip.Addr
}

func listen6(ifi *net.Interface, src netip.Addr, multicast bool) (Conn, error) {
	pc, err := net.ListenPacket("ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("vrrp: raw socket: %w", err)
	}
	c := &conn6{pc: pc, rc: ipv6.NewPacketConn(pc), ifi: ifi, src: src}
	err = errors.Join(
		bindToDevice(pc, ifi.Name),
		c.rc.SetHopLimit(TTL),
		c.rc.SetMulticastHopLimit(TTL),
		c.rc.SetMulticastInterface(ifi),
		c.rc.SetMulticastLoopback(false),
		c.rc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
	)
	if err == nil && multicast {
		err = c.rc.JoinGroup(ifi, &net.IPAddr{IP: Group6.AsSlice()})
	}
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("vrrp: socket options on %s: %w", ifi.Name, err)
	}
	return c, nil
}

func (c *conn6) Send(b []byte, dst netip.Addr) error {
	cm := &ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: TTL}
	_, err := c.rc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice(), Zone: c.ifi.Name})
	return err
}

func (c *conn6) Receive(b []byte) (int, Header, error) {
	for {
		n, cm, src, err := c.rc.ReadFrom(b)
		if err != nil {
			return 0, Header{}, err
		}
		h := Header{TTL: -1}
		if a, ok := src.(*net.IPAddr); ok {
			h.Src, _ = netip.AddrFromSlice(a.IP)
		}
		if cm != nil {
			if cm.IfIndex != 0 && cm.IfIndex != c.ifi.Index {
				continue
			}
			h.TTL = cm.HopLimit
			h.Dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		return n, h, nil
	}
}

func (c *conn6) Source() netip.Addr { return c.src }
func (c *conn6) Close() error       { return c.pc.Close() }

// NewAnnouncer opens what sends gratuitous ARPs (IPv4: ARP requests with
// sender and target the address, to the broadcast address, as keepalived
// sends them) or unsolicited neighbour advertisements (IPv6: override
// set, target link-layer address, to ff02::1) on the interface, in the
// namespace open as netns (0: the caller's).
func NewAnnouncer(iface string, v6 bool, netns int) (Announcer, error) {
	var a Announcer
	err := netnsx.Do(netns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return fmt.Errorf("vrrp: interface %s: %w", iface, err)
		}
		if v6 {
			// Bound to "::" on the interface: the kernel picks the source
			// when sending, so a link-local address still in DAD does
			// not keep the announcer from opening.
			c, _, err := ndp.Listen(ifi, ndp.Unspecified)
			if err != nil {
				return fmt.Errorf("vrrp: NDP on %s: %w", iface, err)
			}
			a = &announcer6{c: c, ifi: ifi}
			return nil
		}
		c, err := arp.Dial(ifi)
		if err != nil {
			return fmt.Errorf("vrrp: ARP on %s: %w", iface, err)
		}
		a = &announcer4{c: c, ifi: ifi}
		return nil
	})
	return a, err
}

type announcer4 struct {
	c   *arp.Client
	ifi *net.Interface
}

func (a *announcer4) Announce(addr netip.Addr) error {
	p, err := arp.NewPacket(arp.OperationRequest, a.ifi.HardwareAddr, addr, ethernet.Broadcast, addr)
	if err != nil {
		return err
	}
	return a.c.WriteTo(p, ethernet.Broadcast)
}

// Close closes the ARP socket.
func (a *announcer4) Close() error { return a.c.Close() }

type announcer6 struct {
	c   *ndp.Conn
	ifi *net.Interface
}

func (a *announcer6) Announce(addr netip.Addr) error {
	m := &ndp.NeighborAdvertisement{Override: true, TargetAddress: addr,
		Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: a.ifi.HardwareAddr}}}
	return a.c.WriteTo(m, nil, netip.MustParseAddr("ff02::1"))
}

// Close closes the NDP socket.
func (a *announcer6) Close() error { return a.c.Close() }
