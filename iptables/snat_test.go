package iptables

import (
	"errors"
	"io/fs"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// The source-NAT rules of the tests: IPv4 with a port, IPv6, any port.
var (
	snatWeb  = SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("10.0.0.2:80")}
	snatDNS6 = SNATRule{Protocol: UDP, Destination: netip.MustParseAddrPort("[2001:db8::2]:53")}
	snatAny  = SNATRule{Protocol: SCTP, Destination: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.3"), 0)}
)

func TestSNATValidate(t *testing.T) {
	tests := []struct {
		name   string
		rule   SNATRule
		field  string // "" for valid
		reason string // a part of the reason
	}{
		{name: "ipv4", rule: snatWeb},
		{name: "ipv6", rule: snatDNS6},
		{name: "any port", rule: snatAny},
		{name: "no destination", rule: SNATRule{Protocol: TCP}, field: "Destination", reason: "required"},
		{name: "mapped", rule: SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("[::ffff:10.0.0.2]:80")}, field: "Destination", reason: "IPv4-mapped"},
		{name: "zone", rule: SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("[fe80::1%eth0]:80")}, field: "Destination", reason: "zone"},
		{name: "unspecified", rule: SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("0.0.0.0:80")}, field: "Destination", reason: "no real server"},
		{name: "no protocol", rule: SNATRule{Destination: snatWeb.Destination}, field: "Protocol", reason: "unknown(0)"},
		{name: "icmp", rule: SNATRule{Protocol: 1, Destination: snatWeb.Destination}, field: "Protocol", reason: "unknown(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || verr.Field != tt.field || verr.Index != -1 || !strings.Contains(verr.Reason, tt.reason) {
				t.Fatalf("Validate() = %#v, want a *ValidationError for %s, index -1, reason containing %q", err, tt.field, tt.reason)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("Validate() = %v, not ErrInvalid and fs.ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "iptables: invalid SNAT rule: "+tt.field+": ") {
				t.Fatalf("error text %q", err)
			}
			// SyncSNAT's validation names the rule's position.
			_, err = validSNAT([]SNATRule{snatWeb, tt.rule})
			if !errors.As(err, &verr) || verr.Index != 1 || !errors.Is(err, ErrInvalid) ||
				!strings.HasPrefix(err.Error(), "iptables: invalid SNAT rule 1: "+tt.field+": ") {
				t.Fatalf("validSNAT = %v, want a *ValidationError for rule 1", err)
			}
		})
	}
}

