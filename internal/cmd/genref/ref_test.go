package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/keepalived"
)

const root = "../../.."

const regenerate = "go run ./internal/cmd/genref (from the module's root)"

func TestReferenceCurrent(t *testing.T) {
	r, err := build(root)
	if err != nil {
		t.Fatal(err)
	}
	want := r.markdown()
	got, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		t.Fatalf("%v: generate it with %s", err, regenerate)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Errorf("docs/config.md is stale: regenerate it with %s\nfirst difference, line %d:\n  file: %s\n  types: %s", regenerate, i+1, line(gl), line(wl))
	}
}

func TestEveryFieldDocumented(t *testing.T) {
	r, err := build(root)
	if err != nil {
		t.Fatal(err)
	}
	if missing := r.undocumented(); len(missing) > 0 {
		t.Errorf("fields without a doc comment (document them where they are declared, then %s): %s", regenerate, strings.Join(missing, ", "))
	}
	// Every section of the configuration is in the reference.
	var titles []string
	for _, s := range r.sections {
		titles = append(titles, s.title)
	}
	for _, want := range []string{"Config", "VIP", "VirtualService", "RealServer", "Check", "Persistence", "Tunnel", "MarkRule",
		"Notify", "Timeouts", "Cluster", "BGP", "BGPPeer", "Sync", "VRRP", "VRRPInstance", "VRRPSyncDaemon", "Check type http", "Check type icmp"} {
		if !slices.Contains(titles, want) {
			t.Errorf("no section %s in %v", want, titles)
		}
	}
}

