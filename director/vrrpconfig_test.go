package director_test

import (
	"encoding/json"
	"net/netip"
	"reflect"
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
