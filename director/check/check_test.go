package check

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"sigs.k8s.io/yaml"
)

// TestCompileDefaults: each kind's checker, with the defaults filled in
// only where the kind reads them.
func TestCompileDefaults(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want Checker
	}{
		{TCP{}, tcpChecker{}},
		{&TCP{}, tcpChecker{}},
		{HTTP{}, httpChecker{scheme: "http", path: "/", status: []int{200}}},
		{HTTP{Path: "/up?x=1", Status: []int{200, 301}, Host: "a.example"},
			httpChecker{scheme: "http", path: "/up", query: "x=1", host: "a.example", status: []int{200, 301}}},
		{HTTP{Headers: map[string]string{"x-probe": "lvs", "Accept": "*/*"}, Digest: "D41D8CD98F00B204E9800998ECF8427E"},
			httpChecker{scheme: "http", path: "/", status: []int{200}, digest: "d41d8cd98f00b204e9800998ecf8427e",
				header: http.Header{"X-Probe": {"lvs"}, "Accept": {"*/*"}}}},
		{UDP{Send: "ping", Expect: "pong"}, udpChecker{send: []byte("ping"), expect: []byte("pong")}},
		{Command{Argv: []string{"true", "x"}}, commandChecker{argv: []string{"true", "x"}}},
		{DNS{Query: "svc.test"}, dnsChecker{name: "svc.test.", qtype: dns.TypeA, rcode: dns.RcodeSuccess}},
		{DNS{Query: "svc.test.", QueryType: "aaaa", Rcode: "nxdomain", Answer: "2001:db8::1"},
			dnsChecker{name: "svc.test.", qtype: dns.TypeAAAA, rcode: dns.RcodeNameError, answer: "2001:db8::1", addr: netip.MustParseAddr("2001:db8::1")}},
		{DNS{Query: "svc.test", QueryType: "TXT", Answer: "v=1"}, dnsChecker{name: "svc.test.", qtype: dns.TypeTXT, answer: "v=1"}},
		{ICMP{}, icmpChecker{}},
		{SMTP{}, smtpChecker{}},
		{SMTP{Helo: "checker.example"}, smtpChecker{helo: "checker.example"}},
	} {
		got, err := tc.spec.Compile()
		if err != nil {
			t.Errorf("%#v: %v", tc.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%#v compiles to %#v, want %#v", tc.spec, got, tc.want)
		}
	}
	// https is http with a TLS configuration.
	got, err := HTTPS{HTTP: HTTP{Path: "/up", Status: []int{204}, Host: "a.example"}, TLS: TLS{Insecure: true}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if p := got.(httpChecker); p.scheme != "https" || p.path != "/up" || !slices.Equal(p.status, []int{204}) || p.tls == nil || !p.tls.InsecureSkipVerify {
		t.Errorf("https: %#v", p)
	}
	if p, _ := (HTTP{}).Compile(); p.(httpChecker).tls != nil {
		t.Error("an http check with a TLS configuration")
	}
}

// TestCompileTLS: the TLS fields of https and tls checks become one
// configuration: verified unless insecure, for serverName, else host
// (else the target's address), with the CA and client certificate read
// at compile time.
func TestCompileTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	rs := netip.MustParseAddrPort("10.0.0.110:443")
	for _, tc := range []struct {
		spec       Spec
		serverName string // for rs
		insecure   bool
		roots      bool
		certs      int
	}{
		{TLS{}, "10.0.0.110", false, false, 0},
		{HTTPS{}, "10.0.0.110", false, false, 0},
		{HTTPS{HTTP: HTTP{Host: "a.example"}}, "a.example", false, false, 0},
		{HTTPS{HTTP: HTTP{Host: "a.example"}, TLS: TLS{ServerName: "b.example"}}, "b.example", false, false, 0},
		{TLS{Insecure: true}, "10.0.0.110", true, false, 0},
		{TLS{CAFile: ca, CertFile: cert, KeyFile: key}, "10.0.0.110", false, true, 1},
	} {
		p, err := tc.spec.Compile()
		if err != nil {
			t.Errorf("%+v: %v", tc.spec, err)
			continue
		}
		var cfg *tls.Config
		switch p := p.(type) {
		case tlsChecker:
			cfg = p.tls
		case httpChecker:
			cfg = p.tls
		}
		if cfg == nil {
			t.Errorf("%+v: no TLS configuration in %#v", tc.spec, p)
			continue
		}
		got := tlsConfigFor(cfg, rs)
		if got.ServerName != tc.serverName || got.InsecureSkipVerify != tc.insecure || (got.RootCAs != nil) != tc.roots || len(got.Certificates) != tc.certs {
			t.Errorf("%+v: serverName %q, insecure %v, roots %v, %d certificates; want %q %v %v %d", tc.spec,
				got.ServerName, got.InsecureSkipVerify, got.RootCAs != nil, len(got.Certificates), tc.serverName, tc.insecure, tc.roots, tc.certs)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		err  string // "" means valid
	}{
		{"command without command", Command{}, "needs a command"},
		{"command with empty name", Command{Argv: []string{""}}, "needs a command"},

		// http, https
		{"http path", HTTP{Path: "health"}, `path "health" does not start with a single /`},
		{"http status", HTTPS{HTTP: HTTP{Status: []int{200, 42}}, TLS: TLS{Insecure: true}}, "status 42 is not an HTTP status"},
		{"http status 600", HTTP{Status: []int{600}}, "status 600 is not an HTTP status"},
		{"bad regexp", HTTP{BodyRegexp: "(up"}, "bodyRegexp: error parsing regexp"},
		{"regexp", HTTP{BodyRegexp: `^\s*ok`}, ""},
		{"short digest", HTTP{Digest: "abc"}, `digest "abc" is not an MD5 digest`},
		{"digest not hex", HTTP{Digest: strings.Repeat("z", 32)}, "is not an MD5 digest"},
		{"upper-case digest", HTTP{Digest: "D41D8CD98F00B204E9800998ECF8427E"}, ""},
		{"host header", HTTP{Headers: map[string]string{"host": "a.example"}}, "header host: set host instead"},
		{"bad header name", HTTP{Headers: map[string]string{"X Probe": "a"}}, `header "X Probe": not a header name`},
		{"empty header name", HTTP{Headers: map[string]string{"": "a"}}, "not a header name"},
		{"header value newline", HTTP{Headers: map[string]string{"X-A": "a\r\nHost: b"}}, "has control characters"},
		{"header value DEL", HTTP{Headers: map[string]string{"X-A": "a\x7f"}}, "has control characters"},
		{"header twice", HTTP{Headers: map[string]string{"x-a": "1", "X-A": "2"}}, "given twice"},
		{"content-length header", HTTP{Headers: map[string]string{"Content-Length": "1"}}, "a GET without a body"},
		{"headers", HTTP{Headers: map[string]string{"Authorization": "Bearer x", "User-Agent": "lvs"}}, ""},
		{"bad host", HTTP{Host: "a/b"}, `host "a/b" is not a host name`},
		{"path with a space", HTTP{Path: "/a b"}, "no spaces"},
		{"path naming a host", HTTP{Path: "//other/"}, "single /"},

		// https, tls
		{"certFile alone", TLS{CertFile: cert}, "certFile and keyFile go together"},
		{"keyFile alone", HTTPS{TLS: TLS{KeyFile: key}}, "certFile and keyFile go together"},
		{"missing caFile", TLS{CAFile: filepath.Join(dir, "none.pem")}, "caFile: open"},
		{"caFile not PEM", HTTPS{TLS: TLS{CAFile: notPEM}}, "no PEM certificate"},
		{"key pair mismatch", TLS{CertFile: cert, KeyFile: notPEM}, "certFile, keyFile:"},
		{"insecure and caFile", TLS{Insecure: true, CAFile: ca}, "insecure skips the verification caFile is for"},
		{"bad serverName", TLS{ServerName: "a b"}, `serverName "a b" is not a host name`},
		{"tls files", TLS{CAFile: ca, CertFile: cert, KeyFile: key}, ""},
		{"insecure with serverName", HTTPS{TLS: TLS{Insecure: true, ServerName: "a.example"}}, ""},
		{"https bad path", HTTPS{HTTP: HTTP{Path: "x"}, TLS: TLS{Insecure: true}}, `path "x"`},

		// dns
		{"dns without query", DNS{}, `query "" is not a domain name`},
		{"dns bad query", DNS{Query: "a..example"}, `query "a..example" is not a domain name`},
		{"dns bad type", DNS{Query: "a.example", QueryType: "BOGUS"}, `queryType "BOGUS" is not a DNS record type`},
		{"dns bad rcode", DNS{Query: "a.example", Rcode: "MAYBE"}, `rcode "MAYBE" is not a DNS rcode`},
		{"dns A answer not v4", DNS{Query: "a.example", Answer: "2001:db8::1"}, `answer "2001:db8::1" is not an address of an A record`},
		{"dns AAAA answer not v6", DNS{Query: "a.example", QueryType: "AAAA", Answer: "10.0.0.1"}, "not an address of an AAAA record"},
		{"dns CNAME answer not a name", DNS{Query: "a.example", QueryType: "CNAME", Answer: "a..b"}, `answer "a..b" is not a domain name`},
		{"dns SOA answer", DNS{Query: "a.example", QueryType: "SOA", Answer: "x"}, "not SOA"},
		{"dns SOA without answer", DNS{Query: "a.example", QueryType: "soa", Rcode: "servfail"}, ""},
		{"dns MX answer", DNS{Query: "a.example", QueryType: "MX", Answer: "mail.a.example."}, ""},

		// smtp
		{"smtp helo with a space", SMTP{Helo: "a b"}, `helo "a b" is not a host name`},
		{"smtp helo with CRLF", SMTP{Helo: "a\r\nRCPT"}, "is not a host name"},
		{"smtp helo too long", SMTP{Helo: strings.Repeat("a", 256)}, "is not a host name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.spec.Compile()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Compile: %v, want valid", err)
			case tc.err == "" && p == nil:
				t.Fatal("no checker")
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Compile: %v, want an error with %q", err, tc.err)
			}
		})
	}
}

