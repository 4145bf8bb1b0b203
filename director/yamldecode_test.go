package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/yamlx"
	"sigs.k8s.io/yaml"
)

// oldDecode reads b as Parse read files before its own decoder: YAML to
// JSON to Config, by sigs.k8s.io/yaml.
func oldDecode(b []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// decodeSeeds are configurations the decoder must read as the JSON path
// did: the sample files, and the corners of the format.
func decodeSeeds(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../examples/director/configs/*.yaml")
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for _, s := range []string{
		natYAML,
		clusterBase,
		`{"services":[{"fwmark":7,"family":"ipv6","flags":"one-packet","realServers":[{"address":"[2001:db8::1]:0","forward":"tunnel","tunnel":{"type":"gre"}}]}]}`,
		"timeouts: {tcp: 900, tcpfin: 1m, udp: 30.5}\nhostSysctls: true\nsysctls: {net.ipv4.vs.expire_nodest_conn: \"1\", kernel.x: \"01\"}\nallowNoServices: true\n",
		"services:\n- protocol: tcp\n  address: 10.0.0.8:80\n  Scheduler: sh\n  flags: [sh-fallback]\n  persistence: {timeout: 5m, netmask: 24, engine: sip}\n  quorum: 1\n  notify: {realServerUp: [/bin/true, up], quorumDown: [\"/bin/x\"]}\n  check: {type: http, path: /healthz, status: [200, 204], interval: 2, fall: 3, onFailure: remove, headers: {Host: a.example}}\n  sorryServer: {address: 10.0.0.9:80, forward: nat}\n  realServers:\n  - {address: 10.0.0.110:80, forward: nat, weight: 0x10, upperThreshold: 1_000}\n  - address: 10.0.0.120:80\n    forward: nat\n",
		"services:\n- protocol: tcp\n  address: 10.0.0.8:80\n  checks:\n  - {type: tcp, interval: 1s}\n  - {type: file, file: /run/lvs/drain, healthy: zero, onFailure: quiesce}\n  realServers:\n  - {address: 10.0.0.110:80, forward: nat}\n  - address: 10.0.0.120:80\n    forward: nat\n    checks:\n    - {type: http, path: /up, port: 8080}\n    - {type: file, file: /run/lvs/rs2, weight: -3}\n",
		"vrrp:\n  instances:\n  - name: vi\n    interface: eth0\n    vrid: 51\n    password: \"1234\"\n    interval: 1\n    vips: [10.0.0.100/24, {address: 10.0.1.1, interface: eth1}]\n    garp: {delay: 5s}\n  syncDaemon: {instance: vi, interface: eth0, syncID: 7}\nallowNoServices: true\n",
	} {
		out = append(out, []byte(s))
	}
	// JSON as programs write it, indented; YAML with CRLF line ends and
	// tabs (read by yaml/v3, not the fast parser).
	var c Config
	if err := yaml.UnmarshalStrict([]byte(natYAML), &c); err != nil {
		t.Fatal(err)
	}
	pretty, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, pretty, []byte(strings.ReplaceAll(natYAML, "\n", "\r\n")), []byte(strings.ReplaceAll(natYAML, ": ", ":\t")))
	return out
}

// TestDecodeMatchesJSONPath: the decoder reads every seed into the Config
// the YAML-to-JSON path read.
func TestDecodeMatchesJSONPath(t *testing.T) {
	for _, b := range decodeSeeds(t) {
		old, err := oldDecode(b)
		if err != nil {
			t.Fatalf("%s: the JSON path: %v", b, err)
		}
		c, err := readConfig(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got, want := mustJSON(t, c), mustJSON(t, old); got != want {
			t.Errorf("%s:\n got %s\nwant %s", b, got, want)
		}
	}
}

// FuzzDecodeMatchesJSONPath: a file both the decoder and the JSON path
// read is read into one Config; a file the decoder refuses, it refuses
// with a *ConfigError.
func FuzzDecodeMatchesJSONPath(f *testing.F) {
	for _, b := range decodeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := readConfig(b)
		if err != nil {
			if ce := (*ConfigError)(nil); !errors.As(err, &ce) {
				t.Fatalf("%q: %v, not a *ConfigError", b, err)
			}
			return
		}
		old, err := oldDecode(b)
		if err != nil {
			return // the decoder reads more (yes/no for strings, numbers for text)
		}
		if got, want := mustJSON(t, c), mustJSON(t, old); got != want {
			t.Fatalf("%q:\n got %s\nwant %s", b, got, want)
		}
	})
}

// TestDecodeErrors: what the decoder refuses, with where and the line.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		file, where string
		line        int
		text        string
	}{
		{"services:\n- protocol: tcp\n  protocol: udp\n", "services[0]", 3, `mapping key "protocol" already defined at line 2`},
		{"services:\n- {protocol: tcp, realServers: [{address: 10.0.0.1:80}]}\n", "services[0].realServers[0]", 2, "forward is required"},
		{"services:\n- protocol: tcp\n  quorum: x\n", "services[0].quorum", 3, `want a whole number, not "x"`},
		{"services:\n- protocol: tcp\n  fwmark: -1\n", "services[0].fwmark", 3, "out of range"},
		{"services:\n- protocol: tcp\n  persistence: {timeout: soon}\n", "services[0].persistence.timeout", 3, `invalid duration "soon"`},
		{"services:\n- protocol: tcp\n  persistence: {timeout: [1]}\n", "services[0].persistence.timeout", 3, `want "5s" or seconds`},
		{"services:\n- scheduler: fastest\n", "services[0].scheduler", 2, "fastest"},
		{"services:\n- flags: {a: b}\n", "services[0].flags", 2, "want a list of names or a string"},
		{"services: 7\n", "services", 1, "want a list"},
		{"services:\n- protocol: tcp\n  checks:\n  - {type: tcp}\n  - {type: file, path: /x}\n", "services[0].checks[1].path", 5, "file checks do not read path"},
		{"services:\n- protocol: tcp\n  realServers:\n  - address: 10.0.0.1:80\n    forward: nat\n    checks: {type: tcp}\n", "services[0].realServers[0].checks", 6, "want a list"},
		{"vips:\n  - {address: 10.0.0.1, dummy: maybe}\n", "vips[0].dummy", 2, "want true or false"},
		{"cluster:\n  bgp:\n    peers:\n    - address: 10.0.0.1\n      asn: 1\n      holdtimer: 3s\n", "cluster.bgp.peers[0].holdtimer", 6, "unknown field"},
		{"vrrp:\n  instances:\n  - name: a\n    vips: [nonsense]\n", "vrrp.instances[0]", 3, `vrrp address "nonsense"`},
	} {
		_, err := readConfig([]byte(tc.file))
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want a *ConfigError", tc.file, err)
			continue
		}
		if ce.Where != tc.where || ce.Line != tc.line || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%q: %v (where %q, line %d); want %q at line %d saying %q", tc.file, err, ce.Where, ce.Line, tc.where, tc.line, tc.text)
		}
	}
}

// TestDecodeForms: the spellings files may use beyond the JSON ones:
// YAML 1.1 booleans, numbers as strings, anchors and merge keys (read by
// yaml/v3), and a billion-laughs document refused with its bound.
func TestDecodeForms(t *testing.T) {
	c, err := readConfig([]byte(`
base: &rs {forward: nat, weight: 3}
`))
	if err == nil || !strings.Contains(err.Error(), `unknown field "base"`) {
		t.Errorf("an unknown top-level anchor holder: %v, %+v", err, c)
	}
	c, err = readConfig([]byte(`
vips: [{address: 10.0.0.8, interface: lo, dummy: yes}]
services:
  - name: 80
    protocol: tcp
    address: 10.0.0.8:80
    check: &chk {type: tcp, timeout: 1.5}
    realServers:
      - &rs {address: 10.0.0.110:80, forward: nat, weight: 3}
      - {<<: *rs, address: 10.0.0.120:80}
  - protocol: tcp
    address: 10.0.0.8:81
    check: *chk
    realServers: [*rs]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Services[0]
	if !c.VIPs[0].Dummy || s.Name != "80" || s.Check.Timeout != 1500*time.Millisecond || len(s.RealServers) != 2 ||
		s.RealServers[1].Weight != 3 || s.RealServers[1].Address.Port() != 80 || s.RealServers[1].Address.Addr().String() != "10.0.0.120" ||
		c.Services[1].Check.Timeout != 1500*time.Millisecond || c.Services[1].RealServers[0].Weight != 3 {
		t.Errorf("read %s", mustJSON(t, c))
	}
	// A number where a type read through JSON wants a string.
	c, err = readConfig([]byte("vrrp:\n  instances:\n  - {name: vi, interface: eth0, vrid: 51, password: 1234, vips: [10.0.0.100/24]}\nallowNoServices: true\n"))
	if err != nil || c.VRRP.Instances[0].Password != "1234" {
		t.Errorf("a numeric password: %v", err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(i-1)+", ", 9) + "*" + string(i-1) + "]\n"
	}
	_, err = readConfig([]byte(bomb))
	var ee *yamlx.ExpandError
	if !errors.As(err, new(*ConfigError)) || !errors.As(err, &ee) || !strings.Contains(err.Error(), "expand to more than") {
		t.Errorf("a billion laughs: %v, want refused for its size", err)
	}
}

// TestCheckDecodedDirectly: a check block with every field of the
// director's (and a kind's own) is read without the JSON path, which costs
// a check's decoding many times over (thousands of real servers each with
// its check block in an imported file).
func TestCheckDecodedDirectly(t *testing.T) {
	const conf = "services:\n- name: web\n  address: 10.0.0.1:80\n  realServers: [{address: 10.0.1.1:80, forward: dr}]\n" +
		"  check: {type: http, port: 8080, interval: 2s, timeout: 1s, jitter: 1s, rise: 2, fall: 3, retryDelay: 1s, onFailure: remove, path: /health}\n"
	doc, err := yamlx.Parse([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	d := &decoder{doc: doc, structs: map[reflect.Type][]fieldInfo{}, kinds: map[reflect.Type]typeKind{}}
	if err := d.value(0, reflect.ValueOf(&c).Elem()); err != nil {
		t.Fatal(err)
	}
	for _, f := range checkFields {
		if !strings.Contains(conf, f+":") {
			t.Errorf("the test's check lacks the field %s", f)
		}
	}
	ck := c.Services[0].Check
	if ck == nil || ck.RetryDelay != time.Second || ck.OnFailure != Remove || ck.Rise != 2 || ck.Port != 8080 {
		t.Fatalf("decoded %+v", ck)
	}
	if d.viaJSONs != 0 {
		t.Errorf("%d subtrees decoded through JSON, want 0", d.viaJSONs)
	}
}

// TestKnownCheckFields: a field added to Check must be read and written by
// the decoder's and the encoder's own code (then knownCheckFields counts
// it), or every check of a file silently takes the JSON path.
func TestKnownCheckFields(t *testing.T) {
	if n := checkType.NumField(); n != knownCheckFields {
		t.Errorf("Check has %d fields, the decoder and encoder know %d: teach d.check and the encoder's check entries the new one", n, knownCheckFields)
	}
}

// TestFoldEqual: foldEqual's quick rejection agrees with folding whole
// names, for ASCII keys and for those that fold onto ASCII (the Kelvin
// sign, the long s).
func TestFoldEqual(t *testing.T) {
	keys := []string{"", "k", "K", "\u212a", "kind", "Kind", "\u212aind", "s", "S", "\u017f", "scheduler", "\u017fcheduler",
		"retryDelay", "retrydelay", "rise", "RISE", "1", "2", "a1", "A1", "é", "É", "éa", "Éa"}
	for _, a := range keys {
		for _, b := range keys {
			if got, want := foldEqual(a, b), string(foldName(a)) == string(foldName(b)); got != want {
				t.Errorf("foldEqual(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// TestPlainRealServer: the real servers plainRealServer decodes come out
// as the general way decodes them, and those it leaves to it (other
// fields, other spellings, a key twice, values that do not read) decode
// or fail as before; the common shape takes the plain path.
func TestPlainRealServer(t *testing.T) {
	rss := []string{
		"{address: 10.0.1.1:80, forward: dr}",
		"{address: 10.0.1.1:80, forward: dr, weight: 3}",
		"{forward: nat, weight: 0, address: '[2001:db8::1]:8080'}",
		"{address: 10.0.1.1:80, forward: tunnel, weight: 2, tunnel: {type: gue, port: 6080}}",
		"{address: 10.0.1.1:80, forward: dr, weight: 0x10}",
		"{address: 10.0.1.1:80, forward: dr, weight: -1}",
		"{address: 10.0.1.1:80, forward: dr, weight: 1.0}",
		"{address: 10.0.1.1:80, forward: dr, weight: '2'}",
		"{address: 10.0.1.1:80, forward: dr, weight: 99999999999}",
		"{address: 10.0.1.1:80, forward: dr, weight: null}",
		"{address: 10.0.1.1:80, forward: DR}",
		"{address: 10.0.1.1:80, forward: bogus}",
		"{address: 10.0.1.1:80}",
		"{address: 10.0.1.1:80, forward: null}",
		"{address: 10.0.1.1, forward: dr}",
		"{address: '', forward: dr}",
		"{address: 10.0.1.1:80, forward: dr, forward: nat}",
		"{address: 10.0.1.1:80, Forward: dr}",
		"{address: 10.0.1.1:80, forward: dr, upperThreshold: 10, lowerThreshold: 5}",
		"{address: 10.0.1.1:80, forward: dr, checks: [{type: tcp}]}",
		"{address: 10.0.1.1:80, forward: dr, color: red}",
		"{address: [10.0.1.1], forward: dr}",
	}
	decode := func(conf string, general bool) (Config, *decoder, error) {
		doc, err := yamlx.Parse([]byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		var c Config
		d := &decoder{doc: doc, structs: map[reflect.Type][]fieldInfo{}, kinds: map[reflect.Type]typeKind{}, general: general}
		return c, d, d.value(0, reflect.ValueOf(&c).Elem())
	}
	for _, rs := range rss {
		conf := "services:\n- address: 10.0.0.1:80\n  realServers:\n  - " + rs + "\n"
		plain, _, perr := decode(conf, false)
		general, _, gerr := decode(conf, true)
		if fmt.Sprint(perr) != fmt.Sprint(gerr) {
			t.Errorf("%s: error %v, the general way's %v", rs, perr, gerr)
			continue
		}
		if perr == nil && !reflect.DeepEqual(plain, general) {
			t.Errorf("%s: decoded %+v, the general way %+v", rs, plain.Services[0].RealServers, general.Services[0].RealServers)
		}
	}
	// The common shape takes the plain path: no field is looked up.
	_, d, err := decode("services:\n- address: 10.0.0.1:80\n  realServers:\n  - {address: 10.0.1.1:80, forward: dr, weight: 2}\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.structs[realServerType]; ok {
		t.Error("a plain real server was decoded the general way")
	}
}
