package director

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/sysctl"
	"github.com/miekg/dns"
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
		p    prober // nil: not compared
	}{
		{Check{Type: "tcp"}, common(Check{Type: "tcp"}), tcpProber{}},
		// Per-kind defaults only where the kind reads them.
		{Check{Type: "http"}, common(Check{Type: "http", Path: "/", Status: []int{200}}),
			httpProber{scheme: "http", path: "/", status: []int{200}}},
		{Check{Type: "http", Path: "/up?x=1", Status: []int{200, 301}, Host: "a.example"},
			common(Check{Type: "http", Path: "/up?x=1", Status: []int{200, 301}, Host: "a.example"}),
			httpProber{scheme: "http", path: "/up", query: "x=1", host: "a.example", status: []int{200, 301}}},
		{Check{Type: "http", Headers: map[string]string{"x-probe": "lvs", "Accept": "*/*"}, Digest: "D41D8CD98F00B204E9800998ECF8427E"},
			common(Check{Type: "http", Path: "/", Status: []int{200}, Headers: map[string]string{"x-probe": "lvs", "Accept": "*/*"}, Digest: "D41D8CD98F00B204E9800998ECF8427E"}),
			httpProber{scheme: "http", path: "/", status: []int{200}, digest: "d41d8cd98f00b204e9800998ecf8427e",
				header: http.Header{"X-Probe": {"lvs"}, "Accept": {"*/*"}}}},
		{Check{Type: "https", Path: "/up", Status: []int{204}, Host: "a.example", Insecure: true},
			common(Check{Type: "https", Path: "/up", Status: []int{204}, Host: "a.example", Insecure: true}), nil},
		{Check{Type: "tls", ServerName: "a.example"}, common(Check{Type: "tls", ServerName: "a.example"}), nil},
		{Check{Type: "udp", Send: "ping", Expect: "pong", Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Jitter: time.Second, Rise: 1, Fall: 1, OnFailure: Remove},
			Check{Type: "udp", Send: "ping", Expect: "pong", Port: 53, Interval: time.Second, Timeout: 3 * time.Second, Jitter: time.Second, Rise: 1, Fall: 1, OnFailure: Remove},
			udpProber{send: []byte("ping"), expect: []byte("pong")}},
		{Check{Type: "command", Command: []string{"true", "x"}},
			common(Check{Type: "command", Command: []string{"true", "x"}}),
			commandProber{argv: []string{"true", "x"}}},
		{Check{Type: "dns", Query: "svc.test"},
			common(Check{Type: "dns", Query: "svc.test", QueryType: "A", Rcode: "NOERROR"}),
			dnsProber{name: "svc.test.", qtype: dns.TypeA, rcode: dns.RcodeSuccess}},
		{Check{Type: "dns", Query: "svc.test.", QueryType: "aaaa", Rcode: "nxdomain", Answer: "2001:db8::1"},
			common(Check{Type: "dns", Query: "svc.test.", QueryType: "AAAA", Rcode: "NXDOMAIN", Answer: "2001:db8::1"}),
			dnsProber{name: "svc.test.", qtype: dns.TypeAAAA, rcode: dns.RcodeNameError, answer: "2001:db8::1", addr: netip.MustParseAddr("2001:db8::1")}},
		{Check{Type: "dns", Query: "svc.test", QueryType: "TXT", Answer: "v=1"},
			common(Check{Type: "dns", Query: "svc.test", QueryType: "TXT", Rcode: "NOERROR", Answer: "v=1"}),
			dnsProber{name: "svc.test.", qtype: dns.TypeTXT, answer: "v=1"}},
		{Check{Type: "icmp"}, common(Check{Type: "icmp"}), icmpProber{}},
		{Check{Type: "smtp"}, common(Check{Type: "smtp"}), smtpProber{}},
		{Check{Type: "smtp", Helo: "checker.example"}, common(Check{Type: "smtp", Helo: "checker.example"}), smtpProber{helo: "checker.example"}},
	} {
		cc, err := compileCheck(tc.in, false)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(cc.check, tc.want) {
			t.Errorf("compileCheck(%+v).check =\n%+v, want\n%+v", tc.in, cc.check, tc.want)
		}
		if tc.p != nil && !reflect.DeepEqual(cc.prober, tc.p) {
			t.Errorf("compileCheck(%+v).prober = %#v, want %#v", tc.in, cc.prober, tc.p)
		}
	}
}