// decodeYAML decodes a check block written in YAML, as the director's
// configuration reads it.
func decodeYAML(t *testing.T, r *registry, typ, block string) (Spec, error) {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(block))
	if err != nil {
		t.Fatal(err)
	}
	return r.decode(typ, j)
}

// builtinRegistry is a registry of the built-in kinds alone.
func builtinRegistry() *registry { return &registry{kinds: map[string]Kind{}} }

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		typ, yaml string
		want      Spec
		err       string
	}{
		{"tcp", `{type: tcp, interval: 5s, timeout: 7, port: 80, rise: 1, fall: 2, jitter: 1s, onFailure: remove}`, &TCP{}, ""},
		{"tcp", `{Type: tcp, Interval: 5s}`, &TCP{}, ""}, // as encoding/json matches names
		{"tcp", ``, &TCP{}, ""},
		{"udp", `{type: udp, port: 53, send: ping, expect: pong}`, &UDP{Send: "ping", Expect: "pong"}, ""},
		{"http", `{type: http, path: /up, status: 204, host: a.example, rise: 1, fall: 4}`,
			&HTTP{Path: "/up", Status: []int{204}, Host: "a.example"}, ""},
		{"http", `{type: http, status: [200, 204]}`, &HTTP{Status: []int{200, 204}}, ""},
		{"http", `{type: http, status: []}`, &HTTP{Status: []int{}}, ""},
		{"http", `{type: http, status: ok}`, nil, "status: want a number or a list of numbers, got \"ok\""},
		{"http", `{type: http, status: 200.5}`, nil, "status: want a number or a list of numbers"},
		{"http", `{type: http, status: [200, "x"]}`, nil, "status: want a number or a list of numbers"},
		{"https", `{type: https, headers: {X-Probe: lvs}, bodyRegexp: "^ok", digest: d41d8cd98f00b204e9800998ecf8427e, caFile: /ca.pem, serverName: a.example, certFile: /c.pem, keyFile: /k.pem}`,
			&HTTPS{HTTP: HTTP{Headers: map[string]string{"X-Probe": "lvs"}, BodyRegexp: "^ok", Digest: "d41d8cd98f00b204e9800998ecf8427e"},
				TLS: TLS{CAFile: "/ca.pem", ServerName: "a.example", CertFile: "/c.pem", KeyFile: "/k.pem"}}, ""},
		{"tls", `{type: tls, insecure: true, jitter: 1.5}`, &TLS{Insecure: true}, ""},
		{"tls", `{type: tls, insecure: maybe}`, nil, "insecure: want true or false, got text"},
		{"dns", `{type: dns, query: svc.test, queryType: TXT, rcode: NXDOMAIN, answer: hello}`,
			&DNS{Query: "svc.test", QueryType: "TXT", Rcode: "NXDOMAIN", Answer: "hello"}, ""},
		{"dns", `{type: dns, query: [a]}`, nil, "query: want text, got a list"},
		{"smtp", `{type: smtp, helo: checker.test}`, &SMTP{Helo: "checker.test"}, ""},
		{"icmp", `{type: icmp}`, &ICMP{}, ""},
		{"command", `{type: command, command: [sh, -c, "exit 0"]}`, &Command{Argv: []string{"sh", "-c", "exit 0"}}, ""},
		{"command", `{type: command, command: "exit 0"}`, nil, "command: want a list, got text"},
		{"http", `{type: http, headers: {X-A: [1]}}`, nil, "headers: want text, got a list"},
		{"tcp", `{type: tcp, bogus: 1}`, nil, `unknown field "bogus" (no type of check reads it)`},
		{"tcp", `[1]`, nil, "a check is a mapping of fields"},
	} {
		got, err := decodeYAML(t, builtinRegistry(), tc.typ, tc.yaml)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.yaml, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one with %q", tc.yaml, err, tc.err)
		case tc.err == "" && !reflect.DeepEqual(got, tc.want):
			t.Errorf("%s:\n got %#v\nwant %#v", tc.yaml, got, tc.want)
		}
	}
}

