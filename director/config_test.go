package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	"sigs.k8s.io/yaml"
)

// TestConfigTyped: files spell the ipvs types by their text forms; a real
// server without a weight gets 1, one without forward is refused; flags
// read as a list or a string.
func TestConfigTyped(t *testing.T) {
	cfg := mustConfig(t, `
services:
  - protocol: UDP
    address: 10.0.0.8:53
    scheduler: mh
    flags: [mh-fallback, mh-port]
    persistence: {timeout: 300}
    realServers:
      - {address: 10.0.0.110:53, forward: masquerading}
      - {address: 10.0.0.120:53, forward: g, weight: 0}
  - fwmark: 7
    family: ipv6
    flags: one-packet,flag-1
    mark: {destination: "2001:db8::100/128", protocol: tcp, ports: ["80", "8000:8080"]}
    realServers:
      - {address: "[2001:db8::110]:0", forward: tunnel, tunnel: {type: gre, checksum: csum}}
`)
	vs := cfg.Services[0]
	if vs.Protocol != ipvs.UDP || vs.Scheduler != ipvs.MaglevHashing || vs.Flags != ipvs.FlagMHFallback|ipvs.FlagMHPort || vs.Persistence.Timeout != 300*time.Second {
		t.Errorf("service %+v", vs)
	}
	if rs := vs.RealServers; rs[0].Forward != ipvs.Masquerade || rs[0].Weight != 1 || rs[1].Forward != ipvs.DirectRoute || rs[1].Weight != 0 {
		t.Errorf("real servers %+v: want nat weight 1 (the file has none), dr weight 0", rs)
	}
	fw := cfg.Services[1]
	if fw.Family != ipvs.IPv6 || fw.Flags != ipvs.FlagOnePacket|ipvs.SchedFlag1 ||
		fw.Mark.Ports[1] != (iptables.PortRange{First: 8000, Last: 8080}) || fw.RealServers[0].Tunnel.Type != ipvs.TunnelGRE {
		t.Errorf("fwmark service %+v", fw)
	}

	for name, bad := range map[string]string{
		"no forward":      `{address: 10.0.0.110:53}`,
		"unknown forward": `{address: 10.0.0.110:53, forward: fullnat}`,
		"unknown field":   `{address: 10.0.0.110:53, forward: nat, wieght: 2}`,
	} {
		_, err := Parse([]byte("services:\n  - {protocol: udp, address: 10.0.0.8:53, realServers: [" + bad + "]}\n"))
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	for name, bad := range map[string]string{
		"scheduler": `{protocol: tcp, address: 10.0.0.8:80, scheduler: fastest}`,
		"protocol":  `{protocol: icmp, address: 10.0.0.8:80}`,
		"flag":      `{protocol: tcp, address: 10.0.0.8:80, flags: [sticky]}`,
		"port":      `{fwmark: 1, mark: {destination: 10.0.0.8/32, protocol: tcp, ports: ["http"]}}`,
		"family":    `{protocol: tcp, address: 10.0.0.8:80, family: ipv6}`,
	} {
		if _, err := Parse([]byte("services:\n  - " + bad + "\n")); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// TestConfigRoundTrip: a Config written as YAML reads back the same.
func TestConfigRoundTrip(t *testing.T) {
	in := &Config{
		Timeouts: &Timeouts{TCP: 900 * time.Second, UDP: 30 * time.Second},
		Sysctls:  map[sysctl.Key]string{"net.ipv4.vs.expire_nodest_conn": "1"},
		Services: []VirtualService{{
			Protocol: ipvs.TCP, Address: netip.MustParseAddrPort("10.0.0.8:80"), Scheduler: ipvs.SourceHashing,
			Flags:       ipvs.FlagSHFallback,
			Persistence: &Persistence{Timeout: time.Minute, Netmask: 24},
			RealServers: []RealServer{{Address: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.Masquerade, Weight: 0}},
		}},
	}
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"forward: nat", "weight: 0", "scheduler: sh", "- sh-fallback", "timeout: 1m0s", "tcp: 15m0s"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("YAML lacks %q:\n%s", want, b)
		}
	}
	out := mustConfig(t, string(b))
	if got, want := mustJSON(t, out), mustJSON(t, in); got != want {
		t.Errorf("round trip:\n got %s\nwant %s", got, want)
	}
}

// TestMappedAddressesRefused: an IPv4-mapped IPv6 address anywhere an
// address is configured is refused, with its line and the IPv4 form to
// write (the kernel would hold the IPv4 address, and a plan comparing the
// two would never converge).
func TestMappedAddressesRefused(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"service", "services:\n  - protocol: tcp\n    address: \"[::ffff:10.0.0.8]:80\"\n    realServers: [{address: 10.0.0.110:80, forward: nat}]\n"},
		{"real server", "services:\n  - protocol: tcp\n    address: 10.0.0.8:80\n    realServers: [{address: \"[::ffff:10.0.0.110]:80\", forward: nat}]\n"},
		{"sorry server", "services:\n  - protocol: tcp\n    address: 10.0.0.8:80\n    sorryServer: {address: \"[::ffff:10.0.0.9]:80\", forward: nat}\n    realServers: [{address: 10.0.0.110:80, forward: nat}]\n"},
		{"vip", "allowNoServices: true\nvips:\n  - address: \"::ffff:10.0.0.8\"\n"},
	} {
		_, err := Parse([]byte(tc.file))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Line < 2 || !strings.Contains(ce.Reason, "IPv4-mapped") || !strings.Contains(ce.Reason, "write 10.0.0.") {
			t.Errorf("%s: %v; want a refusal with its line and the IPv4 form", tc.name, err)
		}
	}
}

