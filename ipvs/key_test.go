package ipvs

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Key
		text string
	}{
		{"tcp 10.0.0.8:80", Key{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: IPv4}, "tcp 10.0.0.8:80"},
		{"TCP  10.0.0.8:80", Key{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: IPv4}, "tcp 10.0.0.8:80"},
		{"UDP  [2001:db8::1]:53", Key{Protocol: UDP, Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Family: IPv6}, "udp [2001:db8::1]:53"},
		{"sctp [::ffff:10.0.0.1]:9", Key{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.1:9"), Family: IPv4}, "sctp 10.0.0.1:9"},
		{"fwmark 10", Key{FirewallMark: 10, Family: IPv4}, "fwmark 10"},
		{"FWM  10 IPv6", Key{FirewallMark: 10, Family: IPv6}, "fwmark 10 ipv6"},
	} {
		k, err := ParseKey(tc.in)
		if err != nil || k != tc.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", tc.in, k, err, tc.want)
			continue
		}
		b, err := k.MarshalText()
		if err != nil || string(b) != tc.text {
			t.Errorf("MarshalText(%q) = %q, %v; want %q", tc.in, b, err, tc.text)
		}
		var back Key
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("UnmarshalText(%q) = %+v, %v", b, back, err)
		}
		if s, err := ParseKey(k.String()); err != nil || s != k {
			t.Errorf("ParseKey(String() %q) = %+v, %v", k.String(), s, err)
		}
	}
	for _, bad := range []string{"", "tcp", "tcp 10.0.0.8", "icmp 10.0.0.8:80", "fwmark 0", "fwmark x", "fwmark 1 ipv7", "fwmark 1 ipv6 x", "tcp 10.0.0.8:80 x"} {
		if k, err := ParseKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseKey(%q) = %+v, %v; want ErrInvalid", bad, k, err)
		}
	}
	if _, err := (Key{}).MarshalText(); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero Key marshalled: %v", err)
	}
}
