package director

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// target is one real server of one service, as health checks see it.
type target struct {
	svc  ipvs.Key
	addr netip.AddrPort
}

// effective returns the configuration with failed real servers quiesced
// (weight 0) or removed as their service's check says, and the sorry
// server put in where no real server is healthy. Only the affected real
// servers differ from cfg, so a plan from it touches only those.
func effective(cfg *Config, failed map[target]bool) *Config {
	out := *cfg
	out.Services = make([]VirtualService, len(cfg.Services))
	for i, vs := range cfg.Services {
		out.Services[i] = vs
		if vs.Check == nil {
			continue
		}
		d, err := vs.convert()
		if err != nil {
			continue
		}
		chk, _ := vs.Check.withDefaults()
		var rss []RealServer
		healthy := 0
		for _, rs := range vs.RealServers {
			if !failed[target{d.svc.Key(), rs.Address}] {
				healthy++
				rss = append(rss, rs)
				continue
			}
			if chk.OnFailure == "quiesce" {
				zero := 0
				rs.Weight = &zero
				rss = append(rss, rs)
			}
		}
		if healthy == 0 && vs.SorryServer != nil {
			rss = append(rss, *vs.SorryServer)
		}
		out.Services[i].RealServers = rss
	}
	return &out
}

// checkTargets lists what to check: every real server of every service
// that has a check, with the check's defaults filled in.
func checkTargets(cfg *Config) map[target]Check {
	out := map[target]Check{}
	for _, vs := range cfg.Services {
		if vs.Check == nil {
			continue
		}
		d, err := vs.convert()
		if err != nil {
			continue
		}
		chk, err := vs.Check.withDefaults()
		if err != nil {
			continue
		}
		for _, rs := range vs.RealServers {
			out[target{d.svc.Key(), rs.Address}] = chk
		}
	}
	return out
}

// tally applies one check result to a server's run of results and reports
// whether its health flipped: Fall failures in a row fail a healthy server,
// Rise successes in a row restore a failed one.
type tally struct {
	failed    bool
	run       int // consecutive results against the current state
	lastError error
}

func (t *tally) add(ok bool, chk Check, err error) (flipped bool) {
	t.lastError = err
	if ok != t.failed { // agrees with the current state
		t.run = 0
		return false
	}
	t.run++
	need := chk.Fall
	if t.failed {
		need = chk.Rise
	}
	if t.run >= need {
		t.failed, t.run = !t.failed, 0
		return true
	}
	return false
}

// Event is a real server's health changing.
type Event struct {
	Service    string // the service's key, as ipvsadm prints it
	RealServer netip.AddrPort
	Healthy    bool
	Err        error // the last check's error when it failed
}

func (e Event) String() string {
	if e.Healthy {
		return fmt.Sprintf("%s: %v is healthy", e.Service, e.RealServer)
	}
	return fmt.Sprintf("%s: %v failed: %v", e.Service, e.RealServer, e.Err)
}

// Report is what Run tells its caller: a health change, an applied plan,
// a drained server collected, or an error (Run goes on after errors).
type Report struct {
	Time      time.Time
	Health    *Event
	Plan      *Plan
	Collected int
	Err       error
}
