package director

import (
	"errors"
	"strings"
	"testing"
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
		})
	}
}
