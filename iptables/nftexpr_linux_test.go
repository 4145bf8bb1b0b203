package iptables

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// nftCases pair rules with the nft syntax that means the same, and the
// expressions and set elements `nft --debug=netlink` (nft 1.0.6) prints
// for that syntax in an inet table. TestNFTMatchesNft checks the pairing
// against the real nft. (No two neighbours differ only in ports: Sync
// would merge them.)
var nftCases = []struct {
	name  string
	rule  Rule
	nft   string
	exprs []expr.Any
	elems []nftables.SetElement // nil: no set
}{
	{
		name: "lab 6",
		rule: lab6(),
		nft:  "ip daddr 10.0.0.100 tcp dport { 80, 88 } meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			cmpEq(10, 0, 0, 100),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(),
			&expr.Lookup{SourceRegister: 1},
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
		elems: []nftables.SetElement{{Key: be16(80)}, {Key: be16(88)}},
	},
	{
		name: "source, interface, one range, mask",
		rule: Rule{
			Destination: netip.MustParsePrefix("10.0.0.0/24"),
			Source:      netip.MustParsePrefix("192.168.0.0/16"),
			InInterface: "eth0",
			Protocol:    UDP,
			Ports:       []PortRange{{8000, 8080}},
			Mark:        0x0a00,
			Mask:        0xff00,
		},
		nft: `ip daddr 10.0.0.0/24 ip saddr 192.168.0.0/16 iifname "eth0" udp dport 8000-8080 meta mark set meta mark and 0xffff00ff or 0x0a00`,
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 3},
			cmpEq(10, 0, 0),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 2},
			cmpEq(192, 168),
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			cmpEq('e', 't', 'h', '0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			l4proto(), cmpEq(unix.IPPROTO_UDP), dport(),
			&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(8000)},
			&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(8080)},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(0xffff00ff), Xor: binaryutil.NativeEndian.PutUint32(0x0a00)},
			setMark(),
		},
	},
	{
		name: "ipv6, ranges up to 65535",
		rule: Rule{Destination: netip.MustParsePrefix("2001:db8::1/128"), Protocol: SCTP, Ports: []PortRange{Port(80), {8000, 8080}, Port(65535)}, Mark: 10},
		nft:  "ip6 daddr 2001:db8::1 sctp dport { 80, 8000-8080, 65535 } meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			cmpEq(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
			l4proto(), cmpEq(unix.IPPROTO_SCTP), dport(),
			&expr.Lookup{SourceRegister: 1},
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
		elems: []nftables.SetElement{
			{Key: be16(0), IntervalEnd: true},
			{Key: be16(80)}, {Key: be16(81), IntervalEnd: true},
			{Key: be16(8000)}, {Key: be16(8081), IntervalEnd: true},
			{Key: be16(65535)},
		},
	},
	{
		name: "ipv6 prefix, ranges from 1",
		rule: Rule{Destination: netip.MustParsePrefix("2001:db8::/32"), Protocol: SCTP, Ports: []PortRange{{1, 10}, Port(20)}, Mark: 10},
		nft:  "ip6 daddr 2001:db8::/32 sctp dport { 1-10, 20 } meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 4},
			cmpEq(0x20, 0x01, 0x0d, 0xb8),
			l4proto(), cmpEq(unix.IPPROTO_SCTP), dport(),
			&expr.Lookup{SourceRegister: 1},
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
		elems: []nftables.SetElement{
			{Key: be16(0), IntervalEnd: true},
			{Key: be16(1)}, {Key: be16(11), IntervalEnd: true},
			{Key: be16(20)}, {Key: be16(21), IntervalEnd: true},
		},
	},
	{
		name: "one port",
		rule: Rule{Destination: netip.MustParsePrefix("10.0.0.100/32"), Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 10},
		nft:  "ip daddr 10.0.0.100 tcp dport 80 meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			cmpEq(10, 0, 0, 100),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(),
			cmpEq(0, 80),
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
	},
	{
		name: "unaligned prefix, all ports",
		rule: Rule{Destination: netip.MustParsePrefix("10.0.16.0/20"), Protocol: TCP, Ports: []PortRange{{1, 65535}}, Mark: 10},
		nft:  "ip daddr 10.0.16.0/20 tcp dport 1-65535 meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{0xff, 0xff, 0xf0, 0}, Xor: []byte{0, 0, 0, 0}},
			cmpEq(10, 0, 16, 0),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(),
			&expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(1)},
			&expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(65535)},
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
	},
	{
		name: "unaligned ipv6 prefixes",
		rule: Rule{
			Destination: netip.MustParsePrefix("2001:db8::/33"),
			Source:      netip.MustParsePrefix("2001:db8::/127"),
			Protocol:    TCP, Ports: []PortRange{Port(65535)}, Mark: 10,
		},
		nft: "ip6 daddr 2001:db8::/33 ip6 saddr 2001:db8::/127 tcp dport 65535 meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16,
				Mask: []byte{0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Xor: make([]byte, 16)},
			cmpEq(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 16,
				Mask: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, Xor: make([]byte, 16)},
			cmpEq(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(),
			cmpEq(0xff, 0xff),
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
	},
	{
		name: "any destination",
		rule: Rule{Destination: netip.MustParsePrefix("0.0.0.0/0"), Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 10},
		nft:  "meta nfproto ipv4 tcp dport 80 meta mark set 0xa",
		exprs: []expr.Any{
			nfproto(),
			cmpEq(unix.NFPROTO_IPV4),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(),
			cmpEq(0, 80),
			&expr.Immediate{Register: 1, Data: binaryutil.NativeEndian.PutUint32(10)},
			setMark(),
		},
	},
}

