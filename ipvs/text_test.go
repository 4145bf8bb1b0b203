package ipvs

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// TestTextForms: every enum marshals to its canonical spelling, reads back
// from it and from its aliases in any case, and refuses unknown text with an
// error matching ErrInvalid and fs.ErrInvalid.
func TestTextForms(t *testing.T) {
	type textual interface {
		MarshalText() ([]byte, error)
	}
	roundTrip := func(name string, v textual, want string, parse func([]byte) (any, error)) {
		t.Helper()
		b, err := v.MarshalText()
		if err != nil || string(b) != want {
			t.Errorf("%s: MarshalText = %q, %v; want %q", name, b, err, want)
			return
		}
		back, err := parse(b)
		if err != nil || back != any(v) {
			t.Errorf("%s: UnmarshalText(%q) = %v, %v; want %v", name, b, back, err, v)
		}
	}
	pp := func(b []byte) (any, error) { var p Protocol; err := p.UnmarshalText(b); return p, err }
	roundTrip("tcp", TCP, "tcp", pp)
	roundTrip("udp", UDP, "udp", pp)
	roundTrip("sctp", SCTP, "sctp", pp)
	fp := func(b []byte) (any, error) { var f Family; err := f.UnmarshalText(b); return f, err }
	roundTrip("ipv4", IPv4, "ipv4", fp)
	roundTrip("ipv6", IPv6, "ipv6", fp)
	sp := func(b []byte) (any, error) { var s Scheduler; err := s.UnmarshalText(b); return s, err }
	for _, s := range Schedulers() {
		roundTrip(string(s), s, string(s), sp)
	}
	mp := func(b []byte) (any, error) { var m ForwardMethod; err := m.UnmarshalText(b); return m, err }
	roundTrip("nat", Masquerade, "nat", mp)
	roundTrip("dr", DirectRoute, "dr", mp)
	roundTrip("tunnel", Tunnel, "tunnel", mp)
	roundTrip("local", Local, "local", mp)
	tp := func(b []byte) (any, error) { var v TunnelType; err := v.UnmarshalText(b); return v, err }
	roundTrip("ipip", TunnelIPIP, "ipip", tp)
	roundTrip("gue", TunnelGUE, "gue", tp)
	roundTrip("gre", TunnelGRE, "gre", tp)
	cp := func(b []byte) (any, error) { var v TunnelFlags; err := v.UnmarshalText(b); return v, err }
	roundTrip("nocsum", TunnelFlags(0), "nocsum", cp)
	roundTrip("csum", TunnelChecksum, "csum", cp)
	roundTrip("remcsum", TunnelRemoteChecksum, "remcsum", cp)
	flp := func(b []byte) (any, error) { var v ServiceFlags; err := v.UnmarshalText(b); return v, err }
	roundTrip("flags", FlagPersistent|FlagOnePacket|SchedFlag1|SchedFlag3, "persistent,one-packet,flag-1,flag-3", flp)
	roundTrip("no flags", ServiceFlags(0), "", flp)
	// Zero values (a firewall-mark service's protocol, the default
	// scheduler) are "", so that any Service marshals.
	roundTrip("no protocol", Protocol(0), "", pp)
	roundTrip("no family", Family(0), "", fp)
	roundTrip("no scheduler", Scheduler(""), "", sp)
	if b, err := json.Marshal(Service{FirewallMark: 1}); err != nil || !strings.Contains(string(b), `"Protocol":""`) {
		t.Errorf("a firewall-mark service in JSON: %s, %v", b, err)
	}

	aliases := []struct {
		text string
		got  func() (any, error)
		want any
	}{
		{"TCP", func() (any, error) { return pp([]byte("TCP")) }, TCP},
		{"inet6", func() (any, error) { return fp([]byte("inet6")) }, IPv6},
		{"WRR", func() (any, error) { return sp([]byte("WRR")) }, WeightedRoundRobin},
		{"masquerading", func() (any, error) { return mp([]byte("masquerading")) }, Masquerade},
		{"m", func() (any, error) { return mp([]byte("m")) }, Masquerade},
		{"g", func() (any, error) { return mp([]byte("g")) }, DirectRoute},
		{"route", func() (any, error) { return mp([]byte("route")) }, DirectRoute},
		{"ipip", func() (any, error) { return mp([]byte("ipip")) }, Tunnel},
		{"mh-fallback|mh-port", func() (any, error) { return flp([]byte("mh-fallback|mh-port")) }, FlagMHFallback | FlagMHPort},
		{"sh-fallback,ops", func() (any, error) { return flp([]byte("sh-fallback,ops")) }, FlagSHFallback | FlagOnePacket},
	}
	for _, a := range aliases {
		if got, err := a.got(); err != nil || got != a.want {
			t.Errorf("%q = %v, %v; want %v", a.text, got, err, a.want)
		}
	}

	for name, err := range map[string]error{
		"protocol": func() error { var p Protocol; return p.UnmarshalText([]byte("icmp")) }(),
		"family":   func() error { var f Family; return f.UnmarshalText([]byte("ipx")) }(),
		"sched":    func() error { var s Scheduler; return s.UnmarshalText([]byte("fastest")) }(),
		"forward":  func() error { var m ForwardMethod; return m.UnmarshalText([]byte("fullnat")) }(),
		"tunnel":   func() error { var v TunnelType; return v.UnmarshalText([]byte("vxlan")) }(),
		"csum":     func() error { var v TunnelFlags; return v.UnmarshalText([]byte("both")) }(),
		"flags":    func() error { var v ServiceFlags; return v.UnmarshalText([]byte("one-packet,sticky")) }(),
		"marshal":  func() error { _, err := Protocol(99).MarshalText(); return err }(),
		"sched-m":  func() error { _, err := Scheduler("fastest").MarshalText(); return err }(),
		"marshal2": func() error { _, err := ServiceFlags(0x400).MarshalText(); return err }(),
	} {
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid and fs.ErrInvalid", name, err)
		}
	}
}