// TestCompileCheckTLS: the TLS fields of https and tls checks become one
// configuration: verified unless insecure, for serverName, else host
// (else the real server's address), with the CA and client certificate
// read at compile time.
func TestCompileCheckTLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	rs := netip.MustParseAddrPort("10.0.0.110:443")
	for _, tc := range []struct {
		chk        Check
		serverName string // for rs
		insecure   bool
		roots      bool
		certs      int
	}{
		{Check{Type: "tls"}, "10.0.0.110", false, false, 0},
		{Check{Type: "https"}, "10.0.0.110", false, false, 0},
		{Check{Type: "https", Host: "a.example"}, "a.example", false, false, 0},
		{Check{Type: "https", Host: "a.example", ServerName: "b.example"}, "b.example", false, false, 0},
		{Check{Type: "tls", Insecure: true}, "10.0.0.110", true, false, 0},
		{Check{Type: "tls", CAFile: ca, CertFile: cert, KeyFile: key}, "10.0.0.110", false, true, 1},
	} {
		cc, err := compileCheck(tc.chk, false)
		if err != nil {
			t.Errorf("%+v: %v", tc.chk, err)
			continue
		}
		var cfg *tls.Config
		switch p := cc.prober.(type) {
		case tlsProber:
			cfg = p.tls
		case httpProber:
			cfg = p.tls
		}
		if cfg == nil {
			t.Errorf("%+v: no TLS configuration in %#v", tc.chk, cc.prober)
			continue
		}
		got := tlsConfigFor(cfg, rs)
		if got.ServerName != tc.serverName || got.InsecureSkipVerify != tc.insecure || (got.RootCAs != nil) != tc.roots || len(got.Certificates) != tc.certs {
			t.Errorf("%+v: serverName %q, insecure %v, roots %v, %d certificates; want %q %v %v %d", tc.chk,
				got.ServerName, got.InsecureSkipVerify, got.RootCAs != nil, len(got.Certificates), tc.serverName, tc.insecure, tc.roots, tc.certs)
		}
	}
	if cc, err := compileCheck(Check{Type: "http"}, false); err != nil || cc.prober.(httpProber).tls != nil {
		t.Errorf("http check with TLS: %v", err)
	}
}