func nfproto() *expr.Meta { return &expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1} }
func l4proto() *expr.Meta { return &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1} }
func setMark() *expr.Meta {
	return &expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1}
}
func cmpEq(b ...byte) *expr.Cmp {
	return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b}
}
func dport() *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
}

func TestEncodeNFT(t *testing.T) {
	for _, tt := range nftCases {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeNFT(tt.rule.canonical())
			if !reflect.DeepEqual(enc.exprs, tt.exprs) {
				t.Errorf("exprs:\n%s\nwant\n%s", dumpExprs(enc.exprs), dumpExprs(tt.exprs))
			}
			if (enc.set != nil) != (tt.elems != nil) || !reflect.DeepEqual(enc.elems, tt.elems) {
				t.Errorf("set %+v, elements %v; want elements %v", enc.set, enc.elems, tt.elems)
			}
			if enc.set != nil && (!enc.set.Anonymous || !enc.set.Constant || enc.set.KeyType != nftables.TypeInetService) {
				t.Errorf("set %+v, want an anonymous constant set of inet_service", enc.set)
			}
		})
	}
}

func TestDecodeNFT(t *testing.T) {
	for _, tt := range nftCases {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeNFT(tt.rule.canonical())
			got, ok := decodeNFT(enc.exprs, func(*expr.Lookup) ([]PortRange, bool) {
				return setPorts(enc.elems, enc.set.Interval)
			})
			if want := tt.rule.canonical(); !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeNFT = %+v, %v; want %+v", got, ok, want)
			}
		})
	}
}

