package director

import (
	"fmt"

	"github.com/lvs-go/lvs/ipvs"
)

// QuorumEvent is a service going below its quorum (down) or back up.
type QuorumEvent struct {
	Service string // the service's key, as ipvsadm prints it
	Up      bool
	// InService is how many of its real servers are in service; Quorum is
	// the service's.
	InService, Quorum int
}

func (e QuorumEvent) String() string {
	if e.Up {
		return fmt.Sprintf("%s: quorum up, %d real servers in service (quorum %d)", e.Service, e.InService, e.Quorum)
	}
	return fmt.Sprintf("%s: below quorum, %d real servers in service (quorum %d)", e.Service, e.InService, e.Quorum)
}

// verdicts are what takes real servers out of service besides the
// configuration: failed health checks and services below their quorum
// (Run's), and real servers disabled by hand (the state's).
type verdicts struct {
	failed   map[target]bool
	disabled map[target]bool
	below    map[ipvs.Key]bool
}

// inService counts s's real servers that take new connections: configured
// with a weight, enabled, and healthy where s has a check.
func (s *service) inService(failed, disabled map[target]bool) int {
	k := s.svc.Key()
	n := 0
	for i, d := range s.dests {
		tg := target{k, d.Addr}
		if d.Weight > 0 && !disabled[tg] && (!s.checkedAt(i) || !failed[tg]) {
			n++
		}
	}
	return n
}

// quorumChange is a change of a service's quorum.
type quorumChange struct {
	s *service
	e QuorumEvent
}

// judgeQuorum updates v.below for the services keyed in keys (every
// service of m if keys is nil) that have a quorum, and returns each
// change: down below the quorum, up again at quorum plus hysteresis.
func (m *model) judgeQuorum(keys map[ipvs.Key]bool, v verdicts) []quorumChange {
	var out []quorumChange
	judge := func(s *service) {
		if s == nil || s.quorum == 0 {
			return
		}
		k := s.svc.Key()
		n := s.inService(v.failed, v.disabled)
		switch {
		case !v.below[k] && n < s.quorum:
			v.below[k] = true
		case v.below[k] && n >= s.quorum+s.hysteresis:
			delete(v.below, k)
		default:
			return
		}
		out = append(out, quorumChange{s, QuorumEvent{Service: k.String(), Up: !v.below[k], InService: n, Quorum: s.quorum}})
	}
	if keys == nil {
		for _, s := range m.services {
			judge(s)
		}
		return out
	}
	for k := range keys {
		judge(m.service(k))
	}
	return out
}
