package iptables

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// This file turns a Rule and an SNATRule into nftables expressions and
// back. The expressions are the ones nft 1.0 generates for the rules written
// as
//
//	ip daddr 10.0.0.100 ip saddr 192.168.0.0/16 iifname "eth0" tcp dport { 80, 88 } meta mark set 0xa
//	ip daddr 10.0.0.2 tcp dport 80 masquerade
//	ip daddr 10.0.0.2 meta l4proto tcp masquerade
//
// in an inet table (with "meta nfproto ipv4" spelled out where no address
// is matched), so `nft list ruleset` shows the rules as a person would write
// them. Both kinds share the matches' builders and readers: address family,
// address, transport protocol, destination port.

// nftRule is one rule's expressions and, when it matches more than one
// port range, its anonymous port set.
type nftRule struct {
	exprs  []expr.Any
	set    *nftables.Set // nil without a set
	elems  []nftables.SetElement
	lookup *expr.Lookup // the expression naming set; filled in by Conn.AddSet's name and ID
}

// Offsets of the addresses in the IPv4 and IPv6 headers.
const (
	ip4Src, ip4Dst = 12, 16
	ip6Src, ip6Dst = 8, 24
)

// addrOffsets returns the offsets of the source and destination addresses
// in the network header of the family.
func addrOffsets(v4 bool) (src, dst uint32) {
	if v4 {
		return ip4Src, ip4Dst
	}
	return ip6Src, ip6Dst
}

// appendFamily matches the address family: meta nfproto ipv4 (or ipv6).
func appendFamily(e []expr.Any, v4 bool) []expr.Any {
	proto := byte(unix.NFPROTO_IPV6)
	if v4 {
		proto = unix.NFPROTO_IPV4
	}
	return append(e,
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
}

// appendProtocol matches the transport protocol: meta l4proto tcp.
func appendProtocol(e []expr.Any, p Protocol) []expr.Any {
	return append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(p)}})
}

// dportLoad loads the destination port into register 1 (th dport: the same
// offset in TCP, UDP and SCTP).
func dportLoad() *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
}

// encodeNFT returns the expressions of canonical rule r.
func encodeNFT(r Rule) nftRule {
	var out nftRule
	v4 := r.is4()
	src, dst := addrOffsets(v4)
	e := appendFamily(nil, v4)
	e = appendPrefix(e, r.Destination, dst)
	if r.Source.IsValid() {
		e = appendPrefix(e, r.Source, src)
	}
	if r.InInterface != "" {
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, r.InInterface)
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name})
	}
	e = append(appendProtocol(e, r.Protocol), dportLoad())
	switch p := r.Ports; {
	case len(p) == 1 && p[0].First == p[0].Last:
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(p[0].First)})
	case len(p) == 1:
		e = append(e,
			&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(p[0].First)},
			&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(p[0].Last)})
	default:
		out.set, out.elems = portSet(p)
		out.lookup = &expr.Lookup{SourceRegister: 1}
		e = append(e, out.lookup)
	}
	if r.Mask == 0 {
		e = append(e, &expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(r.Mark)})
	} else {
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(^r.Mask),
				Xor:  binaryutil.NativeEndian.PutUint32(r.Mark)})
	}
	out.exprs = append(e, &expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})
	return out
}

// encodeSNAT returns the expressions of valid SNAT rule r: "ip daddr RIP tcp
// dport PORT masquerade", without the port match for port 0.
func encodeSNAT(r SNATRule) nftRule {
	v4 := r.is4()
	_, dst := addrOffsets(v4)
	a := r.Destination.Addr()
	e := appendFamily(nil, v4)
	e = appendPrefix(e, netip.PrefixFrom(a, a.BitLen()), dst)
	e = appendProtocol(e, r.Protocol)
	if p := r.Destination.Port(); p != 0 {
		e = append(e, dportLoad(), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: be16(p)})
	}
	return nftRule{exprs: append(e, &expr.Masq{})}
}