// TestDecodeFieldErrors: a field a kind does not read, or cannot take
// the value of, is a *FieldError naming it as the file does, with the
// kinds that read it.
func TestDecodeFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		typ, yaml string
		field     string
		err       string
	}{
		{"http", "{query: a.example}", "query", "http checks do not read query (read by dns)"},
		{"tcp", "{status: [200]}", "status", "tcp checks do not read status (read by http, https)"},
		{"tcp", "{status: []}", "status", "do not read status"},
		{"http", "{insecure: true}", "insecure", "http checks do not read insecure (read by https, tls)"},
		{"tls", "{host: a.example}", "host", "tls checks do not read host (read by http, https)"},
		{"tcp", "{command: [true]}", "command", "do not read command (read by command)"},
		{"dns", "{query: a.example, send: x}", "send", "dns checks do not read send (read by udp)"},
		{"udp", "{helo: x}", "helo", "udp checks do not read helo (read by smtp)"},
		{"smtp", "{headers: {A: b}}", "headers", "do not read headers (read by http, https)"},
		// The first field refused is the one named (YAML's mappings
		// reach JSON with their keys sorted).
		{"tcp", "{path: /, answer: x}", "answer", "tcp checks do not read answer (read by dns)"},
		{"tcp", "{intreval: 5s}", "intreval", `unknown field "intreval"`},
		{"udp", "{send: ping, expect: [pong]}", "expect", "expect: want text, got a list"},
	} {
		_, err := decodeYAML(t, builtinRegistry(), tc.typ, tc.yaml)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Type != tc.typ || fe.Field != tc.field || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s %s: %v (%#v), want a *FieldError for %s with %q", tc.typ, tc.yaml, err, fe, tc.field, tc.err)
		}
	}
}

