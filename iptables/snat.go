package iptables

import (
	"fmt"
	"net/netip"
	"slices"
)

// SNATRule masquerades the traffic forwarded to one real server: the real
// server sees the director's address as the source.
//
// This is the FULLNAT equivalent of a director: real servers whose replies
// would not pass back through the director (their gateway is another
// router) still answer it, because the director's address is the source
// they see. In nft's syntax a rule is
//
//	ip daddr 10.0.0.2 tcp dport 80 masquerade
//
// in the postrouting chain of table inet lvs_snat (NFTSNATTable), and in
// iptables'
//
//	-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
//
// in the nat table, jumped to from POSTROUTING. The address it masquerades
// to is that of the interface the packet leaves by.
type SNATRule struct {
	Protocol    Protocol       // TCP, UDP or SCTP (required)
	Destination netip.AddrPort // the real server; port 0 means any port
}

// String returns the protocol and the real server: "tcp 10.0.0.2:80",
// "udp [2001:db8::2]:53", or "tcp 10.0.0.2" for any port.
func (r SNATRule) String() string {
	if r.Destination.Port() == 0 {
		return r.Protocol.String() + " " + r.Destination.Addr().String()
	}
	return r.Protocol.String() + " " + r.Destination.String()
}

// Validate reports whether r can be applied. Its error is a
// *ValidationError, which matches ErrInvalid and fs.ErrInvalid.
func (r SNATRule) Validate() error {
	if err := r.validate(); err != nil {
		err.Index = -1
		return err
	}
	return nil
}

func (r SNATRule) validate() *ValidationError {
	invalid := func(field, format string, args ...any) *ValidationError {
		return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), snat: true}
	}
	switch a := r.Destination.Addr(); {
	case !a.IsValid():
		return invalid("Destination", "required: the real server's address")
	case a.Is4In6():
		return invalid("Destination", "%s is an IPv4-mapped IPv6 address: give it as IPv4", a)
	case a.Zone() != "":
		return invalid("Destination", "%s has a zone, which the rules cannot match", a)
	case a.IsUnspecified():
		return invalid("Destination", "%s is no real server's address", a)
	}
	switch r.Protocol {
	case TCP, UDP, SCTP:
	default:
		return invalid("Protocol", "%s: want TCP, UDP or SCTP", r.Protocol)
	}
	return nil
}

// is4 reports whether the rule is an IPv4 rule.
func (r SNATRule) is4() bool { return r.Destination.Addr().Is4() }

// validSNAT validates rules for SyncSNAT and returns a copy of them.
func validSNAT(rules []SNATRule) ([]SNATRule, error) {
	for i, r := range rules {
		if err := r.validate(); err != nil {
			err.Index = i
			return nil, err
		}
	}
	return slices.Clone(rules), nil
}

// sameSNAT reports whether two SNAT rule sets are the same rules in the
// same order within each address family. (The iptables backend keeps the
// families in two programs' tables, so only the order within one is kept.)
func sameSNAT(a, b []SNATRule) bool {
	for _, v4 := range []bool{true, false} {
		if !slices.Equal(ofFamily(a, v4), ofFamily(b, v4)) {
			return false
		}
	}
	return true
}

// ofFamily returns the rules of one address family, in order.
func ofFamily[R interface{ is4() bool }](rules []R, v4 bool) []R {
	var out []R
	for _, r := range rules {
		if r.is4() == v4 {
			out = append(out, r)
		}
	}
	return out
}
