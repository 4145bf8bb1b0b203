package ipvs

import (
	"strings"
)

// The text forms of the package's enums: one spelling table per type,
// shared by MarshalText/UnmarshalText (YAML and JSON files, flags), by the
// rules Rule.String writes and by the listings. Parsing is case-insensitive
// and accepts the aliases ipvsadm and keepalived use; marshalling writes the
// first spelling. (ParseRules reads only what ipvsadm itself takes: its
// exact names for -s, -b and --tun-type.)

type spelling[T comparable] struct {
	v     T
	names []string // the first is the canonical text form
}

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
		known = append(known, s.names[0])
	}
	var zero T
	return zero, invalid(field, "%q is not one of %s", string(text), strings.Join(known, ", "))
}

var protocolText = []spelling[Protocol]{
	{TCP, []string{"tcp"}}, {UDP, []string{"udp"}}, {SCTP, []string{"sctp"}},
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
	{IPv4, []string{"ipv4", "inet", "4"}}, {IPv6, []string{"ipv6", "inet6", "6"}},
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
	{Masquerade, []string{"nat", "masq", "masquerade", "masquerading", "m"}},
	{DirectRoute, []string{"dr", "route", "direct", "gatewaying", "g"}},
	{Tunnel, []string{"tunnel", "tun", "ipip", "i"}},
	{Local, []string{"local"}},
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

// ipvsadmFlag is the method's ipvsadm option: -m, -g or -i (Local
// destinations are written with -g; the kernel makes them local).
func (m ForwardMethod) ipvsadmFlag() string {
	switch m {
	case Masquerade:
		return "-m"
	case Tunnel:
		return "-i"
	}
	return "-g"
}

var tunnelTypeText = []spelling[TunnelType]{
	{TunnelIPIP, []string{"ipip"}}, {TunnelGUE, []string{"gue"}}, {TunnelGRE, []string{"gre"}},
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
	{0, []string{"nocsum", ""}}, {TunnelChecksum, []string{"csum"}}, {TunnelRemoteChecksum, []string{"remcsum"}},
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
// scheduler makes of them, so each has ipvsadm's three names (-b):
// sh-fallback, mh-fallback and flag-1 are one bit.
var serviceFlagText = []spelling[ServiceFlags]{
	{FlagPersistent, []string{"persistent"}},
	{FlagOnePacket, []string{"one-packet", "ops"}},
	{SchedFlag1, []string{"flag-1", "sh-fallback", "mh-fallback", "sched1"}},
	{SchedFlag2, []string{"flag-2", "sh-port", "mh-port", "sched2"}},
	{SchedFlag3, []string{"flag-3", "sched3"}},
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
// flag-N otherwise (what ipvsadm's -b takes); unknown bits are left out.
// Each name reads back with UnmarshalText.
func (f ServiceFlags) Names(s Scheduler) []string {
	var out []string
	for _, sp := range serviceFlagText {
		if f&sp.v == 0 {
			continue
		}
		name := sp.names[0]
		switch {
		case s == SourceHashing && (sp.v == SchedFlag1 || sp.v == SchedFlag2):
			name = sp.names[1]
		case s == MaglevHashing && (sp.v == SchedFlag1 || sp.v == SchedFlag2):
			name = sp.names[2]
		}
		out = append(out, name)
	}
	return out
}
