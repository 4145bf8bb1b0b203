package rtnl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Conn is an rtnetlink connection in one network namespace.
type Conn struct{ *rtnetlink.Conn }

// Dial opens a connection in the namespace open as netns (0: the caller's).
func Dial(netns int) (*Conn, error) {
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return &Conn{c}, nil
}

// FindLink returns the link named name, or nil if there is none.
func (c *Conn) FindLink(name string) (*rtnetlink.LinkMessage, error) {
	links, err := c.Link.List()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	for i := range links {
		if links[i].Attributes != nil && links[i].Attributes.Name == name {
			return &links[i], nil
		}
	}
	return nil, nil
}

// DeleteLink deletes the link named name if it exists.
func (c *Conn) DeleteLink(name string) error {
	l, err := c.FindLink(name)
	if err != nil || l == nil {
		return err
	}
	return c.Link.Delete(l.Index)
}

// CreateLink creates a link of the given kind (dummy, ipip, gre...).
func (c *Conn) CreateLink(name, kind string) error {
	return c.Link.New(&rtnetlink.LinkMessage{Attributes: &rtnetlink.LinkAttributes{
		Name: name, Info: &rtnetlink.LinkInfo{Kind: kind}}})
}

// SetUp sets or clears IFF_UP.
func (c *Conn) SetUp(index uint32, up bool) error {
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	return c.Link.Set(&rtnetlink.LinkMessage{Index: index, Flags: flags, Change: unix.IFF_UP})
}

// Addrs lists the addresses of the link with the given index.
func (c *Conn) Addrs(index uint32) ([]netip.Prefix, error) {
	msgs, err := c.Address.List()
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
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

// AddAddr adds p to the link (IPv6 without duplicate address detection).
func (c *Conn) AddAddr(index uint32, p netip.Prefix) error {
	return c.Address.New(addrMessage(index, p))
}

// DelAddr removes p from the link; an address already gone is not an error.
func (c *Conn) DelAddr(index uint32, p netip.Prefix) error {
	err := c.Address.Delete(addrMessage(index, p))
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return nil
	}
	return err
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

// Unsupported marks errors that mean the kernel lacks a device kind.
func Unsupported(err error, what string) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s is not available: %w (%w)", what, errors.ErrUnsupported, err)
	}
	return err
}
