package iptables

import (
	"errors"
	"io/fs"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// lab6 is the note's lab 6 rule: 10.0.0.100, tcp, ports 80 and 88, mark 10.
func lab6() Rule {
	return Rule{
		Destination: netip.MustParsePrefix("10.0.0.100/32"),
		Protocol:    TCP,
		Ports:       []PortRange{Port(80), Port(88)},
		Mark:        10,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Rule)
		field  string // "" for valid
		reason string // a part of the reason
	}{
		{name: "lab 6", change: func(*Rule) {}},
		{name: "ipv6 with source, interface, mask", change: func(r *Rule) {
			r.Destination = netip.MustParsePrefix("2001:db8::/64")
			r.Source = netip.MustParsePrefix("2001:db8:1::/48")
			r.InInterface = "eth0"
			r.Mark, r.Mask = 0x100, 0xff00
		}},
		{name: "all ports", change: func(r *Rule) { r.Ports = []PortRange{{1, 65535}} }},
		{name: "any destination", change: func(r *Rule) { r.Destination = netip.MustParsePrefix("0.0.0.0/0") }},
		{name: "full mask", change: func(r *Rule) { r.Mask = 0xffffffff }},
		{name: "no destination", change: func(r *Rule) { r.Destination = netip.Prefix{} }, field: "Destination", reason: "required"},
		{name: "mapped destination", change: func(r *Rule) { r.Destination = netip.MustParsePrefix("::ffff:10.0.0.1/128") }, field: "Destination", reason: "IPv4-mapped"},
		{name: "mixed families", change: func(r *Rule) { r.Source = netip.MustParsePrefix("2001:db8::/32") }, field: "Source", reason: "different address families"},
		{name: "invalid source", change: func(r *Rule) { r.Source = netip.PrefixFrom(netip.MustParseAddr("10.0.0.1"), 33) }, field: "Source", reason: "not a valid prefix"},
		{name: "no protocol", change: func(r *Rule) { r.Protocol = 0 }, field: "Protocol", reason: "unknown(0)"},
		{name: "icmp", change: func(r *Rule) { r.Protocol = 1 }, field: "Protocol", reason: "unknown(1)"},
		{name: "no ports", change: func(r *Rule) { r.Ports = nil }, field: "Ports", reason: "at least one"},
		{name: "port 0", change: func(r *Rule) { r.Ports = []PortRange{Port(0)} }, field: "Ports", reason: "port 0"},
		{name: "range from 0", change: func(r *Rule) { r.Ports = []PortRange{{0, 10}} }, field: "Ports", reason: "port 0"},
		{name: "empty range", change: func(r *Rule) { r.Ports = []PortRange{{90, 80}} }, field: "Ports", reason: "90-80 is empty"},
		{name: "mark 0", change: func(r *Rule) { r.Mark = 0 }, field: "Mark", reason: "0 is no mark"},
		{name: "mark outside mask", change: func(r *Rule) { r.Mark, r.Mask = 0x1ff, 0xff }, field: "Mark", reason: "outside mask"},
		{name: "long interface", change: func(r *Rule) { r.InInterface = "abcdefghijklmnop" }, field: "InInterface", reason: "longer than 15"},
		{name: "interface with slash", change: func(r *Rule) { r.InInterface = "a/b" }, field: "InInterface", reason: "character"},
		{name: "interface with space", change: func(r *Rule) { r.InInterface = "a b" }, field: "InInterface", reason: "character"},
		{name: "interface wildcard", change: func(r *Rule) { r.InInterface = "eth+" }, field: "InInterface", reason: "wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lab6()
			tt.change(&r)
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.field || verr.Index != -1 || !strings.Contains(verr.Reason, tt.reason) {
				t.Fatalf("Validate() = %+v, want field %s, index -1, reason containing %q", verr, tt.field, tt.reason)
			}
			// Sync's validation names the rule's position.
			_, err = canonicalRules([]Rule{lab6(), r})
			if !errors.As(err, &verr) || verr.Index != 1 {
				t.Fatalf("canonicalRules = %v, want a *ValidationError for rule 1", err)
			}
			if !strings.HasPrefix(err.Error(), "iptables: invalid rule 1: "+tt.field+": ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	in := Rule{
		Destination: netip.MustParsePrefix("10.0.0.77/24"),
		Source:      netip.MustParsePrefix("0.0.0.0/0"),
		Protocol:    UDP,
		Ports:       []PortRange{Port(88), {8000, 8080}, Port(80), {8050, 8100}, Port(81), Port(8101), Port(88)},
		Mark:        10,
		Mask:        0xffffffff,
	}
	want := Rule{
		Destination: netip.MustParsePrefix("10.0.0.0/24"),
		Protocol:    UDP,
		Ports:       []PortRange{{80, 81}, Port(88), {8000, 8101}},
		Mark:        10,
	}
	got := in.canonical()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("canonical() = %+v, want %+v", got, want)
	}
	if in.Ports[0] != Port(88) {
		t.Fatal("canonical changed its input's ports")
	}
}

func TestCanonicalRulesMergesNeighbours(t *testing.T) {
	a, b := lab6(), lab6()
	a.Ports, b.Ports = []PortRange{Port(80)}, []PortRange{Port(88)}
	v6 := Rule{Destination: netip.MustParsePrefix("2001:db8::1/128"), Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 10}
	c := lab6()
	c.Mark = 11
	got, err := canonicalRules([]Rule{a, b, v6, c})
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{lab6(), v6, c}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("canonicalRules = %v, want %v", got, want)
	}
}