// TestStateFile: the state is written owner-only, atomically (no
// temporary file left), reads back, reads the previous format (numeric
// keys), and a state file others can write is refused.
func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	var want state
	want.Services = []ipvs.Key{{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}, {FirewallMark: 7, Family: ipvs.IPv6}}
	want.VIPs = []VIP{{Address: netip.MustParseAddr("10.0.0.8"), Interface: "lo"}}
	// A file there before, readable by all, is replaced by a new
	// owner-only one (not rewritten in place).
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in the directory: %v", ents)
	}
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, st) != mustJSON(t, want) || len(st.Services) != 2 || st.Services[1].FirewallMark != 7 {
		t.Errorf("read back %+v, want %+v", st, want)
	}
	// The format before the ipvs types had text forms.
	old := `{"services":[{"Protocol":6,"Addr":"10.0.0.8:80","FirewallMark":0,"Family":2}],"marks":true}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := loadState(path); err != nil || len(st.Services) != 1 || st.Services[0].Protocol != ipvs.TCP || !st.Marks {
		t.Errorf("previous format: %+v, %v", st, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(path); err == nil {
		t.Error("a state file anyone can write was accepted")
	}
	if st, err := loadState(filepath.Join(dir, "none.json")); err != nil || len(st.Services) != 0 {
		t.Errorf("missing state file: %+v, %v", st, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLoadBounded: a file past MaxConfigSize is refused, not read whole.
func TestLoadBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxConfigSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(path); !errors.Is(err, ErrInvalid) {
		t.Errorf("a %d-byte file: %v, want ErrInvalid", MaxConfigSize+1, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no services") {
		t.Errorf("an empty file: %v, want ErrInvalid (no services)", err)
	}
}

// TestLoadNotRegular: a FIFO, a device or a directory given as the
// configuration is refused at once, not waited on or read.
func TestLoadNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", t.TempDir()} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v, want it refused as not a regular file", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Load still waiting after 5 s", path)
		}
	}
}

// TestFullNetmaskConverges: a persistence netmask of the whole address (32,
// 128) compiles to 0, which is what the kernel reports, so the plan after
// an apply is empty.
func TestFullNetmaskConverges(t *testing.T) {
	for _, addr := range []string{"10.0.0.8:80", "[2001:db8::8]:80"} {
		bits := 32
		if strings.HasPrefix(addr, "[") {
			bits = 128
		}
		cfg := mustConfig(t, fmt.Sprintf(`
services:
  - protocol: tcp
    address: "%s"
    persistence: {timeout: 60s, netmask: %d}
    realServers:
      - {address: "%s", forward: dr}
`, addr, bits, addr))
		m := mustCompile(t, cfg)
		if n := m.services[0].svc.Netmask; n != 0 {
			t.Errorf("%s: netmask %d compiled to %d, want 0", addr, bits, n)
		}
		// What the kernel reports for it: netmask 0.
		kernel := kernelOf(t, cfg)
		cur := current{table: kernel, sysctls: map[sysctl.Key]string{sysctl.VSExpireQuiescentTemplate: "1"}}
		if p := planFor(t, cfg, cur, false); p.Len() != 0 {
			t.Errorf("%s: plan against its own table:\n%s", addr, p)
		}
	}
}

// TestConfigErrorsKeepTheirChain: a value another package refuses is a
// *ConfigError naming the YAML field and its line, and errors.As still
// finds the package's own error.
func TestConfigErrorsKeepTheirChain(t *testing.T) {
	_, err := Parse([]byte(`services:
  - protocol: tcp
    address: 10.0.0.8:80
    realServers:
      - address: 10.0.0.110:80
        forward: tunnel
        tunnel: {type: gue}
