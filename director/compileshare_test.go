package director

import "testing"

// TestShareChecks: services checked the same way hold one compiled check
// and one list; a different setting, or the same check at another place
// of a list (its errors name it otherwise), is a check of its own.
func TestShareChecks(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 2s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.9:80, check: {type: tcp, interval: 2s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.10:80, check: {type: tcp, interval: 3s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - protocol: tcp
    address: 10.0.0.11:80
    checks: [{type: tcp, interval: 2s}, {type: tcp, interval: 2s, port: 81}]
    realServers:
      - {address: 10.0.0.110:80, forward: dr}
      - {address: 10.0.0.120:80, forward: dr, checks: [{type: tcp, interval: 2s}, {type: tcp, interval: 2s, port: 81}]}
      - {address: 10.0.0.130:80, forward: dr, checks: [{type: tcp, interval: 2s, port: 81}]}
`))
	s := m.services
	if s[0].check[0] != s[1].check[0] || &s[0].check[0] != &s[1].check[0] {
		t.Error("two services with the same check hold two")
	}
	if s[2].check[0] == s[0].check[0] {
		t.Error("a check of another interval is shared")
	}
	if s[3].check[0] == s[0].check[0] {
		t.Error("the first of a list (named checks[0]) is the service's check")
	}
	if own := s[3].checksAt(1); &own[0] != &s[3].check[0] {
		t.Error("a real server's list the same as its service's is not shared")
	}
	if own := s[3].checksAt(2); len(own) != 1 || own[0] == s[3].check[1] || own[0].check.Port != 81 {
		t.Errorf("a real server's one check %+v, want its own, not checks[1] of the service", own)
	}
}

// TestShareChecksByKindFields: checks that differ only in their kind's own
// fields (an http path) or in their kind are not shared; the same kind
// and fields are.
func TestShareChecksByKindFields(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, check: {type: http, path: /a}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.9:80, check: {type: http, path: /b}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.10:80, check: {type: http, path: /a}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.11:80, check: {type: tcp}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.12:80, check: {type: udp}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
`))
	s := m.services
	if s[0].check[0] == s[1].check[0] {
		t.Error("http checks of paths /a and /b are shared")
	}
	if s[0].check[0] != s[2].check[0] {
		t.Error("two http checks of path /a are not shared")
	}
	if s[3].check[0] == s[4].check[0] {
		t.Error("a tcp and a udp check with no fields of their own are shared")
	}
}
