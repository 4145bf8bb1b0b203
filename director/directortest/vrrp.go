package directortest

import (
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/vrrp"
)

// VRRPNetwork is an in-memory network of VRRP speakers, so that
// Directors on in-memory Kernels form a VRRP pair: each Director's
// Options.VRRP is a Host of the network, and what an instance sends on an
// interface reaches the instances of the other hosts on the interface of
// the same name (one segment per interface name): multicast to all of
// them, unicast to the one whose source is the destination, with TTL 255.
// Cut partitions a host off. It is safe for concurrent use.
type VRRPNetwork struct {
	mu    sync.Mutex
	conns []*vrrpConn
	cut   map[string]bool
	// announced are the addresses each host announced (GARP / NA), in
	// order.
	announced map[string][]netip.Addr
}

// NewVRRPNetwork returns a network without hosts.
func NewVRRPNetwork() *VRRPNetwork {
	return &VRRPNetwork{cut: map[string]bool{}, announced: map[string][]netip.Addr{}}
}

// Host returns the VRRP sides of the host name, whose instances send from
// their configured source, or else from the first of addrs of their
// family.
func (n *VRRPNetwork) Host(name string, addrs ...netip.Addr) director.VRRPSides {
	return &vrrpHost{n: n, name: name, addrs: slices.Clone(addrs)}
}

// Cut partitions the host off the network (true: nothing it sends
// arrives, nothing reaches it) or joins it again (false).
func (n *VRRPNetwork) Cut(host string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[host] = cut
}

// Announced returns the addresses the host's instances announced
// (gratuitous ARP or neighbour advertisement), in order.
func (n *VRRPNetwork) Announced(host string) []netip.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.announced[host])
}

// Open returns the number of sockets open on the network.
func (n *VRRPNetwork) Open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

type vrrpHost struct {
	n     *VRRPNetwork
	name  string
	addrs []netip.Addr
}

// Listen opens cfg's socket on the network.
func (h *vrrpHost) Listen(cfg *vrrp.Config) (vrrp.Conn, error) {
	src := cfg.Source
	v6 := len(cfg.VIPs) > 0 && cfg.VIPs[0].Prefix.Addr().Is6()
	if !src.IsValid() {
		i := slices.IndexFunc(h.addrs, func(a netip.Addr) bool { return a.Is6() == v6 })
		if i < 0 {
			return nil, fmt.Errorf("directortest: host %s has no address to send from: %w", h.name, fs.ErrNotExist)
		}
		src = h.addrs[i]
	}
	c := &vrrpConn{n: h.n, host: h.name, iface: cfg.Interface, src: src, in: make(chan vrrpPacket, 64), closed: make(chan struct{})}
	h.n.mu.Lock()
	h.n.conns = append(h.n.conns, c)
	h.n.mu.Unlock()
	return c, nil
}

// Announcer records the announced addresses (Announced).
func (h *vrrpHost) Announcer(string, bool) (vrrp.Announcer, error) {
	return vrrpAnnouncer{h}, nil
}

type vrrpAnnouncer struct{ h *vrrpHost }

func (a vrrpAnnouncer) Announce(addr netip.Addr) error {
	a.h.n.mu.Lock()
	defer a.h.n.mu.Unlock()
	a.h.n.announced[a.h.name] = append(a.h.n.announced[a.h.name], addr)
	return nil
}

type vrrpPacket struct {
	b []byte
	h vrrp.Header
}

type vrrpConn struct {
	n      *VRRPNetwork
	host   string
	iface  string
	src    netip.Addr
	in     chan vrrpPacket
	closed chan struct{}
	once   sync.Once
}

func (c *vrrpConn) Send(b []byte, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.n.cut[c.host] {
		return nil
	}
	for _, o := range c.n.conns {
		if o.host == c.host || o.iface != c.iface || c.n.cut[o.host] || o.src.Is6() != c.src.Is6() {
			continue
		}
		if dst.IsMulticast() || dst == o.src {
			select {
			case o.in <- vrrpPacket{slices.Clone(b), vrrp.Header{Src: c.src, Dst: dst, TTL: vrrp.TTL}}:
			default: // a full socket buffer drops
			}
		}
	}
	return nil
}

func (c *vrrpConn) Receive(b []byte) (int, vrrp.Header, error) {
	select {
	case p := <-c.in:
		return copy(b, p.b), p.h, nil
	case <-c.closed:
		return 0, vrrp.Header{}, net.ErrClosed
	}
}

func (c *vrrpConn) Source() netip.Addr { return c.src }

func (c *vrrpConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.n.mu.Lock()
		c.n.conns = slices.DeleteFunc(c.n.conns, func(x *vrrpConn) bool { return x == c })
		c.n.mu.Unlock()
	})
	return nil
}
