package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// sim runs machines on a virtual clock and a lossless network with 1ms
// latency: pure, milliseconds per test.
type sim struct {
	t     *testing.T
	now   time.Time
	nodes []*simNode
	queue []simPacket
	// groups are sync groups: indexes of nodes that change state together.
	groups [][]int
}

type simNode struct {
	m       *machine
	alive   bool
	started bool
	holds   bool
	states  []simEvent
	sent    []simEvent // adverts sent, with prio in state field's place
	garps   []simEvent
}

type simEvent struct {
	at    time.Time
	state State
	prio  uint8
	count int
}

type simPacket struct {
	at   time.Time
	from int
	adv  Advert
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newSim(t *testing.T, cfgs ...Config) *sim {
	s := &sim{t: t, now: t0}
	for i, c := range cfgs {
		src := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		if c.Is6() {
			src = netip.MustParseAddr("fe80::" + string(rune('1'+i)))
		}
		s.nodes = append(s.nodes, &simNode{m: newMachine(c, src)})
	}
	return s
}

func (s *sim) start(i int) {
	n := s.nodes[i]
	n.alive, n.started = true, true
	s.do(i, n.m.start(s.now))
}

func (s *sim) do(i int, acts []action) {
	n := s.nodes[i]
	for _, a := range acts {
		switch a.kind {
		case actSend:
			adv := Advert{Version: n.m.cfg.Version, VRID: n.m.cfg.VRID, Priority: a.prio, Interval: n.m.cfg.Interval, AuthType: n.m.cfg.AuthType, Password: n.m.cfg.password()}
			for _, v := range n.m.cfg.VIPs {
				adv.Addrs = append(adv.Addrs, v.Prefix.Addr())
			}
			n.sent = append(n.sent, simEvent{at: s.now, prio: a.prio})
			s.queue = append(s.queue, simPacket{at: s.now.Add(time.Millisecond), from: i, adv: adv})
		case actAddVIPs:
			n.holds = true
		case actDelVIPs:
			n.holds = false
		case actAnnounce:
			n.garps = append(n.garps, simEvent{at: s.now, count: a.count})
		case actState:
			n.states = append(n.states, simEvent{at: s.now, state: a.state})
			for _, g := range s.groups {
				if !contains(g, i) {
					continue
				}
				for _, j := range g {
					if j != i && s.nodes[j].alive {
						s.do(j, s.nodes[j].m.force(s.now, a.state))
					}
				}
			}
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// run advances the clock by d, delivering packets and firing timers in
// order.
func (s *sim) run(d time.Duration) {
	end := s.now.Add(d)
	for {
		next, who := end, -1
		for i, n := range s.nodes {
			if !n.alive {
				continue
			}
			if t := n.m.next(); !t.IsZero() && t.Before(next) {
				next, who = t, i
			}
		}
		pkt := -1
		for k, p := range s.queue {
			if !p.at.After(next) {
				next, pkt, who = p.at, k, -1
			}
		}
		if pkt < 0 && who < 0 {
			s.now = end
			return
		}
		if next.After(s.now) {
			// (a revived node's overdue timers fire now)
			s.now = next
		}
		if pkt >= 0 {
			p := s.queue[pkt]
			s.queue = append(s.queue[:pkt], s.queue[pkt+1:]...)
			for j, n := range s.nodes {
				if j == p.from || !n.alive || n.m.cfg.VRID != p.adv.VRID {
					continue
				}
				r := received{adv: &p.adv, src: s.nodes[p.from].m.src, ttl: TTL, multicast: len(n.m.cfg.Peers) == 0}
				if err := n.m.check(r); err != nil {
					continue
				}
				s.do(j, n.m.advert(s.now, r))
			}
			continue
		}
		s.do(who, s.nodes[who].m.tick(s.now))
	}
}

// kill stops a node without a word, as SIGKILL does.
func (s *sim) kill(i int) { s.nodes[i].alive = false }

func (s *sim) stop(i int) {
	s.do(i, s.nodes[i].m.stop(s.now))
	s.nodes[i].alive = false
}

// holders counts the nodes holding the VIPs.
func (s *sim) holders() (n int) {
	for _, x := range s.nodes {
		if x.alive && x.holds {
			n++
		}
	}
	return n
}

func (s *sim) becameMaster(i int) time.Time {
	var at time.Time
	for _, e := range s.nodes[i].states {
		if e.state == Master {
			at = e.at
		}
	}
	return at
}

func pair(prio1, prio2 uint8, ver Version, interval time.Duration) (Config, Config) {
	c := Config{Name: "VI_1", Interface: "eth0", VRID: 51, Version: ver, Interval: interval,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	a, b := c, c
	a.Priority, b.Priority = prio1, prio2
	return a, b
}

func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s after %s, want %s-%s", what, got, lo, hi)
	}
}

func TestElection(t *testing.T) {
	for _, ver := range []Version{V2, V3} {
		t.Run(ver.String(), func(t *testing.T) {
			a, b := pair(150, 100, ver, time.Second)
			s := newSim(t, a, b)
			s.start(0)
			s.start(1)
			s.run(10 * time.Second)
			if s.nodes[0].m.state != Master || s.nodes[1].m.state != Backup {
				t.Fatalf("states %s %s, want MASTER BACKUP", s.nodes[0].m.state, s.nodes[1].m.state)
			}
			if s.holders() != 1 || !s.nodes[0].holds {
				t.Errorf("%d holders, want node 0 alone", s.holders())
			}
			// keepalived: 3 adverts + skew (106/256 s at priority 150).
			want := 3*time.Second + 106*time.Second/256
			within(t, "master", s.becameMaster(0).Sub(t0), want, want+time.Millisecond)
			if got := s.nodes[0].garps; len(got) != 2 || got[0].count != 5 || got[1].at.Sub(got[0].at) != 5*time.Second {
				t.Errorf("GARPs %+v, want 5 then 5 five seconds later", got)
			}
			if s.nodes[0].sent[0].at != s.becameMaster(0) {
				t.Errorf("first advert at %s, want on becoming master", s.nodes[0].sent[0].at.Sub(t0))
			}
		})
	}
}

func TestFailoverOnKill(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	s := newSim(t, a, b)
	s.start(0)
	s.start(1)
	s.run(10 * time.Second)
	last := s.nodes[0].sent[len(s.nodes[0].sent)-1].at
	s.kill(0)
	s.run(10 * time.Second)
	if s.nodes[1].m.state != Master {
		t.Fatalf("backup is %s, want MASTER", s.nodes[1].m.state)
	}
	// Master_Down_Interval = 3 s + 156/256 s from the last advert heard.
	mdi := 3*time.Second + 156*time.Second/256
	within(t, "takeover", s.becameMaster(1).Sub(last), mdi, mdi+2*time.Millisecond)
}

func TestCleanStop(t *testing.T) {
	for _, ver := range []Version{V2, V3} {
		t.Run(ver.String(), func(t *testing.T) {
			a, b := pair(150, 100, ver, time.Second)
			s := newSim(t, a, b)
			s.start(0)
			s.start(1)
			s.run(10 * time.Second)
			stopped := s.now
			s.stop(0)
			if last := s.nodes[0].sent[len(s.nodes[0].sent)-1]; last.prio != 0 || last.at != stopped {
				t.Errorf("last advert %+v, want priority 0 at stop", last)
			}
			if s.nodes[0].holds {
				t.Error("stopped master still holds the VIP")
			}
			s.run(5 * time.Second)
			// Skew alone: 156/256 s.
			within(t, "takeover", s.becameMaster(1).Sub(stopped), 156*time.Second/256, 156*time.Second/256+2*time.Millisecond)
		})
	}
}

func TestPreempt(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	s := newSim(t, a, b)
	s.start(1)
	s.run(10 * time.Second)
	if s.nodes[1].m.state != Master {
		t.Fatalf("lone node is %s", s.nodes[1].m.state)
	}
	joined := s.now
	s.start(0)
	s.run(10 * time.Second)
	if s.nodes[0].m.state != Master || s.nodes[1].m.state != Backup || s.holders() != 1 {
		t.Fatalf("states %s %s, holders %d", s.nodes[0].m.state, s.nodes[1].m.state, s.holders())
	}
	// It ignores the lower adverts and preempts after its down interval.
	want := 3*time.Second + 106*time.Second/256
	within(t, "preempt", s.becameMaster(0).Sub(joined), want, want+time.Millisecond)
}

func TestNoPreempt(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	a.NoPreempt = true
	s := newSim(t, a, b)
	s.start(1)
	s.run(10 * time.Second)
	s.start(0)
	s.run(30 * time.Second)
	if s.nodes[0].m.state != Backup || s.nodes[1].m.state != Master {
		t.Fatalf("states %s %s, want BACKUP MASTER (nopreempt)", s.nodes[0].m.state, s.nodes[1].m.state)
	}
	s.kill(1)
	s.run(10 * time.Second)
	if s.nodes[0].m.state != Master {
		t.Errorf("nopreempt backup is %s after the master died", s.nodes[0].m.state)
	}
}

func TestPreemptDelay(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	a.PreemptDelay = 10 * time.Second
	s := newSim(t, a, b)
	s.start(1)
	s.run(10 * time.Second)
	joined := s.now
	s.start(0)
	s.run(30 * time.Second)
	if s.nodes[0].m.state != Master {
		t.Fatalf("state %s, want MASTER after the preempt delay", s.nodes[0].m.state)
	}
	mdi := 3*time.Second + 106*time.Second/256
	within(t, "preempt", s.becameMaster(0).Sub(joined), 10*time.Second, 10*time.Second+mdi+time.Millisecond)
}

// TestPreemptDelayAfterFault: keepalived clears the preempt delay on
// every entry to BACKUP and starts it at the first lower-priority advert
// heard there (vrrp.c), so a node whose fault ends (its link back) waits
// the delay again, not Master_Down_Interval alone.
func TestPreemptDelayAfterFault(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	a.PreemptDelay = 10 * time.Second
	s := newSim(t, a, b)
	s.start(0)
	s.start(1)
	s.run(30 * time.Second)
	if s.nodes[0].m.state != Master {
		t.Fatalf("node 0 is %s, want MASTER", s.nodes[0].m.state)
	}
	s.do(0, s.nodes[0].m.setFault(s.now, true))
	s.run(20 * time.Second)
	back := s.now
	s.do(0, s.nodes[0].m.setFault(s.now, false))
	s.run(30 * time.Second)
	if s.nodes[0].m.state != Master || s.holders() != 1 {
		t.Fatalf("after the fault: node 0 %s, %d holders", s.nodes[0].m.state, s.holders())
	}
	// The first advert comes within a second; adverts are accepted
	// until the delay ends; the down interval runs from the last one.
	mdi := 3*time.Second + 106*time.Second/256
	within(t, "preempt after the fault", s.becameMaster(0).Sub(back), 9*time.Second+mdi, 11*time.Second+mdi)
}

func TestV3LearnsMasterInterval(t *testing.T) {
	a, b := pair(150, 100, V3, 100*time.Millisecond)
	b.Interval = time.Second
	s := newSim(t, a, b)
	s.start(0)
	s.run(5 * time.Second)
	s.start(1)
	s.run(2 * time.Second)
	if got := s.nodes[1].m.masterInt; got != 100*time.Millisecond {
		t.Fatalf("Master_Adver_Interval %s, want 100ms", got)
	}
	last := s.nodes[0].sent[len(s.nodes[0].sent)-1].at
	s.kill(0)
	s.run(5 * time.Second)
	// 3 x 100ms + 156/256 x 100ms.
	mdi := 300*time.Millisecond + 156*100*time.Millisecond/256
	within(t, "takeover", s.becameMaster(1).Sub(last), mdi, mdi+2*time.Millisecond)
}

func TestOwnerStartsMaster(t *testing.T) {
	a, b := pair(255, 100, V2, time.Second)
	s := newSim(t, a, b)
	s.start(0)
	s.start(1)
	s.run(5 * time.Second)
	if got := s.becameMaster(0); got != t0 {
		t.Errorf("owner master at %s, want at once", got.Sub(t0))
	}
	if s.holders() != 1 {
		t.Errorf("%d holders", s.holders())
	}
}

func TestSplitBrainHeals(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	s := newSim(t, a, b)
	// Started apart: both master.
	s.start(0)
	s.run(5 * time.Second)
	s.nodes[0].alive = false
	s.start(1)
	s.run(5 * time.Second)
	s.nodes[0].alive = true
	if s.holders() != 2 {
		t.Fatalf("%d holders, want the split brain first", s.holders())
	}
	s.run(3 * time.Second)
	if s.holders() != 1 || s.nodes[0].m.state != Master {
		t.Errorf("%d holders, node 0 %s, want one master", s.holders(), s.nodes[0].m.state)
	}
}

// TestLowerPriorityGARP: a master that hears a lower priority advertises
// at once and refreshes the neighbours as keepalived does: 5 GARPs now
// and 5 more 5 s later.
func TestLowerPriorityGARP(t *testing.T) {
	a, _ := pair(150, 100, V2, time.Second)
	m := newMachine(a, netip.MustParseAddr("10.0.0.1"))
	m.start(t0)
	now := t0.Add(4 * time.Second)
	m.tick(now)
	if m.state != Master {
		t.Fatalf("state %s", m.state)
	}
	now = now.Add(6 * time.Second) // past the master's own second burst
	m.tick(now)
	adv := Advert{Version: V2, VRID: 51, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{vip4}}
	acts := m.advert(now, received{adv: &adv, src: netip.MustParseAddr("10.0.0.2"), ttl: TTL, multicast: true})
	if len(acts) != 2 || acts[0].kind != actSend || acts[0].prio != 150 || acts[1].kind != actAnnounce || acts[1].count != 5 {
		t.Fatalf("actions %+v, want an advert and 5 GARPs", acts)
	}
	if next := m.next(); next.Sub(now) > time.Second {
		t.Fatalf("next %s", next.Sub(now))
	}
	var later []action
	for at := now; !at.After(now.Add(5 * time.Second)); at = at.Add(100 * time.Millisecond) {
		for _, a := range m.tick(at) {
			if a.kind == actAnnounce {
				later = append(later, a)
				if d := at.Sub(now); d < 5*time.Second {
					t.Errorf("second burst after %s", d)
				}
			}
		}
	}
	if len(later) != 1 || later[0].count != 5 {
		t.Errorf("later bursts %+v, want one of 5", later)
	}
}

func TestSyncGroup(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	c, d := pair(150, 100, V2, time.Second)
	c.VRID, d.VRID = 52, 52
	// Node 0 and 2 are one director, 1 and 3 the other.
	s := newSim(t, a, b, c, d)
	s.groups = [][]int{{0, 2}, {1, 3}}
	for i := range s.nodes {
		s.start(i)
	}
	s.run(10 * time.Second)
	s.do(0, s.nodes[0].m.setFault(s.now, true))
	s.run(10 * time.Second)
	want := []State{Fault, Master, Fault, Master}
	for i, n := range s.nodes {
		if n.m.state != want[i] {
			t.Errorf("node %d %s, want %s", i, n.m.state, want[i])
		}
	}
	// The fault ends: the member the group forced into Fault leaves it
	// too, and both preempt again.
	s.do(0, s.nodes[0].m.setFault(s.now, false))
	s.run(10 * time.Second)
	want = []State{Master, Backup, Master, Backup}
	for i, n := range s.nodes {
		if n.m.state != want[i] {
			t.Errorf("after the fault: node %d %s, want %s", i, n.m.state, want[i])
		}
	}
}

func TestFaultSendsPriorityZero(t *testing.T) {
	a, b := pair(150, 100, V2, time.Second)
	s := newSim(t, a, b)
	s.start(0)
	s.start(1)
	s.run(10 * time.Second)
	at := s.now
	s.do(0, s.nodes[0].m.setFault(s.now, true))
	if last := s.nodes[0].sent[len(s.nodes[0].sent)-1]; last.prio != 0 {
		t.Errorf("advert on fault has priority %d, want 0", last.prio)
	}
	s.run(5 * time.Second)
	within(t, "takeover", s.becameMaster(1).Sub(at), 0, time.Second)
	s.do(0, s.nodes[0].m.setFault(s.now, false))
	s.run(10 * time.Second)
	if s.nodes[0].m.state != Master || s.holders() != 1 {
		t.Errorf("after the fault cleared: %s, %d holders", s.nodes[0].m.state, s.holders())
	}
}

func TestCheck(t *testing.T) {
	cfg, _ := pair(100, 100, V2, time.Second)
	cfg.AuthType, cfg.Password = AuthPass, "secret"
	m := newMachine(cfg, netip.MustParseAddr("10.0.0.1"))
	good := Advert{Version: V2, VRID: 51, Priority: 150, Interval: time.Second, AuthType: AuthPass, Password: cfg.password(),
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	src := netip.MustParseAddr("10.0.0.2")
	if err := m.check(received{adv: &good, src: src, ttl: 255, multicast: true}); err != nil {
		t.Fatalf("good advert refused: %v", err)
	}
	bad := func(f func(*Advert, *received)) received {
		a := good
		r := received{adv: &a, src: src, ttl: 255, multicast: true}
		f(&a, &r)
		return r
	}
	for _, tc := range []struct {
		name string
		r    received
		want Reason
	}{
		{"ttl", bad(func(a *Advert, r *received) { r.ttl = 64 }), ReasonTTL},
		{"version", bad(func(a *Advert, r *received) { a.Version = V3 }), ReasonVersion},
		{"auth type", bad(func(a *Advert, r *received) { a.AuthType = AuthNone }), ReasonAuth},
		{"password", bad(func(a *Advert, r *received) { a.Password[0] = 'S' }), ReasonAuth},
		{"interval", bad(func(a *Advert, r *received) { a.Interval = 2 * time.Second }), ReasonInterval},
		{"count", bad(func(a *Advert, r *received) { a.Addrs = nil }), ReasonAddrList},
		{"address", bad(func(a *Advert, r *received) { a.Addrs = []netip.Addr{netip.MustParseAddr("10.0.0.101")} }), ReasonAddrList},
		{"unicast", bad(func(a *Advert, r *received) { r.multicast = false }), ReasonAddrList},
	} {
		err := m.check(tc.r)
		var pe *PacketError
		if !errors.As(error(err), &pe) || pe.Reason != tc.want {
			t.Errorf("%s: %v, want reason %s", tc.name, err, tc.want)
		}
	}
	cfg.Peers = []netip.Addr{netip.MustParseAddr("10.0.0.3")}
	m = newMachine(cfg, netip.MustParseAddr("10.0.0.1"))
	if err := m.check(received{adv: &good, src: src, ttl: 64}); err == nil || err.Reason != ReasonPeer {
		t.Errorf("unicast from a stranger: %v, want reason peer", err)
	}
	if err := m.check(received{adv: &good, src: netip.MustParseAddr("10.0.0.3"), ttl: 64}); err != nil {
		t.Errorf("unicast from the peer (any TTL, as keepalived): %v", err)
	}
}
