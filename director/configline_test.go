package director

import (
	"errors"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director/check"
)

// TestConfigErrorLines: every kind of configuration error names the line
// of the file it is about: a YAML syntax error, a field no Config has
// (also inside a check or a real server), and a validation error at the
// node its Where names.
func TestConfigErrorLines(t *testing.T) {
	const head = `# a director
services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
`
	for _, tc := range []struct {
		name, file string
		line       int
		where      string
		text       string
	}{
		{"syntax", head + "      - {address: 10.0.0.120:80, forward: nat\n", 8, "", "did not find expected"},
		{"unknown top-level field", head + "vipz: []\n", 8, "vipz", "unknown field"},
		{"unknown field in a real server", head + "      - address: 10.0.0.120:80\n        forward: nat\n        wieght: 2\n", 10, "services[0].realServers[1].wieght", "unknown field"},
		{"unknown field in a check", head + "    check:\n      type: tcp\n      intreval: 5s\n", 10, "services[0].check.intreval", "unknown field"},
		{"field the check's kind does not read", head + "    check:\n      type: http\n      path: /\n      query: a.example\n", 11,
			"services[0].check.query", "services[0].check.query: http checks do not read query (read by dns)"},
		{"unknown check type", head + "    check:\n      interval: 5s\n      type: ftp\n", 10, "services[0].check.type", `unknown type "ftp"`},
		{"check without a type", head + "    check:\n      interval: 5s\n", 9, "services[0].check", `unknown type ""`},
		{"bad value in a check", head + "    check:\n      type: http\n      status: ok\n", 10, "services[0].check.status", "services[0].check.status: want a number or a list"},
		{"bad director field in a check", head + "    check:\n      type: http\n      port: http\n", 10, "services[0].check.port", "services[0].check.port: want a whole number from 0 to 65535"},
		{"check kind refusing a value", head + "    check:\n      type: http\n      path: health\n", 9, "services[0] (web).check", `http: path "health" does not start with a single /`},
		{"port on an icmp check", head + "    check:\n      type: icmp\n      port: 80\n", 10, "services[0] (web).check.port", "icmp checks do not read port"},
		{"check timeout too long", head + "    check:\n      type: tcp\n      timeout: 1h\n", 9, "services[0] (web).check", "timeout 1h0m0s is longer than 5m0s"},
		{"duplicate real server", head + "      - {address: 10.0.0.110:80, forward: nat}\n", 8, "services[0] (web).realServers[1]", "listed twice"},
		{"bad scheduler", strings.Replace(head, "    address: 10.0.0.8:80\n", "    address: 10.0.0.8:80\n    scheduler: bogus\n", 1), 0, "", "bogus"},
		{"second service", head + "  - {protocol: tcp, address: 10.0.0.8:80, realServers: []}\n", 8, "services[1]", "same service as services[0] (web)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse: %v, want a *ConfigError", err)
			}
			if tc.line != 0 && (ce.Line != tc.line || ce.Where != tc.where) {
				t.Errorf("error %q at line %d, %q; want line %d, %q", err, ce.Line, ce.Where, tc.line, tc.where)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not say %q", err, tc.text)
			}
			if tc.line != 0 && !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not print its line", err)
			}
			if strings.Contains(tc.where, "check") && (strings.Contains(err.Error(), "check: check:") || strings.Contains(err.Error(), "JSON")) {
				t.Errorf("error %q says check twice, or JSON", err)
			}
		})
	}
}

// TestCheckErrorChain: a check's error reaches the caller of Parse in its
// chain: a *check.FieldError for a field its kind does not read, or for a
// port icmp does not read.
func TestCheckErrorChain(t *testing.T) {
	for _, tc := range []struct{ check, field string }{
		{"{type: tcp, query: a.example}", "query"},
		{"{type: icmp, port: 7}", "port"},
	} {
		_, err := Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: ` + tc.check + `
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
`))
		var fe *check.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want a *check.FieldError for %s and ErrInvalid", tc.check, err, tc.field)
		}
	}
}
