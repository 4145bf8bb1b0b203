package director

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// natLab is the study note's NAT lab as a configuration.
const natLab = `
services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: wrr
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: 2}
`

var natYAML = `
vips:
  - address: 192.168.10.200
services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: 2}
`

func mustParse(t *testing.T, s string) *Compiled {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustCompile(t *testing.T, cfg *Config) *model {
	t.Helper()
	m, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// kernelOf is the table the kernel would hold after applying cfg.
func kernelOf(t *testing.T, cfg *Config) []ipvs.TableService {
	t.Helper()
	var out []ipvs.TableService
	for _, s := range mustCompile(t, cfg).services {
		out = append(out, ipvs.TableService{Service: s.svc, Destinations: append([]ipvs.Destination(nil), s.dests...)})
	}
	return out
}

func kinds(p *Plan) string {
	var ks []string
	for _, o := range p.Ops {
		ks = append(ks, o.Kind.String())
	}
	return strings.Join(ks, ", ")
}

func planFor(t *testing.T, cfg *Config, cur current, drain bool) *Plan {
	t.Helper()
	m := mustCompile(t, cfg)
	if cur.owned == nil {
		cur.owned = map[ipvs.Key]bool{}
	}
	return plan(m, cur, drain)
}

func TestPlanFromEmpty(t *testing.T) {
	cfg := mustConfig(t, natYAML)
	p := planFor(t, cfg, current{sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "0"}}, false)
	want := "set sysctl, create service, create destination, create destination, add VIP"
	if got := kinds(p); got != want {
		t.Errorf("ops = %s\nwant  %s", got, want)
	}
	out := p.String()
	for _, line := range []string{
		"~ sysctl net.ipv4.ip_forward: 0 -> 1",
		"+ -A -t 10.0.0.8:80 -s rr",
		"+ -a -t 10.0.0.8:80 -r 10.0.0.110:80 -m -w 1",
		"+ -a -t 10.0.0.8:80 -r 10.0.0.120:80 -m -w 2",
		"+ vip 192.168.10.200 on lo",
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("plan lacks %q:\n%s", line, out)
		}
	}
}

// TestPlanNoChange: a kernel that already matches gives zero operations.
func TestPlanNoChange(t *testing.T) {
	cfg := mustConfig(t, natYAML)
	cur := current{
		table:   kernelOf(t, cfg),
		sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"},
		vips:    map[vipOn]bool{{netip.MustParseAddr("192.168.10.200"), "lo"}: true},
	}
	if p := planFor(t, cfg, cur, false); p.Len() != 0 {
		t.Errorf("plan for an unchanged kernel:\n%s", p)
	}
}

// TestPlanOneWeight: one changed weight is one operation.
func TestPlanOneWeight(t *testing.T) {
	cfg := mustConfig(t, natYAML)
	cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"},
		vips: map[vipOn]bool{{netip.MustParseAddr("192.168.10.200"), "lo"}: true}}
	cfg.Services[0].RealServers[1].Weight = 5
	p := planFor(t, cfg, cur, false)
	if p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Rule.Destination.Weight != 5 || p.Ops[0].Old.Destination.Weight != 2 {
		t.Fatalf("plan:\n%s", p)
	}
	if s := p.String(); s != "~ -e -t 10.0.0.8:80 -r 10.0.0.120:80 -m -w 5 (was: -r 10.0.0.120:80 -m -w 2)\n" {
		t.Errorf("printed %q", s)
	}
}