func TestSNATString(t *testing.T) {
	for _, tt := range []struct {
		rule SNATRule
		want string
	}{
		{snatWeb, "tcp 10.0.0.2:80"},
		{snatDNS6, "udp [2001:db8::2]:53"},
		{SNATRule{Protocol: TCP, Destination: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 0)}, "tcp 10.0.0.2"},
		{SNATRule{Protocol: UDP, Destination: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::2"), 0)}, "udp 2001:db8::2"},
		{snatAny, "sctp 10.0.0.3"},
	} {
		if got := tt.rule.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestSameSNAT(t *testing.T) {
	other := SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("10.0.0.4:443")}
	tests := []struct {
		a, b []SNATRule
		same bool
	}{
		{nil, nil, true},
		{[]SNATRule{snatWeb}, nil, false},
		{[]SNATRule{snatWeb, other}, []SNATRule{snatWeb, other}, true},
		{[]SNATRule{snatWeb, other}, []SNATRule{other, snatWeb}, false},      // order within a family is kept
		{[]SNATRule{snatWeb, snatDNS6}, []SNATRule{snatDNS6, snatWeb}, true}, // across families it is not
		{[]SNATRule{snatWeb}, []SNATRule{{Protocol: UDP, Destination: snatWeb.Destination}}, false},
	}
	for i, tt := range tests {
		if got := sameSNAT(tt.a, tt.b); got != tt.same {
			t.Errorf("%d: sameSNAT(%v, %v) = %v, want %v", i, tt.a, tt.b, got, tt.same)
		}
	}
}

// snatIPTablesCases pair SNAT rules with the line iptables-save prints for
// them (checked against the real tools by TestHostSNATSyncList).
var snatIPTablesCases = []struct {
	rule SNATRule
	line string
}{
	{snatWeb, "-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE"},
	{snatDNS6, "-A LVS-SNAT -d 2001:db8::2/128 -p udp -m udp --dport 53 -j MASQUERADE"},
	{snatAny, "-A LVS-SNAT -d 10.0.0.3/32 -p sctp -j MASQUERADE"},
}

func TestSNATLines(t *testing.T) {
	for _, tt := range snatIPTablesCases {
		t.Run(tt.rule.String(), func(t *testing.T) {
			if got := snatLines([]SNATRule{tt.rule}); !reflect.DeepEqual(got, []string{tt.line}) {
				t.Fatalf("snatLines = %q, want %q", got, tt.line)
			}
			save := "*nat\n:POSTROUTING ACCEPT [0:0]\n:LVS-SNAT - [0:0]\n-A POSTROUTING -j LVS-SNAT\n" + tt.line + "\nCOMMIT\n"
			s := snatChain.parseSave(save, tt.rule.is4())
			want := savedState[SNATRule]{chain: true, jumps: 1, rules: []SNATRule{tt.rule}}
			if !reflect.DeepEqual(s, want) {
				t.Fatalf("parseSave = %+v, want %+v", s, want)
			}
			// The other family's iptables-save cannot hold it.
			if s := snatChain.parseSave(save, !tt.rule.is4()); len(s.rules) != 0 || len(s.unknown) != 1 {
				t.Fatalf("parseSave of the other family = %+v, want the rule unknown", s)
			}
		})
	}
}

const otherNATSave = `*mangle
:LVS-SNAT - [0:0]
-A LVS-SNAT -d 10.0.0.9/32 -p tcp -m tcp --dport 80 -j MASQUERADE
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:LVS-SNAT - [0:0]
-A POSTROUTING -j LVS-SNAT
-A POSTROUTING -o eth0 -j LVS-SNAT
-A POSTROUTING -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE --random
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j SNAT --to-source 10.0.0.1
-A LVS-SNAT -d 10.0.0.0/24 -p tcp -m tcp --dport 80 -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m udp --dport 80 -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp --dport 80 -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 0 -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p icmp -j MASQUERADE
-A LVS-SNAT -p tcp -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -d 10.0.0.3/32 -p tcp -j MASQUERADE
-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -m comment --comment "hand made" -j MASQUERADE
COMMIT
`

func TestParseSNATSaveKeepsOnlyOwnedAndKnown(t *testing.T) {
	s := snatChain.parseSave(otherNATSave, true)
	if !s.chain || s.jumps != 1 {
		t.Fatalf("chain %v, jumps %d; want true, 1 (the jump with a match is not ours)", s.chain, s.jumps)
	}
	if want := []SNATRule{snatWeb}; !reflect.DeepEqual(s.rules, want) {
		t.Fatalf("rules = %v, want %v (the mangle table's chain is not ours)", s.rules, want)
	}
	if len(s.unknown) != 10 {
		t.Fatalf("unknown = %q, want the 10 rules this package cannot have written", s.unknown)
	}
	if snatChain.inSync(s, []SNATRule{snatWeb}) {
		t.Fatal("inSync with unknown rules in the chain")
	}
}

func TestSNATScript(t *testing.T) {
	rules := []SNATRule{snatWeb, snatAny}
	body := "-A LVS-SNAT -d 10.0.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n-A LVS-SNAT -d 10.0.0.3/32 -p sctp -j MASQUERADE\n"
	tests := []struct {
		name  string
		state savedState[SNATRule]
		rules []SNATRule
		want  string
	}{
		{"fresh", savedState[SNATRule]{}, rules,
			"*nat\n:LVS-SNAT - [0:0]\n-I POSTROUTING 1 -j LVS-SNAT\n" + body + "COMMIT\n"},
		{"in sync", savedState[SNATRule]{chain: true, jumps: 1, rules: rules}, rules, ""},
		{"other order", savedState[SNATRule]{chain: true, jumps: 1, rules: []SNATRule{snatAny, snatWeb}}, rules,
			"*nat\n:LVS-SNAT - [0:0]\n" + body + "COMMIT\n"},
		{"two jumps", savedState[SNATRule]{chain: true, jumps: 2, rules: rules}, rules,
			"*nat\n:LVS-SNAT - [0:0]\n-D POSTROUTING -j LVS-SNAT\n" + body + "COMMIT\n"},
		{"remove", savedState[SNATRule]{chain: true, jumps: 1, rules: rules}, nil,
			"*nat\n-D POSTROUTING -j LVS-SNAT\n:LVS-SNAT - [0:0]\n-X LVS-SNAT\nCOMMIT\n"},
		{"remove, nothing there", savedState[SNATRule]{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := snatChain.script(tt.state, tt.rules); got != tt.want {
				t.Fatalf("script =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