// appendPrefix matches the address at offset in the network header against
// p, as nft does: a byte-aligned prefix loads only its bytes; any other
// loads the whole address and masks it. A /0 matches anything and adds
// nothing.
func appendPrefix(e []expr.Any, p netip.Prefix, offset uint32) []expr.Any {
	addr := p.Addr().AsSlice()
	switch {
	case p.Bits() == 0:
		return e
	case p.Bits()%8 == 0:
		n := p.Bits() / 8
		return append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(n)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr[:n]})
	}
	maskBytes := make([]byte, len(addr))
	for i := range maskBytes {
		maskBytes[i] = prefixByte(p.Bits() - 8*i)
	}
	return append(e,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: uint32(len(addr))},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(len(addr)), Mask: maskBytes, Xor: make([]byte, len(addr))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr})
}

// prefixByte returns the mask byte with the top n bits set (n clamped to 0..8).
func prefixByte(n int) byte {
	n = min(max(n, 0), 8)
	return ^byte(0xff >> n)
}

// portSet returns the anonymous constant set of ports, and its elements as
// nft sends them: plain ports without ranges; with ranges an interval set
// where each range is its first port and, flagged as an interval end, the
// port after its last (none after 65535), led by an end at 0 when the
// first range does not start there.
func portSet(ports []PortRange) (*nftables.Set, []nftables.SetElement) {
	set := &nftables.Set{Anonymous: true, Constant: true, KeyType: nftables.TypeInetService}
	var elems []nftables.SetElement
	for _, p := range ports {
		if p.First != p.Last {
			set.Interval = true
		}
	}
	if !set.Interval {
		for _, p := range ports {
			elems = append(elems, nftables.SetElement{Key: be16(p.First)})
		}
		return set, elems
	}
	if ports[0].First != 0 {
		elems = append(elems, nftables.SetElement{Key: be16(0), IntervalEnd: true})
	}
	for _, p := range ports {
		elems = append(elems, nftables.SetElement{Key: be16(p.First)})
		if p.Last != 0xffff {
			elems = append(elems, nftables.SetElement{Key: be16(p.Last + 1), IntervalEnd: true})
		}
	}
	return set, elems
}

// setPorts turns a port set's elements, as the kernel lists them, back into
// port ranges.
func setPorts(elems []nftables.SetElement, interval bool) ([]PortRange, bool) {
	type elem struct {
		port uint32
		end  bool
	}
	es := make([]elem, 0, len(elems))
	for _, el := range elems {
		if len(el.Key) != 2 {
			return nil, false
		}
		es = append(es, elem{uint32(binary.BigEndian.Uint16(el.Key)), el.IntervalEnd})
	}
	if !interval {
		var ports []PortRange
		for _, e := range es {
			ports = append(ports, Port(uint16(e.port)))
		}
		return ports, true
	}
	// Sorted by port, an end before a start at the same port.
	slices.SortFunc(es, func(a, b elem) int {
		if a.port != b.port {
			return int(a.port) - int(b.port)
		}
		if a.end == b.end {
			return 0
		}
		if a.end {
			return -1
		}
		return 1
	})
	var ports []PortRange
	open := false
	var first uint32
	for _, e := range es {
		switch {
		case !e.end && !open:
			open, first = true, e.port
		case e.end && open:
			if e.port == first {
				return nil, false
			}
			ports = append(ports, PortRange{uint16(first), uint16(e.port - 1)})
			open = false
		case !e.end && open:
			return nil, false
		}
		// An end with no open range is the leading end at 0: skip it.
	}
	if open {
		ports = append(ports, PortRange{uint16(first), 0xffff})
	}
	return ports, true
}

