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

// This file turns a Rule into nftables expressions and back. The
// expressions are the ones nft 1.0 generates for the rule written as
//
//	ip daddr 10.0.0.100 ip saddr 192.168.0.0/16 iifname "eth0" tcp dport { 80, 88 } meta mark set 0xa
//
// in an inet table (with "meta nfproto ipv4" spelled out where no address
// is matched), so `nft list ruleset` shows the rules as a person would write
// them.

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

// encodeNFT returns the expressions of canonical rule r.
func encodeNFT(r Rule) nftRule {
	var out nftRule
	v4 := r.is4()
	proto := byte(unix.NFPROTO_IPV6)
	src, dst := uint32(ip6Src), uint32(ip6Dst)
	if v4 {
		proto, src, dst = unix.NFPROTO_IPV4, ip4Src, ip4Dst
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}
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
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(r.Protocol)}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
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
	// meta nfproto
	proto, ok := d.metaCmp(expr.MetaKeyNFPROTO, 1)
	if !ok || (proto[0] != unix.NFPROTO_IPV4 && proto[0] != unix.NFPROTO_IPV6) {
		return Rule{}, false
	}
	v4 := proto[0] == unix.NFPROTO_IPV4
	src, dst, zero := uint32(ip6Src), uint32(ip6Dst), netip.IPv6Unspecified()
	if v4 {
		src, dst, zero = ip4Src, ip4Dst, netip.IPv4Unspecified()
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
	l4, ok := d.metaCmp(expr.MetaKeyL4PROTO, 1)
	if !ok {
		return Rule{}, false
	}
	r.Protocol = Protocol(l4[0])
	pl, ok := d.next().(*expr.Payload)
	if !ok || *pl != (expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}) {
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

// prefix reads an address match as appendPrefix writes it, for addresses
// of size bytes.
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
