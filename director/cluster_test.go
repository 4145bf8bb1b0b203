package director

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

const clusterBase = `
cluster:
  announce: [10.0.0.100/32]
  bgp:
    localASN: 65001
    routerID: 192.168.100.2
    nextHop: 192.168.100.2
    med: 10
    peers: [{address: 192.168.100.1, asn: 65000, holdTime: 3s, connectRetry: 1, password: secret}]
services:
  - protocol: tcp
    address: 10.0.0.100:80
    scheduler: mh
    flags: [mh-fallback]
    check: {type: tcp}
    realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]
  - protocol: tcp
    address: 10.0.0.101:80
    scheduler: wlc
    realServers: [{address: 10.0.0.110:80, forward: dr, upperThreshold: 100}]
`

// TestClusterConfig: the cluster section reads with its durations, an
// announced service must use mh with mh-fallback, quiesce failed real
// servers and have no upper thresholds, while a service outside the
// announced prefixes may do as it likes; the BGP settings are checked.
func TestClusterConfig(t *testing.T) {
	cfg := mustConfig(t, clusterBase)
	b := cfg.Cluster.BGP
	if b.LocalASN != 65001 || b.MED != 10 || b.Peers[0].HoldTime != 3*time.Second || b.Peers[0].ConnectRetry != time.Second || b.Peers[0].Password != "secret" {
		t.Errorf("bgp %+v", b)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"announced service not mh", "scheduler: mh", "scheduler: rr", "needs scheduler mh with flags [mh-fallback]"},
		{"announced service without mh-fallback", "flags: [mh-fallback]", "flags: []", "mh-fallback"},
		{"announced service removing failed real servers", "check: {type: tcp}", "check: {type: tcp, onFailure: remove}", "must be quiesced"},
		{"upper threshold in an announced service", "{address: 10.0.0.120:80, forward: dr}]", "{address: 10.0.0.120:80, forward: dr, upperThreshold: 5}]", "upperThreshold"},
		{"a wider prefix takes in the wlc service", "announce: [10.0.0.100/32]", "announce: [10.0.0.100/31]", "TCP  10.0.0.101:80: announced by cluster: needs scheduler mh"},
		{"prefix with host bits", "announce: [10.0.0.100/32]", "announce: [10.0.0.100/24]", "no bits past its length"},
		{"no prefixes", "announce: [10.0.0.100/32]", "announce: []", "no prefixes"},
		{"router id", "routerID: 192.168.100.2", "routerID: 2001:db8::1", "IPv4"},
		{"hold time", "holdTime: 3s", "holdTime: 2s", "from 3s"},
		{"no asn", "asn: 65000", "asn: 0", "no asn"},
		{"unknown field", "med: 10", "medd: 10", "unknown field"},
	} {
		_, err := Parse([]byte(strings.Replace(clusterBase, tc.from, tc.to, 1)))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestWantAnnounced: a prefix is announced while none of the services it
// holds is below quorum; an announced service without a quorum gets 1.
func TestWantAnnounced(t *testing.T) {
	cfg := mustConfig(t, strings.Replace(clusterBase, "announce: [10.0.0.100/32]", "announce: [10.0.0.100/32, 10.0.1.0/24]", 1)+`
  - {protocol: udp, address: 10.0.1.5:53, scheduler: mh, flags: [mh-fallback], realServers: [{address: 10.0.0.110:53, forward: dr}]}
`)
	m := mustCompile(t, cfg)
	if q := m.services[2].quorum; q != 1 {
		t.Errorf("an announced service without a quorum has %d, want 1", q)
	}
	if q := m.services[1].quorum; q != 0 {
		t.Errorf("a service outside the prefixes has quorum %d, want none", q)
	}
	got := func(below ...int) string {
		b := map[ipvs.Key]bool{}
		for _, i := range below {
			b[m.services[i].svc.Key()] = true
		}
		return fmt.Sprint(m.wantAnnounced(b))
	}
	for _, tc := range []struct {
		below []int
		want  string
	}{
		{nil, "[10.0.0.100/32 10.0.1.0/24]"},
		{[]int{0}, "[10.0.1.0/24]"},
		{[]int{2}, "[10.0.0.100/32]"},
		{[]int{1}, "[10.0.0.100/32 10.0.1.0/24]"},
		{[]int{0, 2}, "[]"},
	} {
		if g := got(tc.below...); g != tc.want {
			t.Errorf("below %v: announce %s, want %s", tc.below, g, tc.want)
		}
	}
}

// TestAppendedOnly: a reload may remove an announced service's real
// servers and add some at the end, not insert one before those it keeps
// nor reorder them; a service outside the cluster may do as it likes.
func TestAppendedOnly(t *testing.T) {
	const rs = "realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]"
	prev := mustCompile(t, mustConfig(t, clusterBase))
	for _, tc := range []struct {
		name, to string
		ok       bool
	}{
		{"the same", rs, true},
		{"one added at the end", "realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}, {address: 10.0.0.130:80, forward: dr}]", true},
		{"one removed", "realServers: [{address: 10.0.0.120:80, forward: dr}]", true},
		{"one inserted first", "realServers: [{address: 10.0.0.130:80, forward: dr}, {address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]", false},
		{"reordered", "realServers: [{address: 10.0.0.120:80, forward: dr}, {address: 10.0.0.110:80, forward: dr}]", false},
	} {
		next := mustCompile(t, mustConfig(t, strings.Replace(clusterBase, rs, tc.to, 1)))
		err := appendedOnly(prev, next)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// The wlc service outside the cluster may be reordered.
	next := mustCompile(t, mustConfig(t, strings.Replace(clusterBase, "realServers: [{address: 10.0.0.110:80, forward: dr, upperThreshold: 100}]",
		"realServers: [{address: 10.0.0.120:80, forward: dr}, {address: 10.0.0.110:80, forward: dr, upperThreshold: 100}]", 1)))
	if err := appendedOnly(prev, next); err != nil {
		t.Errorf("a service outside the cluster: %v", err)
	}
}

// TestClusterSyncOnly: a cluster may only run the sync daemon (a pair
// whose VIPs move otherwise); with BGP, or with neither, it needs
// prefixes to announce.
func TestClusterSyncOnly(t *testing.T) {
	const svc = "services: [{protocol: tcp, address: 10.0.0.8:80, realServers: [{address: 10.0.0.110:80, forward: dr}]}]\n"
	if _, err := Parse([]byte("cluster: {sync: {interface: eth1, syncID: 7}}\n" + svc)); err != nil {
		t.Errorf("sync alone: %v", err)
	}
	for _, c := range []string{"cluster: {}\n", "cluster: {sync: {interface: eth1}, bgp: {localASN: 65001, routerID: 10.0.0.1, nextHop: 10.0.0.1, peers: [{address: 10.0.0.254, asn: 65000}]}}\n"} {
		if _, err := Parse([]byte(c + svc)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no prefixes") {
			t.Errorf("%q: %v, want no prefixes refused", c, err)
		}
	}
}