// jsonFields are the names of a spec's fields as files spell them.
func jsonFields(t *testing.T, spec Spec) []string {
	var out []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(spec).Elem()) {
		if f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%T.%s has no name in files (a json tag)", spec, f.Name)
			continue
		}
		out = append(out, name)
	}
	return out
}

// TestFieldsRead: each built-in kind reads its own fields and refuses
// every other kind's, naming the kinds that read it; no kind reads a
// field the director reads.
func TestFieldsRead(t *testing.T) {
	r := builtinRegistry()
	fields := map[string][]string{} // field: the kinds that have it
	for _, typ := range r.types() {
		k, _ := r.lookup(typ)
		for _, f := range jsonFields(t, k.New()) {
			fields[f] = append(fields[f], typ)
		}
	}
	for _, f := range directorFields {
		if by := fields[f]; len(by) > 0 {
			t.Errorf("%v have a field %s, which the director reads", by, f)
		}
	}
	for _, typ := range r.types() {
		k, _ := r.lookup(typ)
		for f, by := range fields {
			if got := reads(k, f); got != slices.Contains(by, typ) {
				t.Errorf("%s reads %s: %v, want %v", typ, f, got, !got)
			}
			if slices.Contains(by, typ) {
				continue
			}
			_, err := r.decode(typ, []byte(`{"`+f+`": null}`))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != f || !slices.Equal(fe.ReadBy, by) {
				t.Errorf("%s check with %s: %v, want a *FieldError read by %v", typ, f, err, by)
			}
		}
	}
}

