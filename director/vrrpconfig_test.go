package director_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"sigs.k8s.io/yaml"
)

// TestVRRPConfigFile reads the vrrp section as files write it and writes
// it back the same.
func TestVRRPConfigFile(t *testing.T) {
	const file = `
vrrp:
  instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: 150
    interval: 1s
    preemptDelay: 30
    peers: [10.0.0.3]
    password: secret
    garp: {repeat: 3, delay: 2s}
    vips:
    - 10.0.0.100/24
    - 10.0.0.101
    - {address: 10.0.1.100/24, interface: eth1}
    track:
      interfaces: [{name: eth1, weight: -20}]
      services: [{name: web}]
    notify: {master: [/bin/true, up], any: [/usr/local/bin/notify]}
  syncGroups: [{name: G, instances: [VI_1]}]
  syncDaemon: {instance: VI_1, interface: eth0, syncID: 5}
`
	var cfg director.Config
	if err := yaml.Unmarshal([]byte(file), &cfg); err != nil {
		t.Fatal(err)
	}
	v := cfg.VRRP
	if v == nil || len(v.Instances) != 1 {
		t.Fatalf("vrrp = %+v", v)
	}
	in := v.Instances[0]
	want := []director.VRRPAddress{
		{Address: netip.MustParsePrefix("10.0.0.100/24")},
		{Address: netip.MustParsePrefix("10.0.0.101/32")},
		{Address: netip.MustParsePrefix("10.0.1.100/24"), Interface: "eth1"},
	}
	if !reflect.DeepEqual(in.VIPs, want) {
		t.Errorf("vips = %+v, want %+v", in.VIPs, want)
	}
	if in.Interval != time.Second || in.PreemptDelay != 30*time.Second || in.GARP.Delay != 2*time.Second || in.GARP.Repeat != 3 {
		t.Errorf("durations: interval %v, preemptDelay %v, garp %+v", in.Interval, in.PreemptDelay, in.GARP)
	}
	if in.Track.Interfaces[0].Weight != -20 || in.Track.Services[0].Name != "web" || in.Notify.Master[1] != "up" {
		t.Errorf("track %+v notify %+v", in.Track, in.Notify)
	}
	if d := v.SyncDaemon; d.Instance != "VI_1" || d.Interface != "eth0" || d.SyncID != 5 {
		t.Errorf("syncDaemon = %+v", d)
	}
	b, err := json.Marshal(cfg.VRRP)
	if err != nil {
		t.Fatal(err)
	}
	var back director.VRRP
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, cfg.VRRP) {
		t.Errorf("round trip:\n%s\n%+v", b, back)
	}
	for _, bad := range []string{
		"vrrp: {instances: [{name: a, vips: [10.0.0.300]}]}",
		"vrrp: {instances: [{name: a, vips: [{address: 10.0.0.1, other: x}]}]}",
		"vrrp: {instances: [{name: a, vrid: 1, unknown: 1}]}",
	} {
		var c director.Config
		if err := yaml.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestVRRPConfigErrors: bad vrrp sections are refused with the field
// named, before anything runs.
func TestVRRPConfigErrors(t *testing.T) {
	// one is an instance: fields (each ", key: value") and the defaults
	// of the keys they do not have.
	one := func(defaults, fields string) string {
		for _, d := range strings.Split(defaults, ";") {
			if !strings.Contains(fields, ", "+strings.Split(d, ":")[0]+":") {
				fields = ", " + d + fields
			}
		}
		return "  - {" + strings.TrimPrefix(fields, ", ") + "}\n"
	}
	const d1, d2 = "name: VI_1;interface: eth0;vrid: 51;vips: [10.0.0.100/24]", "name: VI_2;interface: eth0;vrid: 52;vips: [10.0.0.101/24]"
	inst := func(fields string) string {
		return "allowNoServices: true\nvrrp:\n  instances:\n" + one(d1, fields)
	}
	two := func(a, b string) string {
		return "allowNoServices: true\nvrrp:\n  instances:\n" + one(d1, a) + one(d2, b)
	}
	svc := "services:\n  - {name: web, protocol: tcp, address: 10.0.0.100:80}\n"
	for _, tc := range []struct{ conf, where string }{
		{"allowNoServices: true\nvrrp: {}\n", "vrrp.instances"},
		{inst(", vrid: 0"), "vrrp.instances[0].vrid"},
		{inst(", name: ''"), "vrrp.instances[0].name"},
		{inst(", interface: ''"), "vrrp.instances[0].interface"},
		{inst(", vips: []"), "vrrp.instances[0].vips"},
		{inst(", vips: [224.0.0.1]"), "vrrp.instances[0].vips[0]"},
		{inst(", vips: [10.0.0.1, '2001:db8::1']"), "vrrp.instances[0].vips[1]"},
		{inst(", vips: [{address: 10.0.0.1,interface: 'a b'}]"), "vrrp.instances[0].vips[0].interface"},
		{inst(", excludedVIPs: [10.0.0.100/32]"), "vrrp.instances[0].excludedVIPs[0]"},
		{inst(", excludedVIPs: [224.0.0.1]"), "vrrp.instances[0].excludedVIPs[0]"},
		{two("", ", excludedVIPs: ['2001:db8::1', 10.0.0.100]"), "vrrp.instances[1].excludedVIPs[1]"},
		{inst(", version: 4"), "vrrp.instances[0].version"},
		{inst(", version: 2, vips: ['2001:db8::1']"), "vrrp.instances[0].version"},
		{inst(", interval: 0.5"), "vrrp.instances[0].interval"},
		{inst(", interval: 300s"), "vrrp.instances[0].interval"},
		{inst(", version: 3, interval: 5ms"), "vrrp.instances[0].interval"},
		{inst(", version: 3, interval: 41s"), "vrrp.instances[0].interval"},
		{inst(", password: '123456789'"), "vrrp.instances[0].password"},
		{inst(", version: 3, password: secret"), "vrrp.instances[0].password"},
		{inst(", source: 10.0.0.1, peers: [10.0.0.1]"), "vrrp.instances[0].peers[0]"},
		{inst(", peers: ['2001:db8::2']"), "vrrp.instances[0].peers[0]"},
		{inst(", preemptDelay: 2000s"), "vrrp.instances[0].preemptDelay"},
		{inst(", track: {services: [{name: nosuch}]}"), "vrrp.instances[0].track.services[0].name"},
		{inst(", track: {interfaces: [{name: eth1, weight: 300}]}"), "vrrp.instances[0].track.interfaces[0].weight"},
		{inst(", priority: 255, track: {interfaces: [{name: eth1, weight: -10}]}"), "vrrp.instances[0].track.interfaces[0].weight"},
		{inst(", track: {checks: [{name: c, check: {type: tcp}}]}"), "vrrp.instances[0].track.checks[0].address"},
		{inst(", track: {checks: [{name: c, check: {type: tcp, interval: 1ms}, address: '10.0.0.9:80'}]}"), "vrrp.instances[0].track.checks[0].check"},
		{inst(", notify: {master: []}"), "vrrp.instances[0].notify.master"},
		{two("", ", vrid: 51"), "vrrp.instances[1].vrid"},
		{two(", peers: [10.0.0.2]", ", vrid: 51, peers: [10.0.0.3, 10.0.0.2]"), "vrrp.instances[1].vrid"},
		{two("", ", name: VI_1"), "vrrp.instances[1].name"},
		{two("", ", vips: [10.0.0.100]"), "vrrp.instances[1].vips[0]"},
		{inst("") + "vips: [{address: 10.0.0.100}]\n", "vrrp.instances[0].vips[0]"},
		{inst("") + "  syncGroups: [{name: G, instances: [VI_9]}]\n", "vrrp.syncGroups[0].instances[0]"},
		{two("", "") + "  syncGroups: [{name: G, instances: [VI_1]}, {name: H, instances: [VI_2, VI_1]}]\n", "vrrp.syncGroups[1].instances[1]"},
		{inst("") + "  syncDaemon: {instance: VI_9, interface: eth0}\n", "vrrp.syncDaemon.instance"},
		{inst("") + "  syncDaemon: {instance: VI_1, interface: eth0}\ncluster: {sync: {interface: eth0}}\n", "vrrp.syncDaemon"},
		{inst("") + "  announceWith: VI_9\n", "vrrp.announceWith"},
		{inst("") + "cluster: {announce: [10.0.0.100/32]}\n", "vrrp.announceWith"},
	} {
		_, err := director.Parse([]byte(tc.conf))
		var ce *director.ConfigError
		if !errors.As(err, &ce) || ce.Where != tc.where || !errors.Is(err, director.ErrInvalid) {
			t.Errorf("%s\n  = %v, want a *ConfigError at %s", tc.conf, err, tc.where)
		} else if ce.Line == 0 {
			t.Errorf("%s\n  = %v, without the line", tc.conf, err)
		}
	}
	// Valid: a service on a VRRP VIP, the address owner, unicast peers, IPv6.
	for _, ok := range []string{
		svc + strings.TrimPrefix(inst(", track: {services: [{name: web, weight: -20}]}"), "allowNoServices: true\n"),
		inst(", priority: 255, track: {interfaces: [{name: eth1}]}"),
		inst(", source: 10.0.0.1, peers: [10.0.0.2], password: secret"),
		inst(", vips: ['2001:db8::100/64'], interval: 20ms"),
		two("", ", vrid: 51, vips: ['2001:db8::100/64']"), // VRID 51 of IPv6 is another router
		two("", "") + "  syncGroups: [{name: G, instances: [VI_1, VI_2]}]\n  syncDaemon: {instance: VI_1, interface: eth0, both: true}\n",
	} {
		if _, err := director.Parse([]byte(ok)); err != nil {
			t.Errorf("%s\n  = %v", ok, err)
		}
	}
}

// TestVRRPSharedVRID accepts one VRID twice on an interface where
// keepalived does: a unicast and a multicast instance, or two unicast
// ones with no peer in common.
func TestVRRPSharedVRID(t *testing.T) {
	for _, conf := range []string{
		"allowNoServices: true\nvrrp:\n  instances:\n  - {name: a, interface: eth0, vrid: 7, vips: [10.0.0.100/24], peers: [10.0.0.2]}\n  - {name: b, interface: eth0, vrid: 7, vips: [10.0.0.200/24]}\n",
		"allowNoServices: true\nvrrp:\n  instances:\n  - {name: a, interface: eth0, vrid: 7, vips: [10.0.0.100/24], peers: [10.0.0.2]}\n  - {name: b, interface: eth0, vrid: 7, vips: [10.0.0.200/24], peers: [10.0.0.3]}\n",
		"allowNoServices: true\nvrrp:\n  instances:\n  - {name: a, interface: eth0, vrid: 7, vips: [10.0.0.100/24], peers: [10.0.0.2], source: 10.0.0.1}\n  - {name: b, interface: eth0, vrid: 7, vips: [10.0.0.200/24], peers: [10.0.0.2], source: 10.0.0.5}\n",
	} {
		if _, err := director.Parse([]byte(conf)); err != nil {
			t.Errorf("%s: %v", conf, err)
		}
	}
}
