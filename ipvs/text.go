package ipvs

import (
	"fmt"
	"strings"
)

// The spellings of the package's enums: one table per type, which String,
// MarshalText/UnmarshalText (YAML and JSON files, flags), ServiceFlags.Names,
// the rules Rule.String writes and package ipvsadm's listings all read.
// Parsing is case-insensitive and accepts the aliases ipvsadm and keepalived
// use; marshalling writes the first spelling. A new value is its constant
// and a line in its table.

// spelling is one value's entry in its type's table.
type spelling[T comparable] struct {
	v T
	// str is what String prints, where it is not names[0]: the word
	// ipvsadm's listings use ("TCP", "Masq", "Route").
	str string
	// names are the text forms: MarshalText writes the first,
	// UnmarshalText reads any of them in any case.
	names []string
	// by names a scheduler flag as the schedulers that give it a meaning
	// call it (ipvsadm's -b: sh-fallback, mh-port); these are text forms
	// too. Only ServiceFlags has them.
	by map[Scheduler]string
}

// word is what String prints for the entry's value.
func (s spelling[T]) word() string {
	if s.str != "" {
		return s.str
	}
	return s.names[0]
}

// stringOf is v's String form, if v is in the table.
func stringOf[T comparable](table []spelling[T], v T) (string, bool) {
	for _, s := range table {
		if s.v == v {
			return s.word(), true
		}
	}
	return "", false
}

// textOf is v's canonical text form, if v is in the table.
func textOf[T comparable](table []spelling[T], v T) (string, bool) {
	for _, s := range table {
		if s.v == v {
			return s.names[0], true
		}
	}
	return "", false
}

func parseText[T comparable](table []spelling[T], field string, text []byte) (T, error) {
	t := strings.ToLower(strings.TrimSpace(string(text)))
	var known []string
	for _, s := range table {
		for _, n := range s.names {
			if n == t {
				return s.v, nil
			}
		}
		for _, n := range s.by {
			if n == t {
				return s.v, nil
			}
		}
		known = append(known, s.names[0])
	}
	var zero T
	return zero, invalid(field, "%q is not one of %s", string(text), strings.Join(known, ", "))
}

var protocolText = []spelling[Protocol]{
	{v: TCP, str: "TCP", names: []string{"tcp"}},
	{v: UDP, str: "UDP", names: []string{"udp"}},
	{v: SCTP, str: "SCTP", names: []string{"sctp"}},
}

// String is "TCP", "UDP", "SCTP" (as ipvsadm lists them) or "unknown(N)".
func (p Protocol) String() string {
	if s, ok := stringOf(protocolText, p); ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint16(p))
}

// MarshalText writes "tcp", "udp" or "sctp"; the zero Protocol (of a
// firewall-mark service) is "".
func (p Protocol) MarshalText() ([]byte, error) {
	if p == 0 {
		return []byte{}, nil
	}
	if s, ok := textOf(protocolText, p); ok {
		return []byte(s), nil
	}
	return nil, invalid("Protocol", "%v has no text form", p)
}

// UnmarshalText reads "tcp", "udp" or "sctp", in any case; "" is the zero
// Protocol.
func (p *Protocol) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*p = 0
		return nil
	}
	v, err := parseText(protocolText, "Protocol", b)
	if err == nil {
		*p = v
	}
	return err
}

var familyText = []spelling[Family]{
	{v: IPv4, str: "IPv4", names: []string{"ipv4", "inet", "4"}},
	{v: IPv6, str: "IPv6", names: []string{"ipv6", "inet6", "6"}},
}

// String is "IPv4", "IPv6" or "unknown(N)".
func (f Family) String() string {
	if s, ok := stringOf(familyText, f); ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint16(f))
}

// MarshalText writes "ipv4" or "ipv6"; the zero Family is "".
func (f Family) MarshalText() ([]byte, error) {
	if f == 0 {
		return []byte{}, nil
	}
	if s, ok := textOf(familyText, f); ok {
		return []byte(s), nil
	}
	return nil, invalid("Family", "%v has no text form", f)
}

