package keepalived

import (
	"math/big"
	"net/netip"
	"strconv"
	"strings"

	"github.com/lvs-go/lvs/ipvs"
)

// maxRange is the most addresses one virtual_server_group entry expands
// into (a /24, or keepalived's last-octet range).
const maxRange = 256

// expandGroup lists the members of a virtual_server_group: "IP PORT",
// "IP-LAST PORT" (the last octet, or the last 16 bits in hex for IPv6),
// "IP-IP PORT", "IP/LEN PORT" and "fwmark N [inet|inet6]", each address of
// a range a member of its own. More than max members is a LimitError
// (im.err).
func (im *importer) expandGroup(g *node, max int) []member {
	var out []member
	block := g.header()
	for _, e := range g.children {
		if e.key() == "fwmark" {
			v, ok := number(e.arg(0), 1<<32-1)
			if !ok || v == 0 || len(e.args()) > 2 {
				im.note(e, block, "", "%s: not carried over (not a mark from 1 to %d)", e.header(), uint32(1<<32-1))
				continue
			}
			m := member{text: e.header(), fwmark: uint32(v)}
			switch e.arg(1) {
			case "":
			case "inet":
				m.family = ipvs.IPv4
			case "inet6":
				m.family = ipvs.IPv6
			default:
				im.note(e, block, "", "%s: not carried over (unknown family %q)", e.header(), e.arg(1))
				continue
			}
			if len(out) >= max {
				im.err = &LimitError{File: e.file, Line: e.line, Limit: servicesLimit}
				return nil
			}
			out = append(out, m)
			continue
		}
		first, last, why := addrRange(e.key())
		p, ok := port(e.arg(0))
		if why == "" && (!ok || len(e.args()) > 1) {
			why = "not a port"
		}
		if why != "" {
			im.note(e, block, "", "%s: not carried over (%s)", e.header(), why)
			continue
		}
		for a := first; ; a = a.Next() {
			if len(out) >= max {
				im.err = &LimitError{File: e.file, Line: e.line, Limit: servicesLimit}
				return nil
			}
			out = append(out, member{text: strings.TrimSpace(a.String() + " " + e.arg(0)), addr: netip.AddrPortFrom(a, p)})
			if a == last {
				break
			}
		}
	}
	return out
}

// addrRange reads a group entry's address, range or prefix.
func addrRange(s string) (first, last netip.Addr, why string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil || p.Addr().Zone() != "":
			return first, last, "not an address prefix"
		case p.Masked() != p:
			return first, last, "address bits beyond the prefix length are set"
		case p.Addr().BitLen()-p.Bits() > 8:
			return first, last, "more than 256 addresses"
		}
		first, last = p.Addr(), p.Addr()
		for n := 1<<(p.Addr().BitLen()-p.Bits()) - 1; n > 0; n-- {
			last = last.Next()
		}
		return first, last, ""
	}
	start, end, isRange := strings.Cut(s, "-")
	first, err := netip.ParseAddr(start)
	if err != nil || first.Zone() != "" {
		return first, last, "not an address"
	}
	first = first.Unmap()
	if !isRange {
		return first, first, ""
	}
	if strings.ContainsAny(end, ".:") {
		last, err = netip.ParseAddr(end)
		if err != nil || last.Is4() != first.Is4() {
			return first, last, "not an address range"
		}
	} else {
		base := 10
		if first.Is6() {
			base = 16
		}
		v, err := strconv.ParseUint(end, base, 16)
		if err != nil || first.Is4() && v > 255 {
			return first, last, "not an address range"
		}
		b := first.AsSlice()
		if first.Is4() {
			b[3] = byte(v)
		} else {
			b[14], b[15] = byte(v>>8), byte(v)
		}
		last, _ = netip.AddrFromSlice(b)
	}
	switch d := distance(first, last); {
	case d < 1:
		return first, last, "the range's end is not above its start"
	case d >= maxRange:
		return first, last, "more than 256 addresses"
	}
	return first, last, ""
}

// distance is last - first.
func distance(first, last netip.Addr) int64 {
	a := new(big.Int).SetBytes(first.AsSlice())
	b := new(big.Int).SetBytes(last.AsSlice())
	d := b.Sub(b, a)
	if !d.IsInt64() {
		if d.Sign() < 0 {
			return -1
		}
		return maxRange
	}
	return d.Int64()
}
