package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheckFlag: -check validates a file offline, without root or a
// kernel, and prints file:line of what is wrong, in a health check too;
// the sample configurations pass.
func TestCheckFlag(t *testing.T) {
	samples, err := filepath.Glob("configs/*.yaml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("samples: %v, %v", samples, err)
	}
	for _, p := range samples {
		if out, err := runCLI(t, "-check", "-config", p); err != nil || !strings.Contains(out, p+": configuration OK") {
			t.Errorf("-check %s: %v\n%s", p, err, out)
		}
	}
	const head = "services:\n  - name: web\n    protocol: tcp\n    address: 10.0.0.8:80\n    realServers:\n      - {address: 10.0.0.110:80, forward: nat}\n    check:\n"
	for _, tc := range []struct {
		check string
		line  int
		want  string
	}{
		{"      type: tcp\n      path: /\n", 9, "services[0].check.path: tcp checks do not read path (read by http, https)"},
		{"      type: htp\n", 8, `services[0].check.type: unknown type "htp"`},
		{"      type: http\n      status: ok\n", 9, "services[0].check.status: want a number or a list of numbers"},
		{"      type: icmp\n      port: 80\n", 9, "services[0] (web).check.port: icmp checks do not read port"},
		{"      type: http\n      timeout: 1h\n", 8, "services[0] (web).check: timeout 1h0m0s is longer than 5m0s"},
	} {
		p := filepath.Join(t.TempDir(), "director.yaml")
		if err := os.WriteFile(p, []byte(head+tc.check), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runCLI(t, "-check", "-config", p)
		if err == nil || !strings.HasPrefix(out, p+":"+strconv.Itoa(tc.line)+": ") || !strings.Contains(out, tc.want) {
			t.Errorf("-check of\n%s: %v\n%s\nwant line %d and %q", tc.check, err, out, tc.line, tc.want)
		}
	}
}
