package iptables

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// A Protocol is a transport protocol a Rule matches, by its IP protocol number.
type Protocol uint8

// The protocols IPVS balances.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns the protocol's name as iptables and nft spell it.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return "unknown(" + strconv.Itoa(int(p)) + ")"
}

func parseProtocol(s string) (Protocol, bool) {
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		if s == p.String() {
			return p, true
		}
	}
	return 0, false
}

// A PortRange is the destination ports First through Last, both included.
// A single port has First == Last.
type PortRange struct {
	First, Last uint16
}

// Port returns the range holding only port p.
func Port(p uint16) PortRange { return PortRange{p, p} }

// String returns "80" for one port and "8000-8080" for a range.
func (r PortRange) String() string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return strconv.Itoa(int(r.First)) + "-" + strconv.Itoa(int(r.Last))
}

// A Rule marks packets for an IPVS firewall-mark service: packets to
// Destination, of Protocol, to one of Ports (and, if set, from Source and
// arriving on InInterface) get Mark. It is the data form of
//
//	iptables -t mangle -A PREROUTING -d 10.0.0.100 -p tcp -m multiport --dports 80,88 -j MARK --set-mark 10
//
// Marking rules do not stop at the first match: when several rules match a
// packet, the last one's mark wins (within the bits of its Mask).
type Rule struct {
	// Destination is the address or prefix the packets are sent to, for
	// example the VIP as 10.0.0.100/32 (netip.PrefixFrom(vip, vip.BitLen())).
	// Required; its family (IPv4 or IPv6) is the rule's. A /0 prefix matches
	// every destination of that family. Host bits are ignored.
	Destination netip.Prefix
	// Source, if valid, restricts the rule to packets from this prefix. It
	// must be of Destination's family. The zero Prefix (or a /0) matches any
	// source.
	Source netip.Prefix
	// InInterface, if not empty, restricts the rule to packets that arrive on
	// the interface of this name. Wildcards are not supported.
	InInterface string
	// Protocol is TCP, UDP or SCTP.
	Protocol Protocol
	// Ports are the destination ports, at least one; order and overlaps do
	// not matter. Port 0 is not allowed.
	Ports []PortRange
	// Mark is the firewall mark to set, the IPVS service's -f value; not 0.
	Mark uint32
	// Mask, if not 0, limits the change to these bits of the packet's mark:
	// the new mark is (old &^ Mask) | Mark, and Mark must lie within Mask.
	// 0 means all bits (0xffffffff): the mark becomes Mark.
	Mask uint32
}

// String returns the rule in iptables' syntax, as iptables-save prints it.
func (r Rule) String() string {
	return strings.Join(iptablesMatch(r, r.Ports), " ")
}

// ErrInvalid is what every *ValidationError matches with errors.Is (as it
// matches fs.ErrInvalid): a rule that cannot be applied.
var ErrInvalid = errors.New("iptables: invalid argument")

// A ValidationError says why a Rule or an SNATRule cannot be applied. Sync,
// SyncSNAT and any other method that takes rules return it before changing
// anything. errors.Is matches it to ErrInvalid and fs.ErrInvalid.
type ValidationError struct {
	// Index is the rule's position in the slice given to Sync or SyncSNAT,
	// or -1 when the error comes from Rule.Validate or SNATRule.Validate.
	Index int
	// Field is the name of the Rule or SNATRule field at fault, for example
	// "Ports".
	Field string
	// Reason says what is wrong with it.
	Reason string

	snat bool // the rule is an SNATRule
}

func (e *ValidationError) Error() string {
	what := "rule"
	if e.snat {
		what = "SNAT rule"
	}
	if e.Index < 0 {
		return "iptables: invalid " + what + ": " + e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("iptables: invalid %s %d: %s: %s", what, e.Index, e.Field, e.Reason)
}

// Is reports whether target is ErrInvalid or fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || target == fs.ErrInvalid
}

// Validate reports whether r can be applied. Its error is a
// *ValidationError.
func (r Rule) Validate() error {
	if err := r.validate(); err != nil {
		err.Index = -1
		return err
	}
	return nil
}