// TestTextFormsInJSON: the types work as JSON (and so YAML) values.
func TestTextFormsInJSON(t *testing.T) {
	type rs struct {
		Proto   Protocol      `json:"proto"`
		Sched   Scheduler     `json:"sched"`
		Forward ForwardMethod `json:"forward"`
		Tunnel  TunnelType    `json:"tunnel"`
		Flags   ServiceFlags  `json:"flags"`
	}
	in := `{"proto":"udp","sched":"mh","forward":"dr","tunnel":"gue","flags":"mh-fallback,mh-port"}`
	var v rs
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	want := rs{UDP, MaglevHashing, DirectRoute, TunnelGUE, FlagMHFallback | FlagMHPort}
	if v != want {
		t.Fatalf("decoded %+v, want %+v", v, want)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := `{"proto":"udp","sched":"mh","forward":"dr","tunnel":"gue","flags":"flag-1,flag-2"}`; string(b) != got {
		t.Errorf("encoded %s, want %s", b, got)
	}
	if err := json.Unmarshal([]byte(`{"forward":"fullnat"}`), &v); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad forward: %v, want ErrInvalid", err)
	}
}

// TestStringsReadBack: each enum has one spelling table, so what String
// prints (ipvsadm's listing words: "TCP", "Masq", "sched1") and what Names
// gives under every scheduler read back through UnmarshalText.
func TestStringsReadBack(t *testing.T) {
	type value interface {
		String() string
	}
	back := map[value]func(string) (any, error){}
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		back[p] = func(s string) (any, error) { var v Protocol; err := v.UnmarshalText([]byte(s)); return v, err }
	}
	for _, f := range []Family{IPv4, IPv6} {
		back[f] = func(s string) (any, error) { var v Family; err := v.UnmarshalText([]byte(s)); return v, err }
	}
	for _, m := range []ForwardMethod{Masquerade, Local, Tunnel, DirectRoute} {
		back[m] = func(s string) (any, error) { var v ForwardMethod; err := v.UnmarshalText([]byte(s)); return v, err }
	}
	for _, tt := range []TunnelType{TunnelIPIP, TunnelGUE, TunnelGRE} {
		back[tt] = func(s string) (any, error) { var v TunnelType; err := v.UnmarshalText([]byte(s)); return v, err }
	}
	for _, tf := range []TunnelFlags{0, TunnelChecksum, TunnelRemoteChecksum} {
		back[tf] = func(s string) (any, error) { var v TunnelFlags; err := v.UnmarshalText([]byte(s)); return v, err }
	}
	all := FlagPersistent | FlagOnePacket | SchedFlag1 | SchedFlag2 | SchedFlag3
	for f := ServiceFlags(1); f <= all; f++ {
		if f&^all == 0 {
			back[f] = func(s string) (any, error) { var v ServiceFlags; err := v.UnmarshalText([]byte(s)); return v, err }
		}
	}
	for v, parse := range back {
		if got, err := parse(v.String()); err != nil || got != any(v) {
			t.Errorf("%T %v: String %q reads back as %v, %v", v, v, v.String(), got, err)
		}
	}
	for _, s := range append(Schedulers(), "") {
		for _, f := range []ServiceFlags{FlagPersistent, FlagOnePacket, SchedFlag1, SchedFlag2, SchedFlag3} {
			names := f.Names(s)
			var got ServiceFlags
			if len(names) != 1 || got.UnmarshalText([]byte(names[0])) != nil || got != f {
				t.Errorf("%v under %q: Names %q reads back as %v", f, s, names, got)
			}
		}
	}
	if got := (SchedFlag1 | SchedFlag2 | SchedFlag3).Names(SourceHashing); strings.Join(got, ",") != "sh-fallback,sh-port,flag-3" {
		t.Errorf("sh's names: %q", got)
	}
	if got := (SchedFlag1 | SchedFlag2).Names(MaglevHashing); strings.Join(got, ",") != "mh-fallback,mh-port" {
		t.Errorf("mh's names: %q", got)
	}
	if got := (FlagPersistent | SchedFlag1 | 0x400).Names(RoundRobin); strings.Join(got, ",") != "persistent,flag-1" {
		t.Errorf("rr's names: %q", got)
	}
}