// decodeNFT parses expressions encodeNFT wrote back into a canonical Rule.
// ports resolves a lookup's anonymous set. It reports false for anything
// else.
func decodeNFT(exprs []expr.Any, ports func(*expr.Lookup) ([]PortRange, bool)) (Rule, bool) {
	d := exprDecoder{exprs: exprs}
	var r Rule
	v4, ok := d.family()
	if !ok {
		return Rule{}, false
	}
	src, dst := addrOffsets(v4)
	zero := netip.IPv6Unspecified()
	if v4 {
		zero = netip.IPv4Unspecified()
	}
	r.Destination = netip.PrefixFrom(zero, 0)
	// Addresses, in either order, each at most once.
	var seenSrc, seenDst bool
	for {
		pl, ok := d.peek().(*expr.Payload)
		if !ok || pl.Base != expr.PayloadBaseNetworkHeader {
			break
		}
		p, ok := d.prefix(zero.BitLen() / 8)
		switch {
		case !ok:
			return Rule{}, false
		case pl.Offset == dst && !seenDst:
			r.Destination, seenDst = p, true
		case pl.Offset == src && !seenSrc:
			r.Source, seenSrc = p, true
		default:
			return Rule{}, false
		}
	}
	// iifname
	if m, ok := d.peek().(*expr.Meta); ok && m.Key == expr.MetaKeyIIFNAME {
		name, ok := d.metaCmp(expr.MetaKeyIIFNAME, -1)
		end := bytes.IndexByte(name, 0)
		if !ok || end <= 0 || len(name) > unix.IFNAMSIZ || bytes.ContainsFunc(name[end:], func(r rune) bool { return r != 0 }) {
			return Rule{}, false
		}
		r.InInterface = string(name[:end])
	}
	// meta l4proto, th dport
	if r.Protocol, ok = d.protocol(); !ok || !d.dportLoad() {
		return Rule{}, false
	}
	switch x := d.next().(type) {
	case *expr.Cmp:
		first, ok := d.cmp(x, expr.CmpOpEq, 2)
		if !ok {
			if first, ok = d.cmp(x, expr.CmpOpGte, 2); !ok {
				return Rule{}, false
			}
			y, _ := d.next().(*expr.Cmp)
			last, ok := d.cmp(y, expr.CmpOpLte, 2)
			if !ok {
				return Rule{}, false
			}
			r.Ports = []PortRange{{binary.BigEndian.Uint16(first), binary.BigEndian.Uint16(last)}}
			break
		}
		r.Ports = []PortRange{Port(binary.BigEndian.Uint16(first))}
	case *expr.Lookup:
		if x.SourceRegister != 1 || x.Invert || x.IsDestRegSet {
			return Rule{}, false
		}
		if r.Ports, ok = ports(x); !ok {
			return Rule{}, false
		}
	default:
		return Rule{}, false
	}
	// meta mark set
	switch x := d.next().(type) {
	case *expr.Immediate:
		if x.Register != 1 || len(x.Data) != 4 {
			return Rule{}, false
		}
		r.Mark = binaryutil.NativeEndian.Uint32(x.Data)
	case *expr.Meta:
		b, _ := d.next().(*expr.Bitwise)
		if *x != (expr.Meta{Key: expr.MetaKeyMARK, Register: 1}) || b == nil ||
			b.SourceRegister != 1 || b.DestRegister != 1 || b.Len != 4 || len(b.Mask) != 4 || len(b.Xor) != 4 {
			return Rule{}, false
		}
		r.Mask = ^binaryutil.NativeEndian.Uint32(b.Mask)
		r.Mark = binaryutil.NativeEndian.Uint32(b.Xor)
	default:
		return Rule{}, false
	}
	set, ok := d.next().(*expr.Meta)
	if !ok || *set != (expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1}) || d.peek() != nil {
		return Rule{}, false
	}
	if r.validate() != nil {
		return Rule{}, false
	}
	return r.canonical(), true
}

// decodeSNAT parses expressions encodeSNAT wrote back into an SNATRule. It
// reports false for anything else.
func decodeSNAT(exprs []expr.Any) (SNATRule, bool) {
	d := exprDecoder{exprs: exprs}
	v4, ok := d.family()
	if !ok {
		return SNATRule{}, false
	}
	// ip daddr: the whole address.
	_, dst := addrOffsets(v4)
	pl, ok := d.peek().(*expr.Payload)
	if !ok || pl.Base != expr.PayloadBaseNetworkHeader || pl.Offset != dst {
		return SNATRule{}, false
	}
	size := 16
	if v4 {
		size = 4
	}
	daddr, ok := d.prefix(size)
	if !ok || daddr.Bits() != 8*size {
		return SNATRule{}, false
	}
	// meta l4proto, th dport if a port is matched
	var r SNATRule
	if r.Protocol, ok = d.protocol(); !ok {
		return SNATRule{}, false
	}
	var port uint16
	if _, ok := d.peek().(*expr.Payload); ok {
		if !d.dportLoad() {
			return SNATRule{}, false
		}
		c, _ := d.next().(*expr.Cmp)
		data, ok := d.cmp(c, expr.CmpOpEq, 2)
		if !ok {
			return SNATRule{}, false
		}
		if port = binary.BigEndian.Uint16(data); port == 0 {
			return SNATRule{}, false // "dport 0" is not "any port"
		}
	}
	// masquerade, with no options
	m, ok := d.next().(*expr.Masq)
	if !ok || *m != (expr.Masq{}) || d.peek() != nil {
		return SNATRule{}, false
	}
	r.Destination = netip.AddrPortFrom(daddr.Addr(), port)
	if r.validate() != nil {
		return SNATRule{}, false
	}
	return r, true
}