func (r Rule) validate() *ValidationError {
	invalid := func(field, format string, args ...any) *ValidationError {
		return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if !r.Destination.IsValid() {
		return invalid("Destination", "required: an address or prefix")
	}
	if r.Destination.Addr().Is4In6() {
		return invalid("Destination", "%s is an IPv4-mapped IPv6 address: give it as IPv4", r.Destination)
	}
	if r.Source.IsValid() {
		if r.Source.Addr().Is4() != r.Destination.Addr().Is4() {
			return invalid("Source", "%s and destination %s are of different address families", r.Source, r.Destination)
		}
		if r.Source.Addr().Is4In6() {
			return invalid("Source", "%s is an IPv4-mapped IPv6 address", r.Source)
		}
	} else if r.Source != (netip.Prefix{}) {
		return invalid("Source", "not a valid prefix")
	}
	if err := validInterface(r.InInterface); err != "" {
		return invalid("InInterface", "%q %s", r.InInterface, err)
	}
	switch r.Protocol {
	case TCP, UDP, SCTP:
	default:
		return invalid("Protocol", "%s: want TCP, UDP or SCTP", r.Protocol)
	}
	if len(r.Ports) == 0 {
		return invalid("Ports", "%s needs at least one destination port", r.Protocol)
	}
	for _, p := range r.Ports {
		switch {
		case p.First == 0:
			return invalid("Ports", "port 0 is not a destination port")
		case p.Last < p.First:
			return invalid("Ports", "range %d-%d is empty", p.First, p.Last)
		}
	}
	if r.Mark == 0 {
		return invalid("Mark", "0 is no mark: IPVS firewall-mark services need a mark other than 0")
	}
	if r.Mask != 0 && r.Mark&^r.Mask != 0 {
		return invalid("Mark", "%#x has bits outside mask %#x", r.Mark, r.Mask)
	}
	return nil
}

// validInterface returns why name cannot be an interface name, or "".
// The kernel's rules (dev_valid_name), and no trailing '+', which iptables
// reads as a wildcard.
func validInterface(name string) string {
	switch {
	case name == "":
		return ""
	case len(name) >= 16:
		return "is longer than 15 bytes"
	case name == "." || name == "..":
		return "is not an interface name"
	case strings.ContainsAny(name, "/:\x00") || strings.IndexFunc(name, isSpace) >= 0:
		return "holds a character interface names cannot have"
	case strings.HasSuffix(name, "+") || strings.HasPrefix(name, "!"):
		return "looks like an iptables wildcard or negation, which are not supported"
	}
	return ""
}

func isSpace(r rune) bool { return r == ' ' || (r >= '\t' && r <= '\r') }

// is4 reports whether the rule is an IPv4 rule.
func (r Rule) is4() bool { return r.Destination.Addr().Is4() }

// canonical returns the rule in one form per meaning: prefixes masked, a /0
// source dropped, ports sorted with overlapping and adjacent ranges merged,
// a full mask as 0. r must be valid.
func (r Rule) canonical() Rule {
	r.Destination = r.Destination.Masked()
	if r.Source.Bits() <= 0 {
		r.Source = netip.Prefix{}
	} else {
		r.Source = r.Source.Masked()
	}
	if r.Mask == ^uint32(0) {
		r.Mask = 0
	}
	r.Ports = mergePorts(r.Ports)
	return r
}

func mergePorts(in []PortRange) []PortRange {
	ports := slices.Clone(in)
	slices.SortFunc(ports, func(a, b PortRange) int { return int(a.First) - int(b.First) })
	out := ports[:0]
	for _, p := range ports {
		if n := len(out); n > 0 && uint32(p.First) <= uint32(out[n-1].Last)+1 {
			out[n-1].Last = max(out[n-1].Last, p.Last)
			continue
		}
		out = append(out, p)
	}
	return out
}

// sameMatch reports whether a and b differ at most in their ports.
func sameMatch(a, b Rule) bool {
	return a.Destination == b.Destination && a.Source == b.Source &&
		a.InInterface == b.InInterface && a.Protocol == b.Protocol &&
		a.Mark == b.Mark && a.Mask == b.Mask
}

// canonicalRules validates rules and returns them in canonical form, with
// neighbours that differ only in their ports merged into one rule (the same
// packets get the same mark).
func canonicalRules(rules []Rule) ([]Rule, error) {
	out := make([]Rule, 0, len(rules))
	for i, r := range rules {
		if err := r.validate(); err != nil {
			err.Index = i
			return nil, err
		}
		out = appendMerged(out, r.canonical())
	}
	return out, nil
}

// appendMerged appends canonical rule r to canonical rules, merging it into
// the last one if they differ only in ports.
func appendMerged(rules []Rule, r Rule) []Rule {
	if n := len(rules); n > 0 && sameMatch(rules[n-1], r) {
		rules[n-1].Ports = mergePorts(append(slices.Clone(rules[n-1].Ports), r.Ports...))
		return rules
	}
	return append(rules, r)
}

// family returns the rules of one address family, in order.
func family(rules []Rule, v4 bool) []Rule {
	var out []Rule
	for _, r := range rules {
		if r.is4() == v4 {
			out = appendMerged(out, r)
		}
	}
	return out
}

// sameRules reports whether two canonical rule sets mark the same packets
// the same way: the same rules in the same order within each address
// family. (Rules of different families never see the same packet, so their
// relative order does not matter.)
func sameRules(a, b []Rule) bool {
	for _, v4 := range []bool{true, false} {
		if !slices.EqualFunc(family(a, v4), family(b, v4), func(x, y Rule) bool {
			return sameMatch(x, y) && slices.Equal(x.Ports, y.Ports)
		}) {
			return false
		}
	}
	return true
}