// writeTestPKI writes a CA's certificate and a certificate and key it
// signed, as PEM files in dir, and returns their paths.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	ca := newTestCA(t, "test CA")
	leaf := ca.issue(t, "client", nil, nil)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for f, b := range map[string][]byte{caFile: ca.certPEM, certFile: leaf.certPEM, keyFile: leaf.keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// testCert is a certificate and its key, parsed and as PEM.
type testCert struct {
	cert            *x509.Certificate
	key             *ecdsa.PrivateKey
	certPEM, keyPEM []byte
}

// tls is c as a crypto/tls certificate.
func (c *testCert) tls(t *testing.T) tls.Certificate {
	t.Helper()
	tc, err := tls.X509KeyPair(c.certPEM, c.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// pool is a pool of c alone.
func (c *testCert) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

// newTestCA makes a self-signed CA.
func newTestCA(t *testing.T, name string) *testCert {
	t.Helper()
	return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
}

// issue makes a certificate signed by ca, for the names and addresses
// given, good for servers and clients.
func (ca *testCert) issue(t *testing.T, name string, dnsNames []string, ips []net.IP) *testCert {
	t.Helper()
	return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, DNSNames: dnsNames, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}, ca)
}

func makeCert(t *testing.T, tmpl *x509.Certificate, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

func TestCompileCheckErrors(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		chk    Check
		fwmark bool
		err    string // "" means valid
	}{
		{"negative interval", Check{Type: "tcp", Interval: -time.Second}, false, "negative"},
		{"negative timeout", Check{Type: "tcp", Timeout: -time.Second}, false, "negative"},
		{"negative jitter", Check{Type: "tcp", Jitter: -time.Second}, false, "negative interval, timeout, jitter"},
		{"jitter", Check{Type: "tcp", Jitter: time.Minute}, false, ""},
		{"negative rise", Check{Type: "tcp", Rise: -1}, false, "negative"},
		{"negative fall", Check{Type: "tcp", Fall: -1}, false, "negative"},
		{"timeout above interval", Check{Type: "tcp", Interval: time.Second, Timeout: 3 * time.Second}, false, ""},
		{"bad onFailure", Check{Type: "tcp", OnFailure: 7}, false, "onFailure unknown(7)"},
		{"unknown type", Check{Type: "ftp"}, false, `unknown type "ftp" (known: command, dns, http, https, icmp, smtp, tcp, tls, udp)`},
		{"no type", Check{}, false, `unknown type ""`},
		{"command without command", Check{Type: "command"}, false, "command: needs a command"},
		{"command with empty name", Check{Type: "command", Command: []string{""}}, false, "needs a command"},
		{"http path", Check{Type: "http", Path: "health"}, false, `http: path "health"`},
		{"http status", Check{Type: "https", Insecure: true, Status: []int{200, 42}}, false, "https: status 42 is not an HTTP status"},
		{"http status 600", Check{Type: "http", Status: []int{600}}, false, "status 600 is not an HTTP status"},

		// Fields the kind does not read.
		{"query on http", Check{Type: "http", Query: "a.example"}, false, "check: http checks do not read query (read by dns)"},
		{"status on tcp", Check{Type: "tcp", Status: []int{200}}, false, "tcp checks do not read status (read by http, https)"},
		{"empty status list on tcp", Check{Type: "tcp", Status: []int{}}, false, "do not read status"},
		{"insecure on http", Check{Type: "http", Insecure: true}, false, "http checks do not read insecure (read by https, tls)"},
		{"host on tls", Check{Type: "tls", Host: "a.example"}, false, "tls checks do not read host (read by http, https)"},
		{"port on icmp", Check{Type: "icmp", Port: 7}, false, "icmp checks do not read port (read by command, dns, http, https, smtp, tcp, tls, udp)"},
		{"command on tcp", Check{Type: "tcp", Command: []string{"true"}}, false, "do not read command (read by command)"},
		{"send on dns", Check{Type: "dns", Query: "a.example", Send: "x"}, false, "dns checks do not read send (read by udp)"},
		{"helo on udp", Check{Type: "udp", Helo: "x"}, false, "udp checks do not read helo (read by smtp)"},
		{"headers on smtp", Check{Type: "smtp", Headers: map[string]string{"A": "b"}}, false, "do not read headers (read by http, https)"},
		{"two fields", Check{Type: "tcp", Path: "/", Answer: "x"}, false, "tcp checks do not read path (read by http, https); answer (read by dns)"},

		// http, https
		{"bad regexp", Check{Type: "http", BodyRegexp: "(up"}, false, "http: bodyRegexp: error parsing regexp"},
		{"regexp", Check{Type: "http", BodyRegexp: `^\s*ok`}, false, ""},
		{"short digest", Check{Type: "http", Digest: "abc"}, false, `digest "abc" is not an MD5 digest`},
		{"digest not hex", Check{Type: "http", Digest: strings.Repeat("z", 32)}, false, "is not an MD5 digest"},
		{"upper-case digest", Check{Type: "http", Digest: "D41D8CD98F00B204E9800998ECF8427E"}, false, ""},
		{"host header", Check{Type: "http", Headers: map[string]string{"host": "a.example"}}, false, "header host: set host instead"},
		{"bad header name", Check{Type: "http", Headers: map[string]string{"X Probe": "a"}}, false, `header "X Probe": not a header name`},
		{"empty header name", Check{Type: "http", Headers: map[string]string{"": "a"}}, false, "not a header name"},
		{"header value newline", Check{Type: "http", Headers: map[string]string{"X-A": "a\r\nHost: b"}}, false, "has control characters"},
		{"header value DEL", Check{Type: "http", Headers: map[string]string{"X-A": "a\x7f"}}, false, "has control characters"},
		{"header twice", Check{Type: "http", Headers: map[string]string{"x-a": "1", "X-A": "2"}}, false, "given twice"},
		{"content-length header", Check{Type: "http", Headers: map[string]string{"Content-Length": "1"}}, false, "a GET without a body"},
		{"headers", Check{Type: "http", Headers: map[string]string{"Authorization": "Bearer x", "User-Agent": "lvs"}}, false, ""},

		// https, tls
		{"certFile alone", Check{Type: "tls", CertFile: cert}, false, "tls: certFile and keyFile go together"},
		{"keyFile alone", Check{Type: "https", KeyFile: key}, false, "certFile and keyFile go together"},
		{"missing caFile", Check{Type: "tls", CAFile: filepath.Join(dir, "none.pem")}, false, "caFile: open"},
		{"caFile not PEM", Check{Type: "https", CAFile: notPEM}, false, "no PEM certificate"},
		{"key pair mismatch", Check{Type: "tls", CertFile: cert, KeyFile: notPEM}, false, "certFile, keyFile:"},
		{"insecure and caFile", Check{Type: "tls", Insecure: true, CAFile: ca}, false, "insecure skips the verification caFile is for"},
		{"bad serverName", Check{Type: "tls", ServerName: "a b"}, false, `serverName "a b" is not a host name`},
		{"tls files", Check{Type: "tls", CAFile: ca, CertFile: cert, KeyFile: key}, false, ""},
		{"insecure with serverName", Check{Type: "https", Insecure: true, ServerName: "a.example"}, false, ""},

		// dns
		{"dns without query", Check{Type: "dns"}, false, `dns: query "" is not a domain name`},
		{"dns bad query", Check{Type: "dns", Query: "a..example"}, false, `query "a..example" is not a domain name`},
		{"dns bad type", Check{Type: "dns", Query: "a.example", QueryType: "BOGUS"}, false, `queryType "BOGUS" is not a DNS record type`},
		{"dns bad rcode", Check{Type: "dns", Query: "a.example", Rcode: "MAYBE"}, false, `rcode "MAYBE" is not a DNS rcode`},
		{"dns A answer not v4", Check{Type: "dns", Query: "a.example", Answer: "2001:db8::1"}, false, `answer "2001:db8::1" is not an address of an A record`},
		{"dns AAAA answer not v6", Check{Type: "dns", Query: "a.example", QueryType: "AAAA", Answer: "10.0.0.1"}, false, "not an address of an AAAA record"},
		{"dns CNAME answer not a name", Check{Type: "dns", Query: "a.example", QueryType: "CNAME", Answer: "a..b"}, false, `answer "a..b" is not a domain name`},
		{"dns SOA answer", Check{Type: "dns", Query: "a.example", QueryType: "SOA", Answer: "x"}, false, "not SOA"},
		{"dns SOA without answer", Check{Type: "dns", Query: "a.example", QueryType: "soa", Rcode: "servfail"}, false, ""},
		{"dns MX answer", Check{Type: "dns", Query: "a.example", QueryType: "MX", Answer: "mail.a.example."}, false, ""},

		// smtp
		{"smtp helo with a space", Check{Type: "smtp", Helo: "a b"}, false, `smtp: helo "a b" is not a host name`},
		{"smtp helo with CRLF", Check{Type: "smtp", Helo: "a\r\nRCPT"}, false, "is not a host name"},

		// firewall marks
		{"fwmark tcp without port", Check{Type: "tcp"}, true, "firewall-mark service needs a port"},
		{"fwmark udp without port", Check{Type: "udp"}, true, "needs a port"},
		{"fwmark http without port", Check{Type: "http"}, true, "needs a port"},
		{"fwmark dns without port", Check{Type: "dns", Query: "a.example"}, true, "needs a port"},
		{"fwmark tcp with port", Check{Type: "tcp", Port: 80}, true, ""},
		{"fwmark command", Check{Type: "command", Command: []string{"true"}}, true, ""},
		{"fwmark icmp", Check{Type: "icmp"}, true, ""},
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

// TestCheckFieldsRead: the kinds' field lists name Check's fields as files
// do, and every field is read by some kind; a field set on a kind that
// does not read it is refused, whichever it is.
func TestCheckFieldsRead(t *testing.T) {
	fields := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Check]()) {
		fields[checkFieldName(f)] = false
	}
	for _, name := range strings.Fields(commonCheckFields) {
		if _, ok := fields[name]; !ok {
			t.Errorf("commonCheckFields: no field %q", name)
		}
		fields[name] = true
	}
	for kind, k := range checkKinds {
		for _, name := range strings.Fields(k.fields) {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: no field %q", kind, name)
			}
			fields[name] = true
		}
	}
	for name, read := range fields {
		if !read {
			t.Errorf("field %q is read by no kind", name)
		}
	}
	// Each field, set alone (to a value valid where it belongs), is
	// refused by the kinds that do not read it.
	set := map[string]func(*Check){}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Check]()) {
		name := checkFieldName(f)
		if slices.Contains(strings.Fields(commonCheckFields), name) {
			continue
		}
		set[name] = func(c *Check) {
			v := reflect.ValueOf(c).Elem().FieldByIndex(f.Index)
			switch v.Kind() {
			case reflect.String:
				v.SetString("x")
			case reflect.Bool:
				v.SetBool(true)
			case reflect.Uint16:
				v.SetUint(80)
			case reflect.Slice:
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			case reflect.Map:
				v.Set(reflect.MakeMap(v.Type()))
			default:
				t.Fatalf("field %s: set it in this test", name)
			}
		}
	}
	for kind, k := range checkKinds {
		for name, setField := range set {
			if slices.Contains(strings.Fields(k.fields), name) {
				continue
			}
			c := Check{Type: kind}
			setField(&c)
			_, err := compileCheck(c, false)
			if want := "do not read " + name + " ("; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s check with %s set: %v, want an error with %q", kind, name, err, want)
			}
		}
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
			Check{Type: "http", Path: "/up", Status: []int{204}, Host: "a.example", Rise: 1, Fall: 4}, ""},
		{`{type: http, status: [200, 204]}`, Check{Type: "http", Status: []int{200, 204}}, ""},
		{`{type: http, status: []}`, Check{Type: "http", Status: []int{}}, ""},
		{`{type: http, status: ok}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: http, status: 200.5}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: http, status: [200, "x"]}`, Check{}, "status: want a number or a list of numbers"},
		{`{type: https, headers: {X-Probe: lvs}, bodyRegexp: "^ok", digest: d41d8cd98f00b204e9800998ecf8427e, caFile: /ca.pem, serverName: a.example, certFile: /c.pem, keyFile: /k.pem}`,
			Check{Type: "https", Headers: map[string]string{"X-Probe": "lvs"}, BodyRegexp: "^ok", Digest: "d41d8cd98f00b204e9800998ecf8427e",
				CAFile: "/ca.pem", ServerName: "a.example", CertFile: "/c.pem", KeyFile: "/k.pem"}, ""},
		{`{type: tls, insecure: true, jitter: 1.5}`, Check{Type: "tls", Insecure: true, Jitter: 1500 * time.Millisecond}, ""},
		{`{type: tcp, jitter: 2s}`, Check{Type: "tcp", Jitter: 2 * time.Second}, ""},
		{`{type: tcp, jitter: later}`, Check{}, "later"},
		{`{type: dns, query: svc.test, queryType: TXT, rcode: NXDOMAIN, answer: hello}`,
			Check{Type: "dns", Query: "svc.test", QueryType: "TXT", Rcode: "NXDOMAIN", Answer: "hello"}, ""},
		{`{type: smtp, helo: checker.test}`, Check{Type: "smtp", Helo: "checker.test"}, ""},
		{`{type: icmp}`, Check{Type: "icmp"}, ""},
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
// the names files use, with durations as "5s", onFailure spelt out and
// status as a list.
func TestCheckRoundTrip(t *testing.T) {
	in := Check{Type: "http", Port: 8080, Path: "/up", Status: []int{200, 204}, Host: "a.example",
		Headers: map[string]string{"X-Probe": "lvs"}, BodyRegexp: "^ok$", Digest: "d41d8cd98f00b204e9800998ecf8427e",
		CAFile: "/ca.pem", ServerName: "b.example", Insecure: true, CertFile: "/c.pem", KeyFile: "/k.pem",
		Query: "svc.test", QueryType: "AAAA", Rcode: "NXDOMAIN", Answer: "2001:db8::1", Helo: "checker.test",
		Command: []string{"x"}, Send: "ping", Expect: "pong", Interval: 5 * time.Second, Timeout: 1500 * time.Millisecond,
		Jitter: 3 * time.Second, Rise: 1, Fall: 4, OnFailure: Remove}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "http", "port": 8080.0, "path": "/up", "status": []any{200.0, 204.0}, "host": "a.example",
		"headers": map[string]any{"X-Probe": "lvs"}, "bodyRegexp": "^ok$", "digest": "d41d8cd98f00b204e9800998ecf8427e",
		"caFile": "/ca.pem", "serverName": "b.example", "insecure": true, "certFile": "/c.pem", "keyFile": "/k.pem",
		"query": "svc.test", "queryType": "AAAA", "rcode": "NXDOMAIN", "answer": "2001:db8::1", "helo": "checker.test",
		"command": []any{"x"}, "send": "ping", "expect": "pong", "interval": "5s", "timeout": "1.5s", "jitter": "3s",
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

// TestCheckStatusSpellings: status reads as a number or a list, from JSON
// and YAML, and is written back as a list that reads the same.
func TestCheckStatusSpellings(t *testing.T) {
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
		if err := yaml.UnmarshalStrict([]byte(tc.yaml), &fromYAML); err != nil || !slices.Equal(fromYAML.Status, tc.want) {
			t.Errorf("YAML %s: status %v, %v; want %v", tc.yaml, fromYAML.Status, err, tc.want)
		}
		if err := json.Unmarshal([]byte(tc.json), &fromJSON); err != nil || !slices.Equal(fromJSON.Status, tc.want) {
			t.Errorf("JSON %s: status %v, %v; want %v", tc.json, fromJSON.Status, err, tc.want)
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
	if c := cfg.Services[0].Check; c.Interval != 10*time.Second || c.Timeout != 3*time.Second || c.Send != "ping" {
		t.Errorf("check %+v", c)
	}
	for tg, cc := range mustCompile(t, cfg).targets() {
		if tg.addr != netip.MustParseAddrPort("10.0.0.110:53") || cc.check.Rise != 2 || cc.check.Expect != "pong" {
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