func TestDecodeNFTRejectsOthers(t *testing.T) {
	good := encodeNFT(lab6()).exprs
	noSet := func(*expr.Lookup) ([]PortRange, bool) { return []PortRange{Port(80), Port(88)}, true }
	if _, ok := decodeNFT(good, noSet); !ok {
		t.Fatal("the encoding itself does not decode")
	}
	edits := map[string]func([]expr.Any) []expr.Any{
		"counter added":   func(e []expr.Any) []expr.Any { return append(e, &expr.Counter{}) },
		"verdict added":   func(e []expr.Any) []expr.Any { return append(e, &expr.Verdict{Kind: expr.VerdictAccept}) },
		"no nfproto":      func(e []expr.Any) []expr.Any { return e[2:] },
		"inverted lookup": func(e []expr.Any) []expr.Any { e[7] = &expr.Lookup{SourceRegister: 1, Invert: true}; return e },
		"other register": func(e []expr.Any) []expr.Any {
			e[8] = &expr.Immediate{Register: 2, Data: e[8].(*expr.Immediate).Data}
			return e
		},
		"daddr != ": func(e []expr.Any) []expr.Any {
			e[3] = &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{10, 0, 0, 100}}
			return e
		},
		"sport": func(e []expr.Any) []expr.Any {
			e[6] = &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Len: 2}
			return e
		},
		"mark 0": func(e []expr.Any) []expr.Any { e[8] = &expr.Immediate{Register: 1, Data: make([]byte, 4)}; return e },
		"icmp": func(e []expr.Any) []expr.Any {
			e[5] = cmpEq(unix.IPPROTO_ICMP)
			return e
		},
		"address twice": func(e []expr.Any) []expr.Any {
			return append(e[:4:4], append([]expr.Any{e[2], e[3]}, e[4:]...)...)
		},
		"host bits under mask": func(e []expr.Any) []expr.Any {
			return append(e[:3:3], append([]expr.Any{
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{0xff, 0xff, 0xff, 0}, Xor: make([]byte, 4)},
				cmpEq(10, 0, 0, 100),
			}, e[4:]...)...)
		},
		"not a prefix mask": func(e []expr.Any) []expr.Any {
			return append(e[:3:3], append([]expr.Any{
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{0xff, 0, 0xff, 0}, Xor: make([]byte, 4)},
				cmpEq(10, 0, 0, 0),
			}, e[4:]...)...)
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			e := edit(append([]expr.Any(nil), good...))
			if r, ok := decodeNFT(e, noSet); ok {
				t.Fatalf("decodeNFT accepted %s as %+v", dumpExprs(e), r)
			}
		})
	}
}

func TestSetPorts(t *testing.T) {
	// As the kernel lists an interval set: in no particular order.
	elems := []nftables.SetElement{
		{Key: be16(65535)}, {Key: be16(8081), IntervalEnd: true}, {Key: be16(8000)},
		{Key: be16(81), IntervalEnd: true}, {Key: be16(80)}, {Key: be16(0), IntervalEnd: true},
	}
	got, ok := setPorts(elems, true)
	want := []PortRange{Port(80), {8000, 8080}, Port(65535)}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("setPorts = %v, %v; want %v", got, ok, want)
	}
	if _, ok := setPorts([]nftables.SetElement{{Key: be16(1)}, {Key: be16(5)}}, true); ok {
		t.Fatal("two starts in a row accepted")
	}
	if _, ok := setPorts([]nftables.SetElement{{Key: []byte{1}}}, false); ok {
		t.Fatal("a one-byte key accepted")
	}
}

func dumpExprs(e []expr.Any) string {
	var b strings.Builder
	for _, x := range e {
		fmt.Fprintf(&b, "\t%T %+v\n", x, x)
	}
	return b.String()
}

