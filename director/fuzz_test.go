package director

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzParseConfig: any file parses without panicking; a configuration
// that parses is written as YAML and parses again into the same model.
// Seeds: the daemon's sample configurations and the tests' own.
func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("../examples/director/configs/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(natYAML))
	f.Add([]byte(`{"services":[{"fwmark":7,"family":"ipv6","flags":"one-packet","realServers":[{"address":"[2001:db8::1]:0","forward":"tunnel","tunnel":{"type":"gre"}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		m := c.m
		out, err := yaml.Marshal(c.Config())
		if err != nil {
			t.Fatalf("a parsed configuration does not marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", b, out, err)
		}
		m2 := again.m
		if p1, p2 := plan(m, current{}, false).String(), plan(m2, current{}, false).String(); p1 != p2 {
			t.Fatalf("%q and its YAML %q plan differently:\n%s\n%s", b, out, p1, p2)
		}
	})
}

// FuzzState: any state file decodes without panicking (as loadState
// reads it), and a decoded state encodes and decodes back to itself.
func FuzzState(f *testing.F) {
	f.Add([]byte(`{"services":[{"Protocol":6,"Addr":"10.0.0.8:80","FirewallMark":0,"Family":2}],"vips":[{"address":"10.0.0.8"}],"sysctls":[{"Key":"net.ipv4.ip_forward","Value":"0"}],"draining":{"TCP  10.0.0.8:80|10.0.0.110:80":"2026-12-01T00:00:00Z"},"marks":true}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"disabled":[{"Service":{"Protocol":6,"Addr":"10.0.0.8:80"},"Addr":"10.0.0.110:80","Reason":"x","Since":"2026-12-01T00:00:00Z"}]} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st state
		if decodeState(b, &st) != nil {
			return
		}
		out, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("state %+v does not marshal: %v", st, err)
		}
		var back state
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(out) {
			t.Fatalf("state round trip:\n%s\n%s", out, again)
		}
	})
}

// FuzzSysctlValue: normalising a sysctl value is idempotent, leaves no
// white space around or doubled inside, and ignores how fields are
// separated (the kernel prints tabs, users write spaces).
func FuzzSysctlValue(f *testing.F) {
	for _, s := range []string{"01", "1\n", "3\t50", "+0010", "-0", " 4096 87380  6291456 ", "cubic reno", "9223372036854775808", "\v\f1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n := sysctlValue(v)
		if again := sysctlValue(n); again != n {
			t.Fatalf("%q -> %q -> %q", v, n, again)
		}
		if n != strings.TrimSpace(n) || strings.Contains(n, "  ") {
			t.Fatalf("%q -> %q: white space left", v, n)
		}
		if tabs := sysctlValue(strings.Join(strings.Fields(v), "\t")); tabs != n {
			t.Fatalf("%q -> %q, with tabs -> %q", v, n, tabs)
		}
	})
}

// FuzzCaseDuplicates: finding keys that differ only in case never panics
// on any JSON, and refuses only what has such keys or is not JSON.
func FuzzCaseDuplicates(f *testing.F) {
	f.Add(`{"services":[{"realServers":[{"weight":1,"Weight":2}]}]}`)
	f.Add(`{"sysctls":{"a":"1","A":"2"}}`)
	f.Add(`{"K":1,"\u212a":2}`)
	f.Fuzz(func(t *testing.T, b string) {
		err := caseDuplicates([]byte(b))
		var ce *ConfigError
		if err != nil && errors.As(err, &ce) && !strings.Contains(ce.Reason, "differ only in case") {
			t.Fatalf("%s: %v", b, err)
		}
		if err == nil && !json.Valid([]byte(b)) && strings.TrimSpace(b) != "" {
			// Only the first value is read; what follows is the
			// decoder's to refuse.
			var v any
			if json.NewDecoder(strings.NewReader(b)).Decode(&v) != nil {
				t.Fatalf("%q: not JSON, not refused", b)
			}
		}
	})
}