// TestBuiltins: the table's types are their specs' Types, and what they
// do with a port is as documented.
func TestBuiltins(t *testing.T) {
	for typ, k := range builtins {
		spec := k.New()
		if spec.Type() != typ {
			t.Errorf("builtins[%q] makes %T, of type %q", typ, spec, spec.Type())
		}
		if reflect.TypeOf(spec).Kind() != reflect.Pointer {
			t.Errorf("builtins[%q] makes a %T, not a pointer", typ, spec)
		}
	}
	for typ, want := range map[string]PortUse{"tcp": PortNeeded, "http": PortNeeded, "icmp": PortUnused, "command": PortOptional} {
		if k, _ := Lookup(typ); k.Port != want {
			t.Errorf("%s: port %v, want %v", typ, k.Port, want)
		}
	}
	if got, want := builtinRegistry().types(), []string{"command", "dns", "file", "http", "https", "icmp", "smtp", "tcp", "tls", "udp"}; !slices.Equal(got, want) {
		t.Errorf("types %q, want %q", got, want)
	}
	for u, want := range map[PortUse]string{PortNeeded: "needed", PortOptional: "optional", PortUnused: "unused", 7: "unknown(7)"} {
		if u.String() != want {
			t.Errorf("%d: %q, want %q", uint8(u), u, want)
		}
	}
}

// TestUnknownType: the error lists every registered kind, sorted.
func TestUnknownType(t *testing.T) {
	r := builtinRegistry()
	for _, typ := range []string{"ftp", ""} {
		_, err := r.decode(typ, []byte(`{}`))
		var te *UnknownTypeError
		if !errors.As(err, &te) || te.Type != typ {
			t.Fatalf("%q: %v, want an *UnknownTypeError", typ, err)
		}
		if want := `unknown type "` + typ + `" (known: command, dns, file, http, https, icmp, smtp, tcp, tls, udp)`; err.Error() != want {
			t.Errorf("%q: %q, want %q", typ, err, want)
		}
	}
}

// probe is a kind of check of the test's own, as a program adds one.
type probe struct {
	Word string `json:"word,omitempty"`
	Path string `json:"path,omitempty"` // as http has
}

func (probe) Type() string                  { return "probe" }
func (probe) Compile() (Checker, error)     { return tcpChecker{}, nil }
func newProbe() Spec                        { return new(probe) }
func (p portProbe) Type() string            { return "portprobe" }
func (portProbe) Compile() (Checker, error) { return tcpChecker{}, nil }

type portProbe struct {
	Port uint16 `json:"port"`
}