// UnmarshalText reads "ipv4" or "ipv6" (also "inet", "inet6"); "" is the
// zero Family.
func (f *Family) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*f = 0
		return nil
	}
	v, err := parseText(familyText, "Family", b)
	if err == nil {
		*f = v
	}
	return err
}

// MarshalText writes the scheduler's name; the zero Scheduler (the
// kernel's default, wlc) is "", an unknown one is an error.
func (s Scheduler) MarshalText() ([]byte, error) {
	if s != "" && !s.Known() {
		return nil, invalid("Scheduler", "unknown scheduler %q (known: %v)", string(s), Schedulers())
	}
	return []byte(s), nil
}

// UnmarshalText reads a scheduler's name ("rr", "wrr", "mh", ...), in any
// case; "" is the zero Scheduler, an unknown name an error matching
// ErrInvalid.
func (s *Scheduler) UnmarshalText(b []byte) error {
	v := Scheduler(strings.ToLower(strings.TrimSpace(string(b))))
	if v != "" && !v.Known() {
		return invalid("Scheduler", "unknown scheduler %q (known: %v)", string(b), Schedulers())
	}
	*s = v
	return nil
}

var forwardText = []spelling[ForwardMethod]{
	{v: Masquerade, str: "Masq", names: []string{"nat", "masq", "masquerade", "masquerading", "m"}},
	{v: DirectRoute, str: "Route", names: []string{"dr", "route", "direct", "gatewaying", "g"}},
	{v: Tunnel, str: "Tunnel", names: []string{"tunnel", "tun", "ipip", "i"}},
	{v: Local, str: "Local", names: []string{"local"}},
}

// String is the method as ipvsadm lists it: "Masq", "Route", "Tunnel",
// "Local", or "unknown(N)".
func (m ForwardMethod) String() string {
	if s, ok := stringOf(forwardText, m); ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint32(m))
}

// MarshalText writes "nat", "dr", "tunnel" or "local".
func (m ForwardMethod) MarshalText() ([]byte, error) {
	if s, ok := textOf(forwardText, m); ok {
		return []byte(s), nil
	}
	return nil, invalid("ForwardMethod", "%v has no text form", m)
}

// UnmarshalText reads "nat" (also "masq", "masquerading", ipvsadm's "m"),
// "dr" ("route", "gatewaying", "g"), "tunnel" ("tun", "ipip", "i") or
// "local".
func (m *ForwardMethod) UnmarshalText(b []byte) error {
	v, err := parseText(forwardText, "ForwardMethod", b)
	if err == nil {
		*m = v
	}
	return err
}

var tunnelTypeText = []spelling[TunnelType]{
	{v: TunnelIPIP, names: []string{"ipip"}},
	{v: TunnelGUE, names: []string{"gue"}},
	{v: TunnelGRE, names: []string{"gre"}},
}

