package director

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// TestEffectiveDisabled: a real server disabled by hand is quiesced even
// where its service's check removes failed ones, and even in a service
// with no check; the sorry server comes in when every real server is
// failed or disabled, and not before.
func TestEffectiveDisabled(t *testing.T) {
	cfg := mustConfig(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: {type: tcp, onFailure: remove}
    sorryServer: {address: 10.0.0.200:80, forward: nat}
    realServers:
      - {address: 10.0.0.110:80, forward: nat, weight: 2}
      - {address: 10.0.0.120:80, forward: nat, weight: 3}
  - protocol: tcp
    address: 10.0.0.8:443
    realServers:
      - {address: 10.0.0.110:443, forward: nat}
`)
	m, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k80, k443 := m.services[0].svc.Key(), m.services[1].svc.Key()
	tg := func(k ipvs.Key, a string) target { return target{k, netip.MustParseAddrPort(a)} }
	weights := func(s *service) map[string]int {
		out := map[string]int{}
		for _, d := range s.dests {
			out[d.Addr.String()] = d.Weight
		}
		return out
	}
	eq := func(a, b map[string]int) bool {
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	for _, tc := range []struct {
		name             string
		failed, disabled map[target]bool
		want80, want443  map[string]int
	}{
		{"disabled quiesces where failure removes", nil, map[target]bool{tg(k80, "10.0.0.120:80"): true},
			map[string]int{"10.0.0.110:80": 2, "10.0.0.120:80": 0}, map[string]int{"10.0.0.110:443": 1}},
		{"disabled in a service without a check", nil, map[target]bool{tg(k443, "10.0.0.110:443"): true},
			map[string]int{"10.0.0.110:80": 2, "10.0.0.120:80": 3}, map[string]int{"10.0.0.110:443": 0}},
		{"a failed one is removed, the disabled one quiesced, the sorry server in",
			map[target]bool{tg(k80, "10.0.0.110:80"): true}, map[target]bool{tg(k80, "10.0.0.120:80"): true},
			map[string]int{"10.0.0.120:80": 0, "10.0.0.200:80": 1}, map[string]int{"10.0.0.110:443": 1}},
		{"failed and disabled at once: quiesced, not removed",
			map[target]bool{tg(k80, "10.0.0.110:80"): true}, map[target]bool{tg(k80, "10.0.0.110:80"): true},
			map[string]int{"10.0.0.110:80": 0, "10.0.0.120:80": 3}, map[string]int{"10.0.0.110:443": 1}},
		{"a failure of a service without a check counts for nothing", map[target]bool{tg(k443, "10.0.0.110:443"): true}, nil,
			map[string]int{"10.0.0.110:80": 2, "10.0.0.120:80": 3}, map[string]int{"10.0.0.110:443": 1}},
	} {
		e := m.effective(verdicts{failed: tc.failed, disabled: tc.disabled})
		if got := weights(e.services[0]); !eq(got, tc.want80) {
			t.Errorf("%s: :80 %v, want %v", tc.name, got, tc.want80)
		}
		if got := weights(e.services[1]); !eq(got, tc.want443) {
			t.Errorf("%s: :443 %v, want %v", tc.name, got, tc.want443)
		}
		if e.service(k80) != e.services[0] {
			t.Errorf("%s: the effective model's index points at the configured services", tc.name)
		}
	}
	if weights(m.services[0])["10.0.0.120:80"] != 3 {
		t.Error("effective changed the model itself")
	}
}

// TestStateKeepsDisabled: the disabled real servers, with reason and time,
// survive the state file's JSON, keyed by numbers as the services are.
func TestStateKeepsDisabled(t *testing.T) {
	since := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	st := state{Disabled: []Maintenance{
		{Service: ipvs.Key{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}, Addr: netip.MustParseAddrPort("10.0.0.120:80"), Reason: "disk swap", Since: since},
		{Service: ipvs.Key{FirewallMark: 7, Family: ipvs.IPv6}, Addr: netip.MustParseAddrPort("[2001:db8::1]:0"), Since: since},
	}}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back state
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Disabled) != 2 || back.Disabled[0] != st.Disabled[0] || back.Disabled[1] != st.Disabled[1] {
		t.Errorf("disabled after a round trip through %s:\n%+v", b, back.Disabled)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	if d, ok := raw["disabled"].([]any); !ok || d[0].(map[string]any)["Service"].(map[string]any)["Protocol"] != 6.0 {
		t.Errorf("state file %s: want the service keyed by numbers", b)
	}
}

// TestKernelDefaults: a persistent service sets
// expire_quiescent_template, a check that removes sets expire_nodest_conn,
// the user's own value wins, and an mh service that quiesces needs
// mh-fallback; conn_reuse_mode is 0 only on the kernels kube-proxy found
// slow with 1.
func TestKernelDefaults(t *testing.T) {
	m, err := compile(mustConfig(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, persistence: {timeout: 60s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.8:81, check: {type: tcp, onFailure: remove}, realServers: [{address: 10.0.0.110:81, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.8:82, scheduler: mh, flags: [mh-fallback], check: {type: tcp}, realServers: [{address: 10.0.0.110:82, forward: dr}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range m.sysctls {
		got[string(s.Key)] = s.Value
	}
	if got["net.ipv4.vs.expire_quiescent_template"] != "1" || got["net.ipv4.vs.expire_nodest_conn"] != "1" || len(got) != 2 {
		t.Errorf("sysctls %v", got)
	}
	m, err = compile(mustConfig(t, `
sysctls: {net.ipv4.vs.expire_nodest_conn: "0"}
services:
  - {protocol: tcp, address: 10.0.0.8:81, check: {type: tcp, onFailure: remove}, realServers: [{address: 10.0.0.110:81, forward: dr}]}
`))
	if err != nil || len(m.sysctls) != 1 || m.sysctls[0].Value != "0" {
		t.Errorf("the user's expire_nodest_conn: %+v, %v", m.sysctls, err)
	}
	_, err = Parse([]byte(`services: [{protocol: tcp, address: 10.0.0.8:82, scheduler: mh, check: {type: tcp}, realServers: [{address: 10.0.0.110:82, forward: dr}]}]`))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "mh-fallback") {
		t.Errorf("mh quiescing without mh-fallback: %v", err)
	}
	for release, want := range map[string]string{"4.0.9": "", "4.1.0": "0", "4.18.0-553.el8_10.x86_64": "0", "5.4.0-150-generic": "0", "5.8.18": "0", "5.9.0": "", "6.1.0-57-amd64": "", "10.0": "", "bogus": ""} {
		v, ok := connReuseDefault(release)
		if v != want || ok != (want != "") {
			t.Errorf("connReuseDefault(%q) = %q, %v; want %q", release, v, ok, want)
		}
	}
	if w := m.withSysctl("net.ipv4.vs.conn_reuse_mode", "0"); len(w.sysctls) != 2 || w.sysctls[0].Key != "net.ipv4.vs.conn_reuse_mode" {
		t.Errorf("withSysctl: %+v", w.sysctls)
	}
	if w := m.withSysctl("net.ipv4.vs.expire_nodest_conn", "1"); w != m {
		t.Error("withSysctl overrode the user's value")
	}
	if w := (&model{}).withSysctl("net.ipv4.vs.conn_reuse_mode", "0"); len(w.sysctls) != 0 {
		t.Error("withSysctl on a model without services")
	}
}
