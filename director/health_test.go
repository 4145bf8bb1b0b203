package director

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
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
	cfg := mustConfig(t, `
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
	eff := m.effective(verdicts{failed: failed})
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
	cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1", sysctl.VSExpireNodestConn: "1"}}
	p := plan(m.effective(verdicts{failed: map[target]bool{{k80, rs("10.0.0.120:80")}: true}}), cur, false)
	if p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Rule.Destination.Weight != 0 {
		t.Errorf("plan for one failure:\n%s", p)
	}
	// Nobody healthy: the sorry server joins.
	all := map[target]bool{{k80, rs("10.0.0.110:80")}: true, {k80, rs("10.0.0.120:80")}: true}
	if ds := m.effective(verdicts{failed: all}).services[0].dests; len(ds) != 3 || ds[2].Addr != rs("10.0.0.200:80") {
		t.Errorf("with every server failed: %+v", ds)
	}
}

func TestCompileCheckDefaults(t *testing.T) {
	common := func(c Check) Check {
		c.Interval, c.Timeout, c.Rise, c.Fall = 5*time.Second, 2*time.Second, 2, 3
		return c
	}
	for _, tc := range []struct {
		in   Check
		want Check
	}{
		{Check{Spec: &check.TCP{}}, common(Check{Spec: &check.TCP{}})},
		{Check{Spec: check.TCP{}}, common(Check{Spec: check.TCP{}})},
		// The kind's defaults are its checker's; the spec stays as given.
		{Check{Spec: &check.HTTP{}}, common(Check{Spec: &check.HTTP{}})},
		{Check{Spec: &check.UDP{Send: "ping", Expect: "pong"}, Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Jitter: time.Second, Rise: 1, Fall: 1, OnFailure: Remove},
			Check{Spec: &check.UDP{Send: "ping", Expect: "pong"}, Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Jitter: time.Second, Rise: 1, Fall: 1, OnFailure: Remove}},
		{Check{Spec: &check.Command{Argv: []string{"true", "x"}}}, common(Check{Spec: &check.Command{Argv: []string{"true", "x"}}})},
		{Check{Spec: &check.DNS{Query: "svc.test"}}, common(Check{Spec: &check.DNS{Query: "svc.test"}})},
		{Check{Spec: &check.ICMP{}, Timeout: check.MaxTimeout}, Check{Spec: &check.ICMP{}, Interval: 5 * time.Second, Timeout: check.MaxTimeout, Rise: 2, Fall: 3}},
	} {
		cc, err := compileCheck(tc.in, false)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(cc.check, tc.want) {
			t.Errorf("compileCheck(%+v).check =\n%+v, want\n%+v", tc.in, cc.check, tc.want)
		}
		// The checker is the spec's.
		want, err := tc.in.Spec.Compile()
		if err != nil || !reflect.DeepEqual(cc.checker, want) {
			t.Errorf("compileCheck(%+v).checker = %#v, want %#v (%v)", tc.in, cc.checker, want, err)
		}
	}
}

// unregistered is a kind of check nobody registered.
type unregistered struct{}

func (unregistered) Type() string                    { return "nope" }
func (unregistered) Compile() (check.Checker, error) { return nil, nil }

func TestCompileCheckErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chk    Check
		fwmark bool
		err    string // "" means valid
	}{
		{"negative interval", Check{Spec: &check.TCP{}, Interval: -time.Second}, false, "negative"},
		{"negative timeout", Check{Spec: &check.TCP{}, Timeout: -time.Second}, false, "negative"},
		{"negative jitter", Check{Spec: &check.TCP{}, Jitter: -time.Second}, false, "negative interval, timeout, jitter"},
		{"jitter", Check{Spec: &check.TCP{}, Jitter: time.Minute}, false, ""},
		{"negative rise", Check{Spec: &check.TCP{}, Rise: -1}, false, "negative"},
		{"negative fall", Check{Spec: &check.TCP{}, Fall: -1}, false, "negative"},
		{"negative retryDelay", Check{Spec: &check.TCP{}, RetryDelay: -time.Second}, false, "negative"},
		{"retryDelay", Check{Spec: &check.TCP{}, RetryDelay: 3 * time.Second}, false, ""},
		{"retryDelay too long", Check{Spec: &check.TCP{}, RetryDelay: MaxCheckInterval + time.Second}, false, "retryDelay 24h0m1s is longer than 24h0m0s"},
		{"timeout above interval", Check{Spec: &check.TCP{}, Interval: time.Second, Timeout: 3 * time.Second}, false, ""},
		{"longest timeout", Check{Spec: &check.TCP{}, Timeout: check.MaxTimeout}, false, ""},
		{"timeout too long", Check{Spec: &check.TCP{}, Timeout: check.MaxTimeout + time.Second}, false, "timeout 5m1s is longer than 5m0s, the longest a check may run"},
		{"bad onFailure", Check{Spec: &check.TCP{}, OnFailure: 7}, false, "onFailure unknown(7)"},
		{"unregistered type", Check{Spec: unregistered{}}, false, `unknown type "nope" (known: command, dns, file, http, https, icmp, smtp, tcp, tls, udp)`},
		{"no type", Check{}, false, `unknown type ""`},

		// The kind's own errors, after its type.
		{"command without command", Check{Spec: &check.Command{}}, false, "command: needs a command"},
		{"http path", Check{Spec: &check.HTTP{Path: "health"}}, false, `http: path "health"`},
		{"http status", Check{Spec: &check.HTTPS{HTTP: check.HTTP{Status: []int{200, 42}}, TLS: check.TLS{Insecure: true}}}, false, "https: status 42 is not an HTTP status"},
		{"certFile alone", Check{Spec: &check.TLS{CertFile: "/c.pem"}}, false, "tls: certFile and keyFile go together"},
		{"dns without query", Check{Spec: &check.DNS{}}, false, `dns: query "" is not a domain name`},
		{"smtp helo with a space", Check{Spec: &check.SMTP{Helo: "a b"}}, false, `smtp: helo "a b" is not a host name`},

		// Port, which icmp does not read.
		{"port on icmp", Check{Spec: &check.ICMP{}, Port: 7}, false, "icmp checks do not read port (read by command, dns, http, https, smtp, tcp, tls, udp)"},
		{"port on command", Check{Spec: &check.Command{Argv: []string{"true"}}, Port: 7}, false, ""},

		// firewall marks
		{"fwmark tcp without port", Check{Spec: &check.TCP{}}, true, "firewall-mark service needs a port"},
		{"fwmark udp without port", Check{Spec: &check.UDP{}}, true, "needs a port"},
		{"fwmark http without port", Check{Spec: &check.HTTP{}}, true, "needs a port"},
		{"fwmark dns without port", Check{Spec: &check.DNS{Query: "a.example"}}, true, "needs a port"},
		{"fwmark tcp with port", Check{Spec: &check.TCP{}, Port: 80}, true, ""},
		{"fwmark command", Check{Spec: &check.Command{Argv: []string{"true"}}}, true, ""},
		{"fwmark icmp", Check{Spec: &check.ICMP{}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := compileCheck(tc.chk, tc.fwmark)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("compileCheck: %v, want valid", err)
			case tc.err == "" && cc.checker == nil:
				t.Fatal("no checker")
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("compileCheck: %v, want an error with %q", err, tc.err)
			case err != nil && strings.Contains(err.Error(), "check:"):
				t.Errorf("%v: the error says check: (the configuration error's where does)", err)
			}
		})
	}
	// The errors keep their chain.
	_, err := compileCheck(Check{Spec: &check.ICMP{}, Port: 7}, false)
	var fe *check.FieldError
	if !errors.As(err, &fe) || fe.Field != "port" {
		t.Errorf("port on icmp: %v is not a *check.FieldError for port", err)
	}
	_, err = compileCheck(Check{Spec: &check.TLS{CAFile: "/nonexistent/ca.pem"}}, false)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing caFile: %v does not wrap fs.ErrNotExist", err)
	}
}

// TestCheckKindsListed: the unknown-type error lists every registered
// kind, sorted.
func TestCheckKindsListed(t *testing.T) {
	_, err := compileCheck(Check{Spec: unregistered{}}, false)
	if want := "(known: " + strings.Join(check.Types(), ", ") + ")"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v, want it to end %q", err, want)
	}
}

func TestCheckYAML(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Check
		err  string
	}{
		{`{type: tcp, interval: 5s, timeout: 7}`, Check{Spec: &check.TCP{}, Interval: 5 * time.Second, Timeout: 7 * time.Second}, ""},
		{`{type: tcp, interval: 1.5, timeout: 250ms}`, Check{Spec: &check.TCP{}, Interval: 1500 * time.Millisecond, Timeout: 250 * time.Millisecond}, ""},
		{`{type: tcp, onFailure: remove}`, Check{Spec: &check.TCP{}, OnFailure: Remove}, ""},
		{`{type: tcp, onFailure: quiesce}`, Check{Spec: &check.TCP{}, OnFailure: Quiesce}, ""},
		{`{type: udp, port: 53, send: ping, expect: pong}`, Check{Spec: &check.UDP{Send: "ping", Expect: "pong"}, Port: 53}, ""},
		{`{type: http, path: /up, status: 204, host: a.example, rise: 1, fall: 4}`,
			Check{Spec: &check.HTTP{Path: "/up", Status: []int{204}, Host: "a.example"}, Rise: 1, Fall: 4}, ""},
		{`{type: http, status: [200, 204]}`, Check{Spec: &check.HTTP{Status: []int{200, 204}}}, ""},
		{`{type: http, status: []}`, Check{Spec: &check.HTTP{Status: []int{}}}, ""},
		{`{type: http, status: ok}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: http, status: 200.5}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: http, status: [200, "x"]}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: https, headers: {X-Probe: lvs}, bodyRegexp: "^ok", digest: d41d8cd98f00b204e9800998ecf8427e, caFile: /ca.pem, serverName: a.example, certFile: /c.pem, keyFile: /k.pem}`,
			Check{Spec: &check.HTTPS{HTTP: check.HTTP{Headers: map[string]string{"X-Probe": "lvs"}, BodyRegexp: "^ok", Digest: "d41d8cd98f00b204e9800998ecf8427e"},
				TLS: check.TLS{CAFile: "/ca.pem", ServerName: "a.example", CertFile: "/c.pem", KeyFile: "/k.pem"}}}, ""},
		{`{type: tls, insecure: true, jitter: 1.5}`, Check{Spec: &check.TLS{Insecure: true}, Jitter: 1500 * time.Millisecond}, ""},
		{`{type: tcp, jitter: 2s}`, Check{Spec: &check.TCP{}, Jitter: 2 * time.Second}, ""},
		{`{type: tcp, jitter: later}`, Check{}, "later"},
		{`{type: tcp, retryDelay: 1s, fall: 2}`, Check{Spec: &check.TCP{}, RetryDelay: time.Second, Fall: 2}, ""},
		{`{type: tcp, retryDelay: 0.5}`, Check{Spec: &check.TCP{}, RetryDelay: 500 * time.Millisecond}, ""},
		{`{type: dns, query: svc.test, queryType: TXT, rcode: NXDOMAIN, answer: hello}`,
			Check{Spec: &check.DNS{Query: "svc.test", QueryType: "TXT", Rcode: "NXDOMAIN", Answer: "hello"}}, ""},
		{`{type: smtp, helo: checker.test}`, Check{Spec: &check.SMTP{Helo: "checker.test"}}, ""},
		{`{type: icmp}`, Check{Spec: &check.ICMP{}}, ""},
		{`{type: icmp, port: 7}`, Check{Spec: &check.ICMP{}, Port: 7}, ""}, // refused when compiled
		{`{type: command, command: [sh, -c, "exit 0"]}`, Check{Spec: &check.Command{Argv: []string{"sh", "-c", "exit 0"}}}, ""},
		{`{type: tcp, onFailure: drop}`, Check{}, `onFailure: "drop" is not quiesce or remove`},
		{`{type: tcp, onFailure: Remove}`, Check{}, "is not quiesce or remove"},
		{`{type: tcp, interval: soon}`, Check{}, "interval: time: invalid duration \"soon\""},
		{`{type: tcp, interval: [1]}`, Check{}, "interval: duration"},
		{`{type: tcp, interval: 1e300}`, Check{}, "duration"},
		{`{type: tcp, port: http}`, Check{}, "port: want a whole number from 0 to 65535, got text"},
		{`{type: tcp, port: 70000}`, Check{}, "port: want a whole number from 0 to 65535, got 70000"},
		{`{type: tcp, rise: 1.5}`, Check{}, "rise: want a whole number, got 1.5"},
		{`{type: 5}`, Check{}, "type: want text, got a number"},
		{`{type: tcp, bogus: 1}`, Check{}, `unknown field "bogus"`},
		{`{type: tcp, query: a.example}`, Check{}, "tcp checks do not read query (read by dns)"},
		{`{type: ftp}`, Check{}, `unknown type "ftp" (known: command, dns, file, http, https, icmp, smtp, tcp, tls, udp)`},
		{`{interval: 5s}`, Check{}, `unknown type ""`},
		{`tcp`, Check{}, "a check is a mapping of fields"},
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
		case err != nil && strings.Contains(err.Error(), "check: check:"):
			t.Errorf("%s: %v", tc.yaml, err)
		}
	}
}

// TestCheckRoundTrip: every field of each kind comes back through JSON
// and YAML, in one block under the names files use, with durations as
// "5s", onFailure spelt out and status as a list.
func TestCheckRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in   Check
		want map[string]any
	}{
		{Check{Spec: &check.HTTPS{HTTP: check.HTTP{Path: "/up", Status: []int{200, 204}, Host: "a.example",
			Headers: map[string]string{"X-Probe": "lvs"}, BodyRegexp: "^ok$", Digest: "d41d8cd98f00b204e9800998ecf8427e"},
			TLS: check.TLS{CAFile: "/ca.pem", ServerName: "b.example", Insecure: true, CertFile: "/c.pem", KeyFile: "/k.pem"}},
			Port: 8080, Interval: 5 * time.Second, Timeout: 1500 * time.Millisecond, Jitter: 3 * time.Second, Rise: 1, Fall: 4, OnFailure: Remove},
			map[string]any{"type": "https", "port": 8080.0, "path": "/up", "status": []any{200.0, 204.0}, "host": "a.example",
				"headers": map[string]any{"X-Probe": "lvs"}, "bodyRegexp": "^ok$", "digest": "d41d8cd98f00b204e9800998ecf8427e",
				"caFile": "/ca.pem", "serverName": "b.example", "insecure": true, "certFile": "/c.pem", "keyFile": "/k.pem",
				"interval": "5s", "timeout": "1.5s", "jitter": "3s", "rise": 1.0, "fall": 4.0, "onFailure": "remove"}},
		{Check{Spec: &check.DNS{Query: "svc.test", QueryType: "AAAA", Rcode: "NXDOMAIN", Answer: "2001:db8::1"}, Port: 53},
			map[string]any{"type": "dns", "port": 53.0, "query": "svc.test", "queryType": "AAAA", "rcode": "NXDOMAIN", "answer": "2001:db8::1"}},
		{Check{Spec: &check.SMTP{Helo: "checker.test"}}, map[string]any{"type": "smtp", "helo": "checker.test"}},
		{Check{Spec: &check.Command{Argv: []string{"x"}}}, map[string]any{"type": "command", "command": []any{"x"}}},
		{Check{Spec: &check.UDP{Send: "ping", Expect: "pong"}}, map[string]any{"type": "udp", "send": "ping", "expect": "pong"}},
		{Check{Spec: &check.ICMP{}, Fall: 1}, map[string]any{"type": "icmp", "fall": 1.0}},
		{Check{Spec: &check.TCP{}, Fall: 2, RetryDelay: time.Second}, map[string]any{"type": "tcp", "fall": 2.0, "retryDelay": "1s"}},
	} {
		b, err := json.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fields, tc.want) {
			t.Errorf("JSON %s, want the fields %v", b, tc.want)
		}
		var back Check
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tc.in) {
			t.Errorf("JSON round trip: %+v, %v", back, err)
		}
		y, err := yaml.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		back = Check{}
		if err := yaml.UnmarshalStrict(y, &back); err != nil || !reflect.DeepEqual(back, tc.in) {
			t.Errorf("YAML round trip of\n%s: %+v, %v", y, back, err)
		}
	}
	// Type and port first, the kind's fields, then the director's.
	b, err := json.Marshal(Check{Spec: check.HTTP{Path: "/"}, Port: 80, Interval: time.Second})
	if want := `{"type":"http","port":80,"path":"/","interval":"1s"}`; err != nil || string(b) != want {
		t.Errorf("JSON %s, %v; want %s", b, err, want)
	}
	// The defaults stay out of files.
	if b, _ := json.Marshal(Check{Spec: &check.TCP{}}); string(b) != `{"type":"tcp"}` {
		t.Errorf("zero check: %s", b)
	}
	if _, err := json.Marshal(Check{Spec: &check.TCP{}, OnFailure: 9}); err == nil {
		t.Error("marshalled onFailure 9")
	}
}

// TestCheckFieldsShared: the fields a check block gives the director are
// those package check leaves to it, whatever the kind.
func TestCheckFieldsShared(t *testing.T) {
	for _, typ := range check.Types() {
		for _, f := range checkFields {
			if _, err := check.Decode(typ, []byte(`{"`+f+`": null}`)); err != nil {
				t.Errorf("%s check with %s: %v, want it left to the director", typ, f, err)
			}
		}
	}
}

// TestCheckStatusSpellings: status reads as a number or a list, from JSON
// and YAML, and is written back as a list that reads the same.
func TestCheckStatusSpellings(t *testing.T) {
	status := func(c Check) []int {
		if h, ok := c.Spec.(*check.HTTP); ok {
			return h.Status
		}
		return []int{-1}
	}
	for _, tc := range []struct {
		yaml, json string
		want       []int
		out        string
	}{
		{"{type: http, status: 200}", `{"type":"http","status":200}`, []int{200}, `{"type":"http","status":[200]}`},
		{"{type: http, status: [200]}", `{"type":"http","status":[200]}`, []int{200}, `{"type":"http","status":[200]}`},
		{"{type: http, status: [200, 204]}", `{"type":"http","status":[200,204]}`, []int{200, 204}, `{"type":"http","status":[200,204]}`},
		{"{type: http}", `{"type":"http","status":null}`, nil, `{"type":"http"}`},
	} {
		var fromYAML, fromJSON Check
		if err := yaml.UnmarshalStrict([]byte(tc.yaml), &fromYAML); err != nil || !slices.Equal(status(fromYAML), tc.want) {
			t.Errorf("YAML %s: status %v, %v; want %v", tc.yaml, status(fromYAML), err, tc.want)
		}
		if err := json.Unmarshal([]byte(tc.json), &fromJSON); err != nil || !slices.Equal(status(fromJSON), tc.want) {
			t.Errorf("JSON %s: status %v, %v; want %v", tc.json, status(fromJSON), err, tc.want)
		}
		b, err := json.Marshal(fromYAML)
		if err != nil || string(b) != tc.out {
			t.Errorf("%s written as %s, %v; want %s", tc.yaml, b, err, tc.out)
		}
		y, err := yaml.Marshal(fromYAML)
		if err != nil {
			t.Fatal(err)
		}
		var back Check
		if err := yaml.UnmarshalStrict(y, &back); err != nil || !reflect.DeepEqual(back, fromYAML) {
			t.Errorf("YAML %s written as\n%s reads back as %+v, %v", tc.yaml, y, back, err)
		}
		if len(tc.want) > 0 && !strings.Contains(string(y), "status:\n- ") {
			t.Errorf("YAML %s written with status not as a list:\n%s", tc.yaml, y)
		}
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
	cfg := mustConfig(t, `