// exprDecoder walks a rule's expressions.
type exprDecoder struct {
	exprs []expr.Any
}

func (d *exprDecoder) peek() expr.Any {
	if len(d.exprs) == 0 {
		return nil
	}
	return d.exprs[0]
}

func (d *exprDecoder) next() expr.Any {
	e := d.peek()
	if e != nil {
		d.exprs = d.exprs[1:]
	}
	return e
}

// cmp returns c's data if c compares register 1 with op to n bytes (any
// length for n < 0).
func (d *exprDecoder) cmp(c *expr.Cmp, op expr.CmpOp, n int) ([]byte, bool) {
	if c == nil || c.Op != op || c.Register != 1 || (n >= 0 && len(c.Data) != n) || len(c.Data) == 0 {
		return nil, false
	}
	return c.Data, true
}

// metaCmp reads "meta load KEY => reg 1; cmp eq reg 1 DATA" and returns
// DATA of n bytes (any length for n < 0).
func (d *exprDecoder) metaCmp(key expr.MetaKey, n int) ([]byte, bool) {
	m, _ := d.next().(*expr.Meta)
	if m == nil || *m != (expr.Meta{Key: key, Register: 1}) {
		return nil, false
	}
	c, _ := d.next().(*expr.Cmp)
	return d.cmp(c, expr.CmpOpEq, n)
}

// family reads "meta nfproto ipv4" (or ipv6), as appendFamily writes it,
// and reports whether it is IPv4.
func (d *exprDecoder) family() (v4, ok bool) {
	proto, ok := d.metaCmp(expr.MetaKeyNFPROTO, 1)
	if !ok || (proto[0] != unix.NFPROTO_IPV4 && proto[0] != unix.NFPROTO_IPV6) {
		return false, false
	}
	return proto[0] == unix.NFPROTO_IPV4, true
}

// protocol reads "meta l4proto P", as appendProtocol writes it. (Which
// protocols are allowed is the rule's validate's to say.)
func (d *exprDecoder) protocol() (Protocol, bool) {
	l4, ok := d.metaCmp(expr.MetaKeyL4PROTO, 1)
	if !ok {
		return 0, false
	}
	return Protocol(l4[0]), true
}

// dportLoad reads the load dportLoad writes.
func (d *exprDecoder) dportLoad() bool {
	pl, ok := d.next().(*expr.Payload)
	return ok && *pl == *dportLoad()
}

// prefix reads an address match as appendPrefix writes it, for addresses
// of size bytes. The next expression must be a *expr.Payload.
func (d *exprDecoder) prefix(size int) (netip.Prefix, bool) {
	pl := d.next().(*expr.Payload)
	if pl.DestRegister != 1 || pl.OperationType != expr.PayloadLoad || pl.Len == 0 || int(pl.Len) > size {
		return netip.Prefix{}, false
	}
	n := int(pl.Len)
	nbits := 8 * n
	if b, ok := d.peek().(*expr.Bitwise); ok {
		d.next()
		if n != size || b.SourceRegister != 1 || b.DestRegister != 1 || int(b.Len) != size ||
			len(b.Mask) != size || !bytes.Equal(b.Xor, make([]byte, size)) {
			return netip.Prefix{}, false
		}
		nbits = 0
		for _, m := range b.Mask {
			nbits += bits.OnesCount8(m)
		}
		for i, m := range b.Mask {
			if m != prefixByte(nbits-8*i) {
				return netip.Prefix{}, false // not a prefix mask
			}
		}
	}
	c, _ := d.next().(*expr.Cmp)
	data, ok := d.cmp(c, expr.CmpOpEq, n)
	if !ok {
		return netip.Prefix{}, false
	}
	addr, _ := netip.AddrFromSlice(append(slices.Clone(data), make([]byte, size-n)...))
	p := netip.PrefixFrom(addr, nbits)
	if p.Masked() != p {
		return netip.Prefix{}, false
	}
	return p, true
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
