package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP is the "icmp" check: healthy when the target's address answers an
// echo request (a ping), IPv4 or IPv6, sent from a raw socket of the Env.
// The target's port means nothing to it. It reads one datagram of at most
// 1500 bytes at a time (a longer one is cut), each ICMP message that
// reaches the socket until its echo reply comes or the check's timeout
// passes.
type ICMP struct{}

// Type is "icmp".
func (ICMP) Type() string { return "icmp" }

// Compile returns the icmp checker.
func (ICMP) Compile() (Checker, error) { return icmpChecker{}, nil }

type icmpChecker struct{}

// The IANA protocol numbers icmp.ParseMessage takes.
const (
	protocolICMP     = 1
	protocolIPv6ICMP = 58
)

// icmpPayload is the data of each echo request.
var icmpPayload = []byte("lvs health check")

// icmpReadSize is the most of one ICMP message the check reads.
const icmpReadSize = 1500

func (icmpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	ip := target.Addr().Unmap()
	network, proto := "ip4:icmp", protocolICMP
	var request, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if ip.Is6() {
		network, proto = "ip6:ipv6-icmp", protocolIPv6ICMP
		request, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := env.ListenPacket(ctx, network, "")
	if err != nil {
		return fmt.Errorf("icmp: %w", err)
	}
	defer c.Close()
	// A raw socket gets every ICMP message of the namespace: have the
	// kernel keep only echo replies for it (an optimisation; replies are
	// matched below whatever the filter).
	if ip.Is4() {
		var f ipv4.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv4.ICMPTypeEchoReply)
		ipv4.NewPacketConn(c).SetICMPFilter(&f)
	} else {
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeEchoReply)
		ipv6.NewPacketConn(c).SetICMPFilter(&f)
	}
	defer follow(ctx, c)()

	// Raw sockets share no identifier: each probe picks its own, and its
	// reply is the echo reply from ip with it.
	id, seq := int(rand.N[uint16](1<<16-1)), int(rand.N[uint16](1<<16-1))
	b, err := (&icmp.Message{Type: request, Body: &icmp.Echo{ID: id, Seq: seq, Data: icmpPayload}}).Marshal(nil)
	if err != nil {
		return err
	}
	// The kernel computes ICMPv6's checksum (it covers a pseudo-header).
	if _, err := c.WriteTo(b, &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}); err != nil {
		return fmt.Errorf("icmp %v: %w", ip, err)
	}
	buf := make([]byte, icmpReadSize)
	for {
		n, from, err := c.ReadFrom(buf)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("icmp %v: no echo reply: %w", ip, err)
		case err != nil:
			return fmt.Errorf("icmp %v: %w", ip, err)
		}
		src, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		if a, _ := netip.AddrFromSlice(src.IP); a.Unmap() != ip.WithZone("") {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq {
			return nil
		}
	}
}