// TestPlanOrder: additions before updates before removals; services the
// director never owned stay; removed real servers drain when asked to.
func TestPlanOrder(t *testing.T) {
	old := mustConfig(t, natYAML)
	cur := current{table: kernelOf(t, old), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"}}
	foreign := ipvs.TableService{Service: ipvs.Service{FirewallMark: 99, Family: ipvs.IPv4, Scheduler: "wlc"}}
	gone := ipvs.TableService{Service: ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.8:53"), Family: ipvs.IPv4, Scheduler: "rr"}}
	cur.table = append(cur.table, foreign, gone)
	cur.owned = map[ipvs.Key]bool{gone.Key(): true}
	cur.ownVIPs = []VIP{{Address: netip.MustParseAddr("192.168.10.201")}}
	cfg := mustConfig(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: wrr
    realServers:
      - {address: 10.0.0.110:80, forward: nat, weight: 3}
      - {address: 10.0.0.130:80, forward: nat}
  - protocol: tcp
    address: 10.0.0.8:443
    realServers:
      - {address: 10.0.0.110:443, forward: nat}
`)
	p := planFor(t, cfg, cur, false)
	want := "update service, create service, create destination, create destination, update destination, remove VIP, delete destination, delete service"
	if got := kinds(p); got != want {
		t.Errorf("ops = %s\nwant  %s\n%s", got, want, p)
	}
	if strings.Contains(p.String(), "-f 99") {
		t.Errorf("plan touches a service the director does not own:\n%s", p)
	}
	d := planFor(t, cfg, cur, true)
	want = "update service, create service, create destination, create destination, update destination, drain destination, remove VIP, delete service"
	if got := kinds(d); got != want {
		t.Errorf("with drain: ops = %s\nwant  %s\n%s", got, want, d)
	}
	if len(d.drains) != 1 || !strings.Contains(d.drains[0], "10.0.0.120:80") {
		t.Errorf("drains = %v", d.drains)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, bad := range []string{
		"services: [{protocol: tcp, address: 10.0.0.1:0}]",
		"services: [{protocol: icmp, address: 10.0.0.1:80}]",
		"services: [{protocol: tcp, address: 10.0.0.1:80, scheduler: fastest}]",
		"services: [{protocol: tcp, address: 10.0.0.1:80, realServers: [{address: 10.0.0.2:80, forward: nat, weight: -1}]}]",
		"services: [{protocol: tcp, address: 10.0.0.1:80, realServers: [{address: 10.0.0.2:80, forward: teleport}]}]",
		"services: [{protocol: tcp, address: 10.0.0.1:80}, {protocol: tcp, address: 10.0.0.1:80}]",
		"services: [{fwmark: 10, mark: {destination: 10.0.0.1/32, protocol: tcp}}]",
		"services: [{fwmark: 10, protocol: tcp}]",
		"services: [{protocol: tcp, address: 10.0.0.1:80, persistence: {timeout: 0s}}]",
		"vips: [{address: 10.0.0.1}, {address: 10.0.0.1}]",
		"vips: [{address: 10.0.0.1, dummy: true}]",
		"unknownField: 1",
		"timeouts: {tcp: 1.5s}",
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestConfigForms(t *testing.T) {
	cfg := mustConfig(t, `
timeouts: {tcp: 20s, tcpfin: 20, udp: 20s}
sysctls: {net.ipv4.vs.expire_nodest_conn: "1"}
services:
  - fwmark: 10
    scheduler: rr
    mark: {destination: 10.0.0.100/32, protocol: tcp, ports: ["80", "88", "8000-8080"]}
    persistence: {timeout: 10s, netmask: 24}
    flags: [one-packet]
    realServers:
      - {address: "10.0.0.110:0", forward: tunnel, tunnel: {type: gue, port: 6080, checksum: csum}}
`)
	ds := mustCompile(t, cfg).services
	s := ds[0].svc
	if s.FirewallMark != 10 || s.Timeout != 10*time.Second || s.Netmask != 24 || s.Flags != ipvs.FlagPersistent|ipvs.FlagOnePacket {
		t.Errorf("service %+v", s)
	}
	if m := ds[0].mark; m == nil || m.Mark != 10 || len(m.Ports) != 3 || m.Ports[2].Last != 8080 {
		t.Errorf("mark %+v", m)
	}
	if d := ds[0].dests[0]; d.TunnelType != ipvs.TunnelGUE || d.TunnelPort != 6080 || d.TunnelFlags != ipvs.TunnelChecksum || d.Weight != 1 {
		t.Errorf("destination %+v", d)
	}
	if cfg.Timeouts.TCPFin != 20*time.Second {
		t.Errorf("timeouts %+v", cfg.Timeouts)
	}
	if need, err := compiled(t, cfg).NeededSysctls(), error(nil); err != nil || need["net.ipv4.vs.expire_nodest_conn"] != "1" {
		t.Errorf("sysctls %v, %v", need, err)
	}
}

// TestPlanVIPMoved: a VIP the director added on one interface and now
// wants on another is added there and removed from the first.
func TestPlanVIPMoved(t *testing.T) {
	cfg := mustConfig(t, natYAML)
	cfg.VIPs[0].Interface = "vip0"
	cfg.VIPs[0].Dummy = true
	old := VIP{Address: cfg.VIPs[0].Address, Interface: "lo"}
	cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"},
		vips: map[vipOn]bool{old.on(): true}, ownVIPs: []VIP{old}}
	p := planFor(t, cfg, cur, false)
	if got, want := p.String(), "+ vip 192.168.10.200 on vip0\n- vip 192.168.10.200 on lo\n"; got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	// Once moved, nothing is left to do.
	moved := VIP{Address: old.Address, Interface: "vip0", Dummy: true}
	cur.vips, cur.ownVIPs = map[vipOn]bool{moved.on(): true}, []VIP{moved}
	if p := planFor(t, cfg, cur, false); p.Len() != 0 {
		t.Errorf("plan after the move:\n%s", p)
	}
}

// TestConfigGuards: an empty configuration, and host-wide sysctls, need to
// be asked for.
func TestConfigGuards(t *testing.T) {
	for _, text := range []string{"", "# truncated\n", "vips: [{address: 10.0.0.1}]\n"} {
		if _, err := Parse([]byte(text)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid (no services)", text, err)
		}
	}
	if _, err := Parse([]byte("allowNoServices: true\n")); err != nil {
		t.Errorf("an empty configuration asked for: %v", err)
	}
	host := natYAML + "sysctls: {kernel.panic: \"10\"}\n"
	if _, err := Parse([]byte(host)); !errors.Is(err, ErrInvalid) {
		t.Errorf("kernel.* sysctl: %v, want ErrInvalid", err)
	}
	if _, err := Parse([]byte(host + "hostSysctls: true\n")); err != nil {
		t.Errorf("kernel.* sysctl asked for: %v", err)
	}
	for _, name := range []string{".", "..", "a b", "x\r\n", `q"`, "toolonginterface0"} {
		cfg := mustConfig(t, natYAML)
		cfg.VIPs[0].Interface = name
		if err := cfg.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("interface %q: %v, want ErrInvalid", name, err)
		}
	}
}

// mustConfig is the Config s holds, valid, for a test to change.
func mustConfig(t *testing.T, s string) *Config {
	t.Helper()
	return mustParse(t, s).Config()
}

// compiled compiles cfg, failing the test if it is invalid.
func compiled(t *testing.T, cfg *Config) *Compiled {
	t.Helper()
	c, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseConfig is Parse for a test that changes the Config afterwards.
func parseConfig(b []byte) (*Config, error) {
	c, err := Parse(b)
	if err != nil {
		return nil, err
	}
	return c.Config(), nil
}

// TestPlanSysctlNormalised: configured sysctl values are compared with the
// kernel's as the kernel prints them (leading zeros, a trailing newline,
// tab-separated fields): a kernel that has them plans nothing.
func TestPlanSysctlNormalised(t *testing.T) {
	cfg := mustConfig(t, natYAML)
	cfg.Sysctls = map[sysctl.Key]string{
		sysctl.IPv4Forward:                "01",
		"net.ipv4.vs.sync_threshold":      "3 50",
		"net.ipv4.vs.sync_refresh_period": "+0010\n",
		"net.ipv4.vs.conn_reuse_mode":     " 1\n",
	}
	cur := current{
		table: kernelOf(t, cfg),
		sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1", "net.ipv4.vs.sync_threshold": "3\t50",
			"net.ipv4.vs.sync_refresh_period": "10", "net.ipv4.vs.conn_reuse_mode": "1"},
		vips: map[vipOn]bool{{netip.MustParseAddr("192.168.10.200"), "lo"}: true},
	}
	if p := planFor(t, cfg, cur, false); p.Len() != 0 {
		t.Errorf("plan for a kernel that has the values:\n%s", p)
	}
	cur.sysctls["net.ipv4.vs.sync_threshold"] = "3\t51"
	if p := planFor(t, cfg, cur, false); p.Len() != 1 || p.Ops[0].Sysctl.Key != "net.ipv4.vs.sync_threshold" {
		t.Errorf("plan for one different value:\n%s", p)
	}
	for in, want := range map[string]string{"01": "1", "1\n": "1", "3\t50": "3 50", "-0": "0", "abc  def": "abc def", "007x": "007x", "": ""} {
		if got := sysctlValue(in); got != want {
			t.Errorf("sysctlValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestModelIndexShared: a compiled model is read by several goroutines at
// once (Run's loop, Disable and Enable, Status) without a lock: looking a
// service up only reads it (go test -race reported the index built on
// first use).
func TestModelIndexShared(t *testing.T) {
	m := mustCompile(t, mustConfig(t, natYAML))
	k := m.services[0].svc.Key()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m.service(k) == nil {
				t.Errorf("service %v not found", k)
			}
		}()
	}
	wg.Wait()
	if e := m.effective(verdicts{disabled: map[target]bool{{k, m.services[0].dests[0].Addr}: true}}); e.service(k) == m.service(k) || e.service(k) == nil {
		t.Error("the effective model's index is the compiled one's")
	}
	if (&model{services: m.services}).service(k) != m.services[0] {
		t.Error("a model without an index does not find its service")
	}
}

// TestPlanScanAndMaps: a service's destinations are matched by a scan up
// to scanDests of them and through maps beyond; both give the same
// operations: one update, one create, one delete.
func TestPlanScanAndMaps(t *testing.T) {
	for _, n := range []int{3, scanDests, scanDests + 1, 3 * scanDests} {
		cfg := mustConfig(t, natYAML)
		base := cfg.Services[0].RealServers[0]
		cfg.Services[0].RealServers = nil
		for i := range n {
			rs := base
			rs.Address = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}), 80)
			cfg.Services[0].RealServers = append(cfg.Services[0].RealServers, rs)
		}
		cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"},
			vips: map[vipOn]bool{{netip.MustParseAddr("192.168.10.200"), "lo"}: true}, owned: map[ipvs.Key]bool{}}
		cfg.Services[0].RealServers[1].Weight = 7                                                                // updated
		cfg.Services[0].RealServers[n-1].Address = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 2, 1}), 80) // created, and the old one deleted
		p := planFor(t, cfg, cur, false)
		if got, want := kinds(p), "create destination, update destination, delete destination"; got != want {
			t.Errorf("%d destinations: ops = %s, want %s\n%s", n, got, want, p)
		}
	}
}
