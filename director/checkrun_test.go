package director

import (
	"testing"
	"time"
)

// TestProbesShared: a real server checked the same way by two services is
// one probe feeding both; a different check, or another address, is a
// probe of its own.
func TestProbesShared(t *testing.T) {
	m := mustCompile(t, mustConfig(t, `
services:
  - {protocol: tcp, address: 10.0.0.8:80, check: {type: tcp, interval: 1s}, realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.9:80, check: {type: tcp, interval: 1s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
  - {protocol: tcp, address: 10.0.0.10:80, check: {type: tcp, interval: 2s}, realServers: [{address: 10.0.0.110:80, forward: dr}]}
`))
	targets := m.targets()
	if len(targets) != 4 {
		t.Fatalf("%d targets, want 4", len(targets))
	}
	ps := probes(targets, map[target]bool{}, time.Now())
	subs := map[string]int{}
	for _, p := range ps {
		subs[p.addr.String()+" every "+p.cc.check.Interval.String()] = len(p.subs)
	}
	want := map[string]int{"10.0.0.110:80 every 1s": 2, "10.0.0.120:80 every 1s": 1, "10.0.0.110:80 every 2s": 1}
	if len(subs) != len(want) {
		t.Fatalf("probes %v, want %v", subs, want)
	}
	for k, n := range want {
		if subs[k] != n {
			t.Errorf("probes %v, want %v", subs, want)
		}
	}
}