`))
	var ce *ConfigError
	var ve *ipvs.ValidationError
	if !errors.As(err, &ce) || !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) || !errors.Is(err, ipvs.ErrInvalid) {
		t.Fatalf("%v: want a *ConfigError wrapping an *ipvs.ValidationError", err)
	}
	if ce.Where != "services[0].realServers[0].tunnel.port" || ce.Line != 7 || strings.Contains(err.Error(), "Destination.") {
		t.Errorf("%v (where %q, line %d): want the YAML field tunnel.port on line 7, in YAML names", err, ce.Where, ce.Line)
	}
}

// TestRefusedConfigurations: values that would misbehave in the kernel or
// the run loop are refused before anything is applied.
func TestRefusedConfigurations(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"sorry server is a real server", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, sorryServer: {address: 10.0.0.110:80, forward: nat}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "is one of the real servers"},
		{"vip with a zone", "allowNoServices: true\nvips: [{address: \"fe80::1%eth0\"}]\n", "has a zone"},
		{"broadcast vip", "allowNoServices: true\nvips: [{address: 255.255.255.255}]\n", "not a unicast address"},
		{"a 1 ns check interval", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 1ns}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "interval 1ns is not from 100ms to 24h0m0s"},
		{"a 99 ms check interval", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 99ms}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "interval 99ms is not from"},
		{"a 2-day check interval", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 48h}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "interval 48h0m0s is not from"},
		{"a 31-year jitter", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, jitter: 271560h}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "jitter 271560h0m0s is longer than 24h0m0s"},
		{"quorum and hysteresis overflowing", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, quorum: 1, hysteresis: 9223372036854775807, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "need"},
		{"quorum overflowing", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, quorum: 9223372036854775807, hysteresis: 9223372036854775807, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", "need"},
		{"keys differing in case", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, realServers: [{address: 10.0.0.110:80, forward: nat, weight: 1, Weight: 0}]}\n", `services[0].realServers[0]: keys "Weight" and "weight" differ only in case`},
		{"keys differing in case at the top", "allowNoServices: true\nallownoservices: false\n", `keys "allowNoServices" and "allownoservices" differ only in case`},
		{"check keys differing in case", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: http, path: /a, PATH: /b}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", `services[0].check: keys "PATH" and "path"`},
		{"header names differing in case", "services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: http, headers: {X-A: a, x-a: b}}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n", `keys "X-A" and "x-a"`},
		{"announcing 0.0.0.0/0", strings.Replace(clusterBase, "announce: [10.0.0.100/32]", "announce: [0.0.0.0/0]", 1), "0.0.0.0/0 is the default route"},
		{"announcing ::/0", strings.Replace(clusterBase, "announce: [10.0.0.100/32]", `announce: [10.0.0.100/32, "::/0"]`, 1), "::/0 is the default route"},
		{"a bgp peer twice", strings.Replace(clusterBase, "peers: [{address: 192.168.100.1, asn: 65000, holdTime: 3s, connectRetry: 1, password: secret}]", "peers: [{address: 192.168.100.1, asn: 65000}, {address: 192.168.100.1, asn: 65002}]", 1), "is peers[0] already"},
	} {
		_, err := Parse([]byte(tc.file))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
	}
	// Sysctl keys are the kernel's names, where case counts; the limits
	// themselves are accepted.
	for _, ok := range []string{
		"allowNoServices: true\nsysctls: {net.ipv4.conf.eth0.rp_filter: \"1\", net.ipv4.conf.ETH0.rp_filter: \"1\"}\n",
		"services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 100ms, jitter: 24h}, realServers: [{address: 10.0.0.110:80, forward: nat}]}\n",
		"services:\n  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 24h}, quorum: 1, hysteresis: 1, realServers: [{address: 10.0.0.110:80, forward: nat}, {address: 10.0.0.120:80, forward: nat}]}\n",
	} {
		if _, err := Parse([]byte(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