// snatNFTCases pair SNAT rules with the nft syntax that means the same, and
// the expressions `nft --debug=netlink` (nft 1.0.6) prints for that syntax
// in an inet table. TestNFTSNATMatchesNft checks them against the real nft.
var snatNFTCases = []struct {
	rule  SNATRule
	nft   string
	exprs []expr.Any
}{
	{
		rule: snatWeb,
		nft:  "ip daddr 10.0.0.2 tcp dport 80 masquerade",
		exprs: []expr.Any{
			nfproto(), cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			cmpEq(10, 0, 0, 2),
			l4proto(), cmpEq(unix.IPPROTO_TCP), dport(), cmpEq(0, 80),
			&expr.Masq{},
		},
	},
	{
		rule: snatDNS6,
		nft:  "ip6 daddr 2001:db8::2 udp dport 53 masquerade",
		exprs: []expr.Any{
			nfproto(), cmpEq(unix.NFPROTO_IPV6),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			cmpEq(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2),
			l4proto(), cmpEq(unix.IPPROTO_UDP), dport(), cmpEq(0, 53),
			&expr.Masq{},
		},
	},
	{
		rule: snatAny,
		nft:  "ip daddr 10.0.0.3 meta l4proto sctp masquerade",
		exprs: []expr.Any{
			nfproto(), cmpEq(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			cmpEq(10, 0, 0, 3),
			l4proto(), cmpEq(unix.IPPROTO_SCTP),
			&expr.Masq{},
		},
	},
}

func TestEncodeDecodeSNAT(t *testing.T) {
	for _, tt := range snatNFTCases {
		t.Run(tt.rule.String(), func(t *testing.T) {
			enc := encodeSNAT(tt.rule)
			if !reflect.DeepEqual(enc.exprs, tt.exprs) || enc.set != nil {
				t.Fatalf("exprs:\n%s\nwant\n%s", dumpExprs(enc.exprs), dumpExprs(tt.exprs))
			}
			if got, ok := decodeSNAT(tt.exprs); !ok || got != tt.rule {
				t.Fatalf("decodeSNAT = %v, %v; want %v", got, ok, tt.rule)
			}
		})
	}
}

func TestDecodeSNATRejectsOthers(t *testing.T) {
	good := encodeSNAT(snatWeb).exprs
	noPort := encodeSNAT(snatAny).exprs
	edits := map[string]func() []expr.Any{
		"counter added":   func() []expr.Any { return append(clone(good), &expr.Counter{}) },
		"counter first":   func() []expr.Any { return append([]expr.Any{&expr.Counter{}}, good...) },
		"no masquerade":   func() []expr.Any { return clone(good)[:len(good)-1] },
		"masquerade only": func() []expr.Any { return []expr.Any{&expr.Masq{}} },
		"random":          func() []expr.Any { e := clone(good); e[8] = &expr.Masq{Random: true}; return e },
		"to ports":        func() []expr.Any { e := clone(good); e[8] = &expr.Masq{ToPorts: true, RegProtoMin: 1}; return e },
		"a mark rule":     func() []expr.Any { return encodeNFT(lab6()).exprs },
		"saddr": func() []expr.Any {
			e := clone(good)
			e[2] = &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
			return e
		},
		"daddr prefix": func() []expr.Any {
			e := clone(good)
			e[2] = &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 3}
			e[3] = cmpEq(10, 0, 0)
			return e
		},
		"daddr !=": func() []expr.Any {
			e := clone(good)
			e[3] = &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{10, 0, 0, 2}}
			return e
		},
		"no daddr": func() []expr.Any { e := clone(good); return append(e[:2:2], e[4:]...) },
		"sport": func() []expr.Any {
			e := clone(good)
			e[6] = &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Len: 2}
			return e
		},
		"dport range": func() []expr.Any {
			e := clone(good)
			return append(e[:7:7], &expr.Cmp{Op: expr.CmpOpGte, Register: 1, Data: be16(80)}, &expr.Cmp{Op: expr.CmpOpLte, Register: 1, Data: be16(88)}, &expr.Masq{})
		},
		"dport 0":   func() []expr.Any { e := clone(good); e[7] = cmpEq(0, 0); return e },
		"icmp":      func() []expr.Any { e := clone(noPort); e[5] = cmpEq(unix.IPPROTO_ICMP); return e },
		"unspec":    func() []expr.Any { e := clone(noPort); e[3] = cmpEq(0, 0, 0, 0); return e },
		"ipv6 ipv4": func() []expr.Any { e := clone(good); e[1] = cmpEq(unix.NFPROTO_IPV6); return e },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			e := edit()
			if r, ok := decodeSNAT(e); ok {
				t.Fatalf("decodeSNAT accepted\n%sas %v", dumpExprs(e), r)
			}
		})
	}
}

func clone(e []expr.Any) []expr.Any { return append([]expr.Any(nil), e...) }