func TestSameRules(t *testing.T) {
	v4a, v4b := lab6(), lab6()
	v4b.Mark = 11
	v6 := Rule{Destination: netip.MustParsePrefix("2001:db8::1/128"), Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 10}
	split80, split88 := lab6(), lab6()
	split80.Ports, split88.Ports = []PortRange{Port(80)}, []PortRange{Port(88)}
	tests := []struct {
		a, b []Rule
		same bool
	}{
		{nil, nil, true},
		{[]Rule{v4a}, nil, false},
		{[]Rule{v4a, v4b}, []Rule{v4a, v4b}, true},
		{[]Rule{v4a, v4b}, []Rule{v4b, v4a}, false},           // order within a family matters
		{[]Rule{v4a, v6}, []Rule{v6, v4a}, true},              // across families it does not
		{[]Rule{split80, v6, split88}, []Rule{v4a, v6}, true}, // neighbours within a family merge
	}
	for i, tt := range tests {
		if got := sameRules(tt.a, tt.b); got != tt.same {
			t.Errorf("%d: sameRules(%v, %v) = %v, want %v", i, tt.a, tt.b, got, tt.same)
		}
	}
}

func TestStrings(t *testing.T) {
	if got, want := lab6().String(), "-d 10.0.0.100/32 -p tcp -m multiport --dports 80,88 -j MARK --set-xmark 0xa/0xffffffff"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, tt := range []struct{ got, want string }{
		{TCP.String(), "tcp"}, {UDP.String(), "udp"}, {SCTP.String(), "sctp"}, {Protocol(1).String(), "unknown(1)"},
		{Port(80).String(), "80"}, {PortRange{8000, 8080}.String(), "8000-8080"},
		{NFTables.String(), "nftables"}, {IPTables.String(), "iptables"}, {Kind(9).String(), "unknown(9)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestNewRejectsUnknownBackend(t *testing.T) {
	_, err := New(&Config{Backend: 9})
	var e *Error
	if !errors.As(err, &e) || e.Op != "new" {
		t.Fatalf("New(backend 9) = %v, want an *Error from new", err)
	}
}

// Every *ValidationError matches ErrInvalid and fs.ErrInvalid, whether it
// comes from Validate or from Sync's checks, and nothing else.
func TestValidationErrorIs(t *testing.T) {
	bad := lab6()
	bad.Mark = 0
	_, syncErr := canonicalRules([]Rule{lab6(), bad})
	for name, err := range map[string]error{"Validate": bad.Validate(), "canonicalRules": syncErr} {
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s = %v: errors.Is ErrInvalid %v, fs.ErrInvalid %v; want both", name, err,
				errors.Is(err, ErrInvalid), errors.Is(err, fs.ErrInvalid))
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrUnknownRule) {
			t.Errorf("%s = %v matches an unrelated error", name, err)
		}
	}
}
