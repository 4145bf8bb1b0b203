package director

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/lvs-go/lvs/sysctl"
)

func TestTally(t *testing.T) {
	chk := Check{Rise: 2, Fall: 3}
	var tl tally
	steps := []struct {
		ok      bool
		flipped bool
		failed  bool
	}{
		{false, false, false}, {false, false, false}, {true, false, false}, // a success resets the run
		{false, false, false}, {false, false, false}, {false, true, true}, // third failure in a row
		{true, false, true}, {false, false, true}, {true, false, true}, {true, true, false},
	}
	for i, s := range steps {
		var err error
		if !s.ok {
			err = errors.New("refused")
		}
		if f := tl.add(s.ok, chk, err); f != s.flipped || tl.failed != s.failed {
			t.Fatalf("step %d (ok=%v): flipped=%v failed=%v, want %v %v", i, s.ok, f, tl.failed, s.flipped, s.failed)
		}
	}
}

func TestEffective(t *testing.T) {
	cfg := mustParse(t, `
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: {type: http}
    sorryServer: {address: 10.0.0.200:80, forward: nat}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: 2}
  - protocol: tcp
    address: 10.0.0.8:443
    check: {type: tcp, onFailure: remove}
    realServers:
      - {address: 10.0.0.110:443, forward: nat}
      - {address: 10.0.0.120:443, forward: nat}
`)
	targets := checkTargets(cfg)
	if len(targets) != 4 {
		t.Fatalf("targets %v", targets)
	}
	k80, _ := cfg.Services[0].convert()
	k443, _ := cfg.Services[1].convert()
	rs := netip.MustParseAddrPort
	failed := map[target]bool{{k80.svc.Key(), rs("10.0.0.110:80")}: true, {k443.svc.Key(), rs("10.0.0.110:443")}: true}
	eff := effective(cfg, failed)
	// Quiesced: weight 0, still there; removed: gone; the rest as it was.
	if w := eff.Services[0].RealServers[0].Weight; w == nil || *w != 0 {
		t.Errorf("quiesced server weight = %v", w)
	}
	if w := eff.Services[0].RealServers[1].Weight; w == nil || *w != 2 {
		t.Errorf("healthy server changed: %v", w)
	}
	if len(eff.Services[1].RealServers) != 1 || eff.Services[1].RealServers[0].Address != rs("10.0.0.120:443") {
		t.Errorf("removed: %+v", eff.Services[1].RealServers)
	}
	if cfg.Services[0].RealServers[0].Weight != nil {
		t.Error("effective changed the configuration it was given")
	}
	// One failure: the plan from the effective config is one operation.
	cur := current{table: kernelOf(t, cfg), sysctls: map[sysctl.Key]string{sysctl.IPv4Forward: "1"}}
	p := planFor(t, effective(cfg, map[target]bool{{k80.svc.Key(), rs("10.0.0.120:80")}: true}), cur, false)
	if p.Len() != 1 || p.Ops[0].Kind != UpdateDestination || p.Ops[0].Destination.Weight != 0 {
		t.Errorf("plan for one failure:\n%s", p)
	}
	// Nobody healthy: the sorry server joins.
	all := map[target]bool{{k80.svc.Key(), rs("10.0.0.110:80")}: true, {k80.svc.Key(), rs("10.0.0.120:80")}: true}
	if rss := effective(cfg, all).Services[0].RealServers; len(rss) != 3 || rss[2].Address != rs("10.0.0.200:80") {
		t.Errorf("with every server failed: %+v", rss)
	}
}