// String is "ipip", "gue", "gre" (ipvsadm's --tun-type) or "unknown(N)".
func (t TunnelType) String() string {
	if s, ok := stringOf(tunnelTypeText, t); ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// MarshalText writes "ipip", "gue" or "gre" (ipvsadm's --tun-type).
func (t TunnelType) MarshalText() ([]byte, error) {
	if s, ok := textOf(tunnelTypeText, t); ok {
		return []byte(s), nil
	}
	return nil, invalid("TunnelType", "%v has no text form", t)
}

// UnmarshalText reads "ipip", "gue" or "gre".
func (t *TunnelType) UnmarshalText(b []byte) error {
	v, err := parseText(tunnelTypeText, "TunnelType", b)
	if err == nil {
		*t = v
	}
	return err
}

var tunnelFlagsText = []spelling[TunnelFlags]{
	{v: 0, names: []string{"nocsum", ""}},
	{v: TunnelChecksum, names: []string{"csum"}},
	{v: TunnelRemoteChecksum, names: []string{"remcsum"}},
}

// String is "nocsum", "csum", "remcsum" (ipvsadm's --tun-*csum), or the
// flags in hexadecimal.
func (f TunnelFlags) String() string {
	if s, ok := stringOf(tunnelFlagsText, f); ok {
		return s
	}
	return fmt.Sprintf("0x%x", uint16(f))
}

// MarshalText writes "nocsum", "csum" or "remcsum" (ipvsadm's --tun-*csum).
func (f TunnelFlags) MarshalText() ([]byte, error) {
	if s, ok := textOf(tunnelFlagsText, f); ok {
		return []byte(s), nil
	}
	return nil, invalid("TunnelFlags", "%v has no text form", f)
}

// UnmarshalText reads "nocsum" (or empty), "csum" or "remcsum".
func (f *TunnelFlags) UnmarshalText(b []byte) error {
	v, err := parseText(tunnelFlagsText, "TunnelFlags", b)
	if err == nil {
		*f = v
	}
	return err
}

// serviceFlagText spells each flag. The scheduler flags mean what the
// scheduler makes of them: each is flag-N (what ipvsadm's -b takes for any
// scheduler), sh-* and mh-* under sh and mh, and schedN to String.
var serviceFlagText = []spelling[ServiceFlags]{
	{v: FlagPersistent, names: []string{"persistent"}},
	{v: FlagOnePacket, names: []string{"one-packet", "ops"}},
	{v: SchedFlag1, str: "sched1", names: []string{"flag-1", "sched1"},
		by: map[Scheduler]string{SourceHashing: "sh-fallback", MaglevHashing: "mh-fallback"}},
	{v: SchedFlag2, str: "sched2", names: []string{"flag-2", "sched2"},
		by: map[Scheduler]string{SourceHashing: "sh-port", MaglevHashing: "mh-port"}},
	{v: SchedFlag3, str: "sched3", names: []string{"flag-3", "sched3"}},
}

// String prints the flags joined by "|" ("persistent|one-packet|sched1"),
// unknown bits in hexadecimal; no flags is "none".
func (f ServiceFlags) String() string {
	var parts []string
	for _, s := range serviceFlagText {
		if f&s.v != 0 {
			parts = append(parts, s.word())
			f &^= s.v
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(f)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// MarshalText writes the flags as a comma-separated list, as ipvsadm's -b
// takes them: "persistent,one-packet,flag-1"; no flags is "".
func (f ServiceFlags) MarshalText() ([]byte, error) {
	var parts []string
	for _, s := range serviceFlagText {
		if f&s.v != 0 {
			parts = append(parts, s.names[0])
			f &^= s.v
		}
	}
	if f != 0 {
		return nil, invalid("ServiceFlags", "unknown flags 0x%x", uint32(f))
	}
	return []byte(strings.Join(parts, ",")), nil
}

// UnmarshalText reads a list of flag names separated by commas or "|":
// persistent, one-packet (ops), and the scheduler flags by any of their
// names (sh-fallback, mh-fallback or flag-1; sh-port, mh-port or flag-2;
// flag-3).
func (f *ServiceFlags) UnmarshalText(b []byte) error {
	var v ServiceFlags
	for _, part := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == '|' }) {
		one, err := parseText(serviceFlagText, "ServiceFlags", []byte(part))
		if err != nil {
			return err
		}
		v |= one
	}
	*f = v
	return nil
}

// Names lists the flags by name as they read for scheduler s: the scheduler
// flags as sh-fallback and sh-port for sh, mh-fallback and mh-port for mh,
// flag-N otherwise (what ipvsadm's -b takes and its listings show); unknown
// bits are left out. Each name reads back with UnmarshalText.
func (f ServiceFlags) Names(s Scheduler) []string {
	var out []string
	for _, sp := range serviceFlagText {
		if f&sp.v == 0 {
			continue
		}
		name, ok := sp.by[s]
		if !ok {
			name = sp.names[0]
		}
		out = append(out, name)
	}
	return out
}