// TestTablesNameFields: every default and keepalived keyword is of a field
// that exists (a renamed field leaves none behind).
func TestTablesNameFields(t *testing.T) {
	r, err := build(root)
	if err != nil {
		t.Fatal(err)
	}
	paths := r.paths()
	for name, m := range map[string][]string{"defaults": keys(defaults), "keepalived": keys(kaKeywords)} {
		for _, p := range m {
			if !paths[p] {
				t.Errorf("%s[%q]: no such field in the configuration", name, p)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// undocumentedConfig is a configuration type with a field nobody
// documented and a type the tables do not know.
type undocumentedConfig struct {
	Known string         `json:"known"`
	Later map[string]int `json:"later,omitempty"`
	inner int
}

// TestNewFieldsAppear: a field added to a type appears in the reference
// with a type from its kind, and is reported while it has no doc.
func TestNewFieldsAppear(t *testing.T) {
	r, err := buildFrom(root, reflect.TypeFor[undocumentedConfig]())
	if err != nil {
		t.Fatal(err)
	}
	if got := r.undocumented(); !slices.Equal(got, []string{"undocumentedConfig.Known", "undocumentedConfig.Later"}) {
		t.Errorf("undocumented = %v", got)
	}
	md := string(r.markdown())
	for _, want := range []string{"| `known` | string |", "| `later` | mapping of string to integer |"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
}

// TestKeepalivedKeywords imports a keepalived.conf that writes every
// keyword the table says the importer carries, and checks that each
// lands in its field.
func TestKeepalivedKeywords(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	conf := `
global_defs {
	lvs_timeouts tcp 900 tcpfin 120 udp 300
	lvs_sync_daemon eth1 id 7 maxlen 1400 port 8849 ttl 2 group 239.1.2.3
}
SSL {
	certificate ` + cert + `
	key ` + key + `
}
virtual_server 10.0.0.8 80 {
	delay_loop 6
	lb_algo wrr
	lb_kind NAT
	protocol TCP
	persistence_timeout 300
	persistence_granularity 255.255.255.0
	persistence_engine sip
	quorum 3
	hysteresis 1
	quorum_up "/bin/true up"
	quorum_down "/bin/true down"
	sorry_server 10.0.0.99 80
	real_server 10.0.0.120 80 {
		weight 1
		uthreshold 100
		lthreshold 10
		inhibit_on_failure
		HTTP_GET {
			url {
				path /healthz
				status_code 200
				digest 0123456789abcdef0123456789abcdef
				regex "ok"
			}
			virtualhost example.com
			connect_port 8080
			connect_timeout 3
			retry 2
			warmup 1
		}
	}
	real_server 10.0.0.121 80 { weight 1 }
	real_server 10.0.0.122 80 { weight 1 }
	real_server 10.0.0.123 80 { weight 1 }
}
virtual_server 10.0.0.8 81 {
	protocol TCP
	real_server 10.0.0.120 81 {
		HTTP_GET {
			url {
				path /healthz
				status_code 200
				digest 0123456789abcdef0123456789abcdef
				regex "ok"
			}
			virtualhost example.com
			connect_port 8080
			connect_timeout 3
			retry 2
			warmup 1
		}
	}
}
virtual_server 10.0.0.8 443 {
	protocol TCP
	real_server 10.0.0.120 443 {
		SSL_GET {
			url {
				path /
				status_code 200
				digest 0123456789abcdef0123456789abcdef
				regex "ok"
			}
			virtualhost example.com
			sni_name example.com
		}
	}
}
virtual_server 10.0.0.9 53 {
	protocol UDP
	lb_algo sh
	sh-port
	ops
	real_server 10.0.0.120 53 { DNS_CHECK { name example.com type A } }
}
virtual_server 10.0.0.9 25 {
	protocol TCP
	real_server 10.0.0.120 25 { SMTP_CHECK { helo_name lb.example.com } }
}
virtual_server 10.0.0.9 161 {
	protocol UDP
	real_server 10.0.0.120 161 {
		UDP_CHECK {
			payload 6869
			require_reply 6f6b
		}
	}
}
virtual_server 10.0.0.11 80 {
	protocol TCP
	real_server 10.0.0.120 80 {
		notify_up "/bin/true up"
		notify_down "/bin/true down"
	}
	real_server 10.0.0.121 80 {
		notify_up "/bin/true up"
		notify_down "/bin/true down"
	}
}
virtual_server 10.0.0.9 22 {
	protocol TCP
	real_server 10.0.0.120 22 { MISC_CHECK { misc_path "/bin/true" } }
}
virtual_server 10.0.0.9 23 {
	protocol TCP
	real_server 10.0.0.120 23 { TCP_CHECK { } }
	real_server 10.0.0.121 23 { PING_CHECK { } }
}
virtual_server 10.0.0.9 24 {
	protocol TCP
	real_server 10.0.0.120 24 {
		TCP_CHECK { }
		PING_CHECK { }
	}
}
track_file drain {
	file /run/lvs/drain
	weight 0
}
track_file weighted {
	file /run/lvs/weighted
	weight 2
}
virtual_server 10.0.0.9 26 {
	protocol TCP
	real_server 10.0.0.120 26 { FILE_CHECK { track_file drain } }
}
virtual_server 10.0.0.9 27 {
	protocol TCP
	real_server 10.0.0.120 27 { FILE_CHECK { track_file weighted } }
}
virtual_server fwmark 5 {
	ip_family inet6
	lb_kind TUN type gue port 6080 csum
	real_server 2001:db8::120 0 { weight 1 }
}
virtual_server 10.0.0.10 80 {
	protocol TCP
	lb_kind TUN type gre csum
	real_server 10.0.0.120 80 { lvs_method TUN type ipip }
	real_server 10.0.0.121 80 { lvs_method DR }
}
`
	cfg, notes, err := keepalived.Import(strings.NewReader(conf), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		t.Logf("note: %v", n)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range keys(kaKeywords) {
		if kaKeywords[p].NotImported {
			continue
		}
		kind, path, ok := strings.Cut(p, ":")
		if !ok {
			kind, path = "", p
		}
		if !present(doc, strings.Split(path, "."), kind) {
			t.Errorf("%s: keepalived's %s, imported, sets nothing there", p, kaKeywords[p].Keyword)
		}
	}
	if t.Failed() {
		t.Logf("imported: %s", b)
	}
}

// present says whether a value that is not zero is at path in doc; under
// a check, only checks of type kind count when kind is set.
func present(doc any, path []string, kind string) bool {
	if len(path) == 0 {
		switch v := doc.(type) {
		case nil:
			return false
		case string:
			return v != ""
		case float64:
			return v != 0
		case bool:
			return v
		case []any:
			return len(v) > 0
		case map[string]any:
			return len(v) > 0
		}
		return true
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	if kind != "" && m["type"] != nil && m["type"] != kind && path[0] != "type" {
		if _, isCheck := m["interval"]; isCheck {
			return false
		}
	}
	k, list := strings.CutSuffix(path[0], "[]")
	v := m[k]
	if !list {
		return present(v, path[1:], kind)
	}
	items, _ := v.([]any)
	for _, it := range items {
		if present(it, path[1:], kind) {
			return true
		}
	}
	return false
}

// writeCert writes a self-signed certificate and its key, PEM, in dir.
func writeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lb.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, block := range map[string]*pem.Block{cert: {Type: "CERTIFICATE", Bytes: der}, key: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert, key
}
