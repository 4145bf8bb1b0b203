package director

import (
	"encoding/json"
	"errors"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/sysctl"
	"sigs.k8s.io/yaml"
)

func TestTally(t *testing.T) {
	chk := Check{Rise: 2, Fall: 3}
	var tl tally
	steps := []struct {
		ok      bool
		flipped bool
		failed  bool
	}{
		{false, false, false}, {false, false, false}, {true, false, false}, // a success resets the run
		{false, false, false}, {false, false, false}, {false, true, true}, // third failure in a row
		{true, false, true}, {false, false, true}, {true, false, true}, {true, true, false},
	}
	for i, s := range steps {
		if f := tl.add(s.ok, chk); f != s.flipped || tl.failed != s.failed {
			t.Fatalf("step %d (ok=%v): flipped=%v failed=%v, want %v %v", i, s.ok, f, tl.failed, s.flipped, s.failed)
		}
	}
}

func TestEffective(t *testing.T) {
	cfg := mustParse(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: {type: http}
    sorryServer: {address: 10.0.0.200:80, forward: nat}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: 2}
  - protocol: tcp
    address: 10.0.0.8:443
    check: {type: tcp, onFailure: remove}
    realServers:
      - {address: 10.0.0.110:443, forward: nat}
      - {address: 10.0.0.120:443, forward: nat}
`)
	m := mustCompile(t, cfg)
	targets := m.targets()
	if len(targets) != 4 {
		t.Fatalf("targets %v", targets)
	}
	k80, k443 := m.services[0].svc.Key(), m.services[1].svc.Key()
	rs := netip.MustParseAddrPort
	failed := map[target]bool{{k80, rs("10.0.0.110:80")}: true, {k443, rs("10.0.0.110:443")}: true}
	eff := m.effective(failed)
	// Quiesced: weight 0, still there; removed: gone; the rest as it was.
	if w := eff.services[0].dests[0].Weight; w != 0 {
		t.Errorf("quiesced server weight = %v", w)
	}
	if w := eff.services[0].dests[1].Weight; w != 2 {
		t.Errorf("healthy server changed: %v", w)
	}
	if len(eff.services[1].dests) != 1 || eff.services[1].dests[0].Addr != rs("10.0.0.120:443") {
		t.Errorf("removed: %+v", eff.services[1].dests)
	}
	if m.services[0].dests[0].Weight != 1 {
		t.Error("effective changed the model it was given")
	}
	// One failure: the plan from the effective model is one operation.
	cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"}}
	p := plan(m.effective(map[target]bool{{k80, rs("10.0.0.120:80")}: true}), cur, false)
	if p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Rule.Destination.Weight != 0 {
		t.Errorf("plan for one failure:\n%s", p)
	}
	// Nobody healthy: the sorry server joins.
	all := map[target]bool{{k80, rs("10.0.0.110:80")}: true, {k80, rs("10.0.0.120:80")}: true}
	if ds := m.effective(all).services[0].dests; len(ds) != 3 || ds[2].Addr != rs("10.0.0.200:80") {
		t.Errorf("with every server failed: %+v", ds)
	}
}

func TestCompileCheckDefaults(t *testing.T) {
	for _, tc := range []struct {
		in   Check
		want Check
		p    prober
	}{
		{Check{Type: "tcp"}, Check{Type: "tcp", Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3}, tcpProber{}},
		// Per-kind defaults only where the kind reads them.
		{Check{Type: "http"}, Check{Type: "http", Path: "/", Status: 200, Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3},
			httpProber{scheme: "http", path: "/", status: 200}},
		{Check{Type: "https", Path: "/up", Status: 204, Host: "a.example"},
			Check{Type: "https", Path: "/up", Status: 204, Host: "a.example", Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3},
			httpProber{scheme: "https", path: "/up", host: "a.example", status: 204}},
		{Check{Type: "udp", Send: "ping", Expect: "pong", Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Rise: 1, Fall: 1, OnFailure: Remove},
			Check{Type: "udp", Send: "ping", Expect: "pong", Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Rise: 1, Fall: 1, OnFailure: Remove},
			udpProber{send: []byte("ping"), expect: []byte("pong")}},
		{Check{Type: "command", Command: []string{"true", "x"}},
			Check{Type: "command", Command: []string{"true", "x"}, Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3},
			commandProber{argv: []string{"true", "x"}}},
	} {
		cc, err := compileCheck(tc.in, false)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(cc.check, tc.want) {
			t.Errorf("compileCheck(%+v).check =\n%+v, want\n%+v", tc.in, cc.check, tc.want)
		}
		if !reflect.DeepEqual(cc.prober, tc.p) {
			t.Errorf("compileCheck(%+v).prober = %#v, want %#v", tc.in, cc.prober, tc.p)
		}
	}
}

func TestCompileCheckErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chk    Check
		fwmark bool
		err    string // "" means valid
	}{
		{"negative interval", Check{Type: "tcp", Interval: -time.Second}, false, "negative"},
		{"negative timeout", Check{Type: "tcp", Timeout: -time.Second}, false, "negative"},
		{"negative rise", Check{Type: "tcp", Rise: -1}, false, "negative"},
		{"negative fall", Check{Type: "tcp", Fall: -1}, false, "negative"},
		{"timeout above interval", Check{Type: "tcp", Interval: time.Second, Timeout: 3 * time.Second}, false, ""},
		{"bad onFailure", Check{Type: "tcp", OnFailure: 7}, false, "onFailure unknown(7)"},
		{"unknown type", Check{Type: "icmp"}, false, `unknown type "icmp" (known: command, http, https, tcp, udp)`},
		{"no type", Check{}, false, `unknown type ""`},
		{"command without command", Check{Type: "command"}, false, "command: needs a command"},
		{"command with empty name", Check{Type: "command", Command: []string{""}}, false, "needs a command"},
		{"http path", Check{Type: "http", Path: "health"}, false, `http: path "health"`},
		{"http status", Check{Type: "https", Status: 42}, false, "https: status 42"},
		{"fwmark tcp without port", Check{Type: "tcp"}, true, "firewall-mark service needs a port"},
		{"fwmark udp without port", Check{Type: "udp"}, true, "needs a port"},
		{"fwmark http without port", Check{Type: "http"}, true, "needs a port"},
		{"fwmark tcp with port", Check{Type: "tcp", Port: 80}, true, ""},
		{"fwmark command", Check{Type: "command", Command: []string{"true"}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := compileCheck(tc.chk, tc.fwmark)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("compileCheck: %v, want valid", err)
			case tc.err == "" && cc.prober == nil:
				t.Fatal("no prober")
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("compileCheck: %v, want an error with %q", err, tc.err)
			}
		})
	}
}

// TestCheckKindsListed: the unknown-type error lists every registered
// kind, sorted, whatever the map's order.
func TestCheckKindsListed(t *testing.T) {
	_, err := compileCheck(Check{Type: "nope"}, false)
	known := slices.Sorted(maps.Keys(checkKinds))
	if want := "(known: " + strings.Join(known, ", ") + ")"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v, want it to end %q", err, want)
	}
}

func TestCheckYAML(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Check
		err  string
	}{
		{`{type: tcp, interval: 5s, timeout: 7}`, Check{Type: "tcp", Interval: 5 * time.Second, Timeout: 7 * time.Second}, ""},
		{`{type: tcp, interval: 1.5, timeout: 250ms}`, Check{Type: "tcp", Interval: 1500 * time.Millisecond, Timeout: 250 * time.Millisecond}, ""},
		{`{type: tcp, onFailure: remove}`, Check{Type: "tcp", OnFailure: Remove}, ""},
		{`{type: tcp, onFailure: quiesce}`, Check{Type: "tcp", OnFailure: Quiesce}, ""},
		{`{type: udp, port: 53, send: ping, expect: pong}`, Check{Type: "udp", Port: 53, Send: "ping", Expect: "pong"}, ""},
		{`{type: http, path: /up, status: 204, host: a.example, rise: 1, fall: 4}`,
			Check{Type: "http", Path: "/up", Status: 204, Host: "a.example", Rise: 1, Fall: 4}, ""},
		{`{type: command, command: [sh, -c, "exit 0"]}`, Check{Type: "command", Command: []string{"sh", "-c", "exit 0"}}, ""},
		{`{type: tcp, onFailure: drop}`, Check{}, `onFailure "drop" is not quiesce or remove`},
		{`{type: tcp, onFailure: Remove}`, Check{}, "is not quiesce or remove"},
		{`{type: tcp, interval: soon}`, Check{}, "soon"},
		{`{type: tcp, interval: [1]}`, Check{}, "duration"},
		{`{type: tcp, interval: 1e300}`, Check{}, "duration"},
		{`{type: tcp, bogus: 1}`, Check{}, `unknown field "bogus"`},
	} {
		var got Check
		err := yaml.UnmarshalStrict([]byte(tc.yaml), &got)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.yaml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one with %q", tc.yaml, err, tc.err)
		case tc.err == "" && !reflect.DeepEqual(got, tc.want):
			t.Errorf("%s:\n got %+v\nwant %+v", tc.yaml, got, tc.want)
		}
	}
}

// TestCheckRoundTrip: every field comes back through JSON and YAML, under
// the names files use, with durations as "5s" and onFailure spelt out.
func TestCheckRoundTrip(t *testing.T) {
	in := Check{Type: "http", Port: 8080, Path: "/up", Status: 204, Host: "a.example", Command: []string{"x"},
		Send: "ping", Expect: "pong", Interval: 5 * time.Second, Timeout: 1500 * time.Millisecond,
		Rise: 1, Fall: 4, OnFailure: Remove}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "http", "port": 8080.0, "path": "/up", "status": 204.0, "host": "a.example",
		"command": []any{"x"}, "send": "ping", "expect": "pong", "interval": "5s", "timeout": "1.5s",
		"rise": 1.0, "fall": 4.0, "onFailure": "remove"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("JSON %s, want the fields %v", b, want)
	}
	var back Check
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, in) {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	y, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	back = Check{}
	if err := yaml.UnmarshalStrict(y, &back); err != nil || !reflect.DeepEqual(back, in) {
		t.Errorf("YAML round trip of\n%s: %+v, %v", y, back, err)
	}
	// The defaults stay out of files.
	if b, _ := json.Marshal(Check{Type: "tcp"}); string(b) != `{"type":"tcp"}` {
		t.Errorf("zero check: %s", b)
	}
	if _, err := json.Marshal(Check{Type: "tcp", OnFailure: 9}); err == nil {
		t.Error("marshalled onFailure 9")
	}
}

func TestFailureActionString(t *testing.T) {
	if var0 := FailureAction(0); var0 != Quiesce {
		t.Errorf("the zero FailureAction is %v, want quiesce (the default)", var0)
	}
	for a, want := range map[FailureAction]string{Quiesce: "quiesce", Remove: "remove", 7: "unknown(7)"} {
		if got := a.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(a), got, want)
		}
	}
}

// TestParseCheck: a configuration file's checks go through the same
// compilation: a bad kind is a configuration error, and so is a port-less
// check of a firewall-mark service.
func TestParseCheck(t *testing.T) {
	cfg := mustParse(t, `
services:
  - protocol: udp
    address: 10.0.0.8:53
    check: {type: udp, send: ping, expect: pong, interval: 10s, timeout: 3}
    realServers:
      - {address: 10.0.0.110:53, forward: nat}
`)
	if c := cfg.Services[0].Check; c.Interval != 10*time.Second || c.Timeout != 3*time.Second || c.Send != "ping" {
		t.Errorf("check %+v", c)
	}
	for tg, cc := range mustCompile(t, cfg).targets() {
		if tg.addr != netip.MustParseAddrPort("10.0.0.110:53") || cc.check.Rise != 2 || cc.check.Expect != "pong" {
			t.Errorf("target %v: %+v", tg, cc.check)
		}
	}
	for _, bad := range []string{
		"check: {type: icmp}",
		"check: {type: tcp, onFailure: sometimes}",
		"check: {type: tcp, interval: -1s}",
	} {
		_, err := Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    ` + bad + `
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
`))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad, err)
		}
	}
	_, err := Parse([]byte(`
services:
  - fwmark: 1
    check: {type: tcp}
    realServers:
      - {address: 10.0.0.110:0, forward: dr}
`))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "needs a port") {
		t.Errorf("fwmark check without a port: %v", err)
	}
}
