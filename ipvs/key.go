package ipvs

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MarshalText writes k as "tcp 10.0.0.8:80", "udp [2001:db8::1]:53",
// "fwmark 10" or "fwmark 10 ipv6": the form ParseKey reads, with no spaces
// to align.
func (k Key) MarshalText() ([]byte, error) {
	if k.FirewallMark != 0 {
		s := "fwmark " + strconv.FormatUint(uint64(k.FirewallMark), 10)
		if k.Family == IPv6 {
			s += " ipv6"
		}
		return []byte(s), nil
	}
	p, err := k.Protocol.MarshalText()
	if err != nil {
		return nil, err
	}
	if len(p) == 0 || !k.Addr.IsValid() {
		return nil, invalid("Key", "neither a firewall mark nor a protocol and address")
	}
	return []byte(string(p) + " " + k.Addr.String()), nil
}

// UnmarshalText reads k as ParseKey does.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := ParseKey(string(b))
	if err == nil {
		*k = v
	}
	return err
}

// ParseKey reads a service's identity as Key.MarshalText writes it ("tcp
// 10.0.0.8:80", "fwmark 10 ipv6") or as Key.String and ipvsadm -Ln print it
// ("TCP  10.0.0.8:80", "FWM  10 IPv6"): words in any case, separated by any
// blanks. An error matches ErrInvalid.
func ParseKey(s string) (Key, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return Key{}, invalid("Key", "%q: want \"tcp|udp|sctp ADDR:PORT\" or \"fwmark N [ipv6]\"", s)
	}
	switch strings.ToLower(f[0]) {
	case "fwmark", "fwm":
		mark, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || mark == 0 || len(f) > 3 {
			return Key{}, invalid("Key", "%q: want \"fwmark N [ipv6]\" with N from 1", s)
		}
		k := Key{FirewallMark: uint32(mark), Family: IPv4}
		if len(f) == 3 {
			if err := k.Family.UnmarshalText([]byte(f[2])); err != nil {
				return Key{}, invalid("Key", "%q: family %q", s, f[2])
			}
		}
		return k, nil
	}
	var k Key
	if err := k.Protocol.UnmarshalText([]byte(f[0])); err != nil || len(f) != 2 {
		return Key{}, invalid("Key", "%q: want \"tcp|udp|sctp ADDR:PORT\" or \"fwmark N [ipv6]\"", s)
	}
	a, err := parseHostPort(f[1])
	if err != nil {
		return Key{}, invalid("Key", "%q: %v", s, err)
	}
	k.Addr, k.Family = a, FamilyOf(a.Addr())
	return k, nil
}

func parseHostPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: need host:port (numeric, [ipv6]:port)", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