func TestRegister(t *testing.T) {
	r := builtinRegistry()
	if err := r.register("probe", Kind{New: newProbe, Port: PortOptional}); err != nil {
		t.Fatal(err)
	}
	if k, ok := r.lookup("probe"); !ok || k.Port != PortOptional {
		t.Errorf("lookup: %+v, %v", k, ok)
	}
	if got := r.types(); !slices.Contains(got, "probe") || !slices.IsSorted(got) {
		t.Errorf("types %q", got)
	}
	spec, err := decodeYAML(t, r, "probe", "{type: probe, word: hello, interval: 1s}")
	if err != nil || !reflect.DeepEqual(spec, &probe{Word: "hello"}) {
		t.Errorf("decode: %#v, %v", spec, err)
	}
	// Its fields now count among those other kinds refuse, and its own
	// refuses theirs.
	if _, err := decodeYAML(t, r, "tcp", "{path: /}"); err == nil || !strings.Contains(err.Error(), "(read by http, https, probe)") {
		t.Errorf("path on tcp: %v", err)
	}
	if _, err := decodeYAML(t, r, "tcp", "{word: x}"); err == nil || !strings.Contains(err.Error(), "tcp checks do not read word (read by probe)") {
		t.Errorf("word on tcp: %v", err)
	}
	if _, err := decodeYAML(t, r, "probe", "{query: x}"); err == nil || !strings.Contains(err.Error(), "probe checks do not read query (read by dns)") {
		t.Errorf("query on probe: %v", err)
	}
	// The default registry is not this one.
	if _, ok := Lookup("probe"); ok {
		t.Error("registered in the default registry")
	}

	for _, tc := range []struct {
		name string
		k    Kind
		err  string
	}{
		{"probe", Kind{New: newProbe}, "check: type already registered: \"probe\""},
		{"tcp", Kind{New: func() Spec { return new(TCP) }}, "already registered: \"tcp\" (built in)"},
		{"other", Kind{New: newProbe}, `its specs' Type is "probe"`},
		{"probe", Kind{}, "no New"},
		{"Probe", Kind{New: newProbe}, "lower-case letters"},
		{"", Kind{New: newProbe}, "lower-case letters"},
		{"a b", Kind{New: newProbe}, "lower-case letters"},
		{"probe", Kind{New: func() Spec { return probe{} }}, "not a pointer"},
		{"probe", Kind{New: func() Spec { return nil }}, "not a pointer"},
		{"portprobe", Kind{New: func() Spec { return new(portProbe) }}, "a field port, which the director reads"},
		{"probe", Kind{New: newProbe, Port: 3}, "port use unknown(3)"},
	} {
		err := r.register(tc.name, tc.k)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("register %q: %v, want an error with %q", tc.name, err, tc.err)
		}
		if strings.Contains(tc.err, "already registered") && !errors.Is(err, ErrDuplicate) {
			t.Errorf("register %q: %v is not ErrDuplicate", tc.name, err)
		}
	}
}

// TestLimitReader: the bound is exact: a stream of n bytes reads to its
// end, one longer fails after n bytes, with an error matching
// ErrTooLong.
func TestLimitReader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int64
		long bool
	}{
		{"", 0, false}, {"abc", 3, false}, {"abc", 10, false}, {"abcd", 3, true}, {"a", 0, true},
	} {
		var got []byte
		buf := make([]byte, 2)
		r := limitReader(strings.NewReader(tc.in), tc.n, "answer")
		var err error
		for {
			var n int
			n, err = r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if tc.long {
			if !errors.Is(err, ErrTooLong) || int64(len(got)) != tc.n || !strings.Contains(err.Error(), "answer: more than") {
				t.Errorf("%q with %d: read %q, %v; want %d bytes and ErrTooLong", tc.in, tc.n, got, err, tc.n)
			}
		} else if err.Error() != "EOF" || string(got) != tc.in {
			t.Errorf("%q with %d: read %q, %v; want it all", tc.in, tc.n, got, err)
		}
	}
}

// TestTLSFilesBounded: caFile, certFile and keyFile are read only if they
// are regular files of at most MaxPEMFile bytes: /dev/zero does not fill
// memory, a FIFO does not hang the compilation, a sparse 5 MiB file is
// refused before being read.
func TestTLSFilesBounded(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxPEMFile+1); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec TLS
		want string
	}{
		{"devzero", TLS{CAFile: "/dev/zero"}, "caFile: /dev/zero: mode D"},
		{"fifo", TLS{CAFile: fifo}, "not a regular file"},
		{"fifo cert", TLS{CertFile: fifo, KeyFile: key}, "certFile: " + fifo + ": mode"},
		{"fifo key", TLS{CertFile: cert, KeyFile: fifo}, "keyFile: " + fifo + ": mode"},
		{"big", TLS{CAFile: big}, "larger than 4 MiB"},
		{"directory", TLS{CAFile: dir}, "not a regular file"},
		{"regular", TLS{CAFile: ca, CertFile: cert, KeyFile: key}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := tc.spec.Compile(); done <- err }()
			select {
			case err := <-done:
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
					t.Errorf("%v, want %q", err, tc.want)
				}
				if tc.want != "" && !errors.Is(err, fs.ErrInvalid) {
					t.Errorf("%v does not match fs.ErrInvalid", err)
				}
			case <-time.After(10 * time.Second):
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatal("compiling the check hangs")
			}
		})
	}
}