services:
  - protocol: udp
    address: 10.0.0.8:53
    check: {type: udp, send: ping, expect: pong, interval: 10s, timeout: 3}
    realServers:
      - {address: 10.0.0.110:53, forward: nat}
`)
	if c := cfg.Services[0].Check; c.Interval != 10*time.Second || c.Timeout != 3*time.Second || c.Spec.(*check.UDP).Send != "ping" {
		t.Errorf("check %+v", c)
	}
	for tg, l := range mustCompile(t, cfg).targets() {
		cc := l[0]
		if len(l) != 1 || tg.addr != netip.MustParseAddrPort("10.0.0.110:53") || cc.check.Rise != 2 || cc.check.Spec.(*check.UDP).Expect != "pong" {
			t.Errorf("target %v: %+v", tg, cc.check)
		}
	}
	for _, bad := range []string{
		"check: {type: ftp}",
		"check: {type: tcp, query: a.example}",
		"check: {type: https, caFile: /nonexistent/ca.pem}",
		"check: {type: tcp, jitter: -1s}",
		"check: {type: tcp, onFailure: sometimes}",
		"check: {type: tcp, interval: -1s}",
		"check: {type: tcp, timeout: 10m}",
		"check: {type: icmp, port: 7}",
		"check: {type: dns, query: a.example, send: x}",
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
