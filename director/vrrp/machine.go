package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is an instance's VRRP state.
type State uint8

// The states. An instance starts in Initialize, goes to Backup (or Master
// at once if it is the address owner), and ends in Stopped.
const (
	Initialize State = iota
	Backup
	Master
	Fault
	Stopped
)

var stateNames = [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOP"}

// String returns keepalived's spelling (INIT, BACKUP, MASTER, FAULT,
// STOP).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("unknown(%d)", uint8(s))
}

// actionKind is what the machine asks its runner to do.
type actionKind uint8

const (
	actSend     actionKind = iota + 1 // send an advert with prio
	actAddVIPs                        // add the virtual addresses
	actDelVIPs                        // remove them
	actAnnounce                       // send count GARPs / NAs per VIP
	actState                          // the state changed (to state)
)

type action struct {
	kind  actionKind
	prio  uint8
	count int
	state State
}

// machine is an instance's protocol logic, pure: every method takes the
// time and returns what to do, and next says when it wants to run again.
// It follows keepalived's vrrp.c and vrrp_scheduler.c.
type machine struct {
	cfg   Config
	state State
	// prio is the effective priority (the configured one unless lowered).
	prio uint8
	// masterInt is Master_Adver_Interval: v3 learns it from the master.
	masterInt time.Duration
	// downAt is when a backup becomes master; advertAt a master's next
	// advert; refreshAt its next GARP refresh; bursts its delayed GARP
	// bursts.
	downAt, advertAt, refreshAt time.Time
	bursts                      []burst
	// preemptAt is when preempt_delay ends; zero is not running (it
	// starts at the first lower-priority advert heard in Backup).
	preemptAt time.Time
	// master is the current master's address as last seen (backup).
	master netip.Addr
	// src is this instance's own advert source, for tie breaks.
	src netip.Addr
	// fault is the instance's own fault (SetFault); groupFault a fault
	// its sync group forced, which ends when the group leaves Fault.
	fault, groupFault bool
}

func newMachine(cfg Config, src netip.Addr) *machine {
	cfg = cfg.withDefaults()
	return &machine{cfg: cfg, prio: cfg.Priority, masterInt: cfg.Interval, src: src}
}

// skew is Skew_Time as keepalived computes it: (256-priority)/256 of a
// second for v2, of Master_Adver_Interval for v3. The address owner uses
// its base priority.
func (m *machine) skew() time.Duration {
	p := m.prio
	if m.cfg.Priority == PriorityOwner {
		p = PriorityOwner
	}
	if m.cfg.Version == V2 {
		return time.Duration(256-int(p)) * time.Second / 256
	}
	return time.Duration(256-int(p)) * m.masterInt / 256
}

// downInterval is Master_Down_Interval: three adverts and the skew.
func (m *machine) downInterval() time.Duration { return 3*m.masterInt + m.skew() }

// start begins in Backup (keepalived starts there even with state
// MASTER), or Master for the address owner.
func (m *machine) start(now time.Time) []action {
	if m.fault {
		return m.enter(now, Fault)
	}
	if m.prio == PriorityOwner {
		return m.becomeMaster(now)
	}
	return m.becomeBackup(now)
}

func (m *machine) enter(now time.Time, s State) []action {
	if m.state == s {
		return nil
	}
	m.state = s
	return []action{{kind: actState, state: s}}
}

func (m *machine) becomeBackup(now time.Time) []action {
	var acts []action
	if m.state == Master {
		acts = append(acts, action{kind: actDelVIPs})
	}
	m.clearTimers()
	m.downAt = now.Add(m.downInterval())
	// keepalived clears the preempt delay on every entry to BACKUP; the
	// first lower-priority advert heard there starts it.
	m.preemptAt = time.Time{}
	return append(acts, m.enter(now, Backup)...)
}

// becomeMaster sends an advert first (so the old master drops the
// addresses before the GARPs), adds the addresses and announces them, as
// keepalived's vrrp_state_master_tx and vrrp_state_become_master do.
func (m *machine) becomeMaster(now time.Time) []action {
	acts := []action{{kind: actSend, prio: m.prio}, {kind: actAddVIPs}}
	m.masterInt = m.cfg.Interval
	m.advertAt = now.Add(m.cfg.Interval)
	m.downAt = time.Time{}
	m.master = m.src
	g := m.cfg.GARP
	if !g.Off {
		acts = append(acts, action{kind: actAnnounce, count: g.Repeat})
		if g.Delay > 0 {
			m.bursts = append(m.bursts, burst{at: now.Add(g.Delay), count: g.Repeat})
		}
		if g.Refresh > 0 {
			m.refreshAt = now.Add(g.Delay + g.Refresh)
		}
	}
	return append(acts, m.enter(now, Master)...)
}

// next is when the machine wants tick called; zero is never.
func (m *machine) next() time.Time {
	var t time.Time
	cs := []time.Time{m.downAt, m.advertAt, m.refreshAt}
	for _, b := range m.bursts {
		cs = append(cs, b.at)
	}
	for _, c := range cs {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	return t
}

// tick runs the timers due at now.
func (m *machine) tick(now time.Time) []action {
	var acts []action
	switch m.state {
	case Backup:
		if !m.downAt.IsZero() && !now.Before(m.downAt) {
			acts = append(acts, m.becomeMaster(now)...)
		}
	case Master:
		if !m.advertAt.IsZero() && !now.Before(m.advertAt) {
			acts = append(acts, action{kind: actSend, prio: m.prio})
			m.advertAt = m.advertAt.Add(m.cfg.Interval)
			if m.advertAt.Before(now) {
				m.advertAt = now.Add(m.cfg.Interval)
			}
		}
		kept := m.bursts[:0]
		for _, b := range m.bursts {
			if now.Before(b.at) {
				kept = append(kept, b)
				continue
			}
			acts = append(acts, action{kind: actAnnounce, count: b.count})
		}
		m.bursts = kept
		if !m.refreshAt.IsZero() && !now.Before(m.refreshAt) {
			acts = append(acts, action{kind: actAnnounce, count: m.cfg.GARP.RefreshRepeat})
			m.refreshAt = now.Add(m.cfg.GARP.Refresh)
		}
	}
	return acts
}

// received is a decoded advert with what the socket saw.
type received struct {
	adv       *Advert
	src, dst  netip.Addr
	ttl       int // -1: unknown
	multicast bool
}

// check refuses an advert of this VRID that keepalived's
// vrrp_check_packet refuses; nil accepts it.
func (m *machine) check(r received) *PacketError {
	a, c := r.adv, &m.cfg
	if a.Version != c.Version {
		return &PacketError{Reason: ReasonVersion, Detail: fmt.Sprintf("%s, want %s", a.Version, c.Version)}
	}
	unicast := len(c.Peers) > 0
	if !unicast && r.ttl >= 0 && r.ttl != TTL {
		return &PacketError{Reason: ReasonTTL, Detail: fmt.Sprintf("TTL %d", r.ttl)}
	}
	if r.multicast == unicast {
		return &PacketError{Reason: ReasonAddrList, Detail: "unicast and multicast mixed"}
	}
	if c.Version == V2 {
		if a.AuthType != c.AuthType {
			return &PacketError{Reason: ReasonAuth, Detail: fmt.Sprintf("auth type %s, want %s", a.AuthType, c.AuthType)}
		}
		if c.AuthType == AuthPass && !passwordEqual(a.Password, c.password()) {
			return &PacketError{Reason: ReasonAuth, Detail: "wrong password"}
		}
		if a.Interval != c.Interval {
			return &PacketError{Reason: ReasonInterval, Detail: fmt.Sprintf("interval %s, want %s", a.Interval, c.Interval)}
		}
	}
	if len(a.Addrs) != len(c.VIPs) {
		return &PacketError{Reason: ReasonAddrList, Detail: fmt.Sprintf("%d addresses, want %d", len(a.Addrs), len(c.VIPs))}
	}
	for _, v := range c.VIPs {
		found := false
		for _, x := range a.Addrs {
			if x == v.Prefix.Addr() {
				found = true
				break
			}
		}
		if !found {
			return &PacketError{Reason: ReasonAddrList, Detail: fmt.Sprintf("%s missing", v.Prefix.Addr())}
		}
	}
	if unicast {
		ok := false
		for _, p := range c.Peers {
			if p == r.src {
				ok = true
				break
			}
		}
		if !ok {
			return &PacketError{Reason: ReasonPeer, Detail: r.src.String()}
		}
	}
	return nil
}

// advert handles an advert of this VRID that check accepted.
func (m *machine) advert(now time.Time, r received) []action {
	a := r.adv
	switch m.state {
	case Backup:
		if a.Priority == 0 {
			// The master stopped: take over after the skew alone.
			m.downAt = now.Add(m.skew())
			return nil
		}
		if m.cfg.NoPreempt || a.Priority >= m.prio ||
			(m.cfg.PreemptDelay > 0 && (m.preemptAt.IsZero() || m.preemptAt.After(now))) {
			// Accepted, also from a lower priority while nopreempt or
			// preempt_delay holds this instance back.
			if m.cfg.Version == V3 {
				m.masterInt = a.Interval
			}
			m.downAt = now.Add(m.downInterval())
			m.master = r.src
			if m.cfg.PreemptDelay > 0 {
				if a.Priority >= m.prio {
					m.preemptAt = time.Time{}
				} else if m.preemptAt.IsZero() {
					m.preemptAt = now.Add(m.cfg.PreemptDelay)
				}
			}
		}
		// Otherwise a lower priority advert is discarded: the down timer
		// runs on and this instance preempts when it fires.
		return nil
	case Master:
		higher := a.Priority > m.prio || (a.Priority == m.prio && addrGreater(r.src, m.src))
		if a.Priority == 0 {
			return []action{{kind: actSend, prio: m.prio}}
		}
		if !higher {
			// A lower priority master: advertise now to force a new
			// election (keepalived's default, lower_prio_no_advert off),
			// and refresh the neighbours the other master misled: a
			// burst now and one later (vrrp_garp_lower_prio_repeat and
			// _delay, which default to the master ones).
			acts := []action{{kind: actSend, prio: m.prio}}
			if g := m.cfg.GARP; !g.Off && g.LowerPrioRepeat > 0 {
				acts = append(acts, action{kind: actAnnounce, count: g.LowerPrioRepeat})
				if g.LowerPrioDelay > 0 {
					m.bursts = append(m.bursts, burst{at: now.Add(g.LowerPrioDelay), count: g.LowerPrioRepeat})
				}
			}
			return acts
		}
		if m.cfg.Version == V3 {
			m.masterInt = a.Interval
		}
		m.master = r.src
		acts := m.becomeBackup(now)
		return acts
	}
	return nil
}

// burst is a delayed GARP / NA burst.
type burst struct {
	at    time.Time
	count int
}

func (m *machine) clearTimers() {
	m.downAt, m.advertAt, m.refreshAt = time.Time{}, time.Time{}, time.Time{}
	m.bursts = nil
}

func addrGreater(a, b netip.Addr) bool { return a.Compare(b) > 0 }

// stop leaves the instance: a master sends priority 0 and drops the
// addresses.
func (m *machine) stop(now time.Time) []action {
	var acts []action
	if m.state == Master {
		acts = append(acts, action{kind: actSend, prio: 0}, action{kind: actDelVIPs})
	}
	m.clearTimers()
	return append(acts, m.enter(now, Stopped)...)
}

// setFault puts the instance in Fault (a master sends priority 0 and
// drops the addresses, as keepalived does) or takes it out to Backup.
func (m *machine) setFault(now time.Time, fault bool) []action {
	m.fault = fault
	if fault {
		return m.toFault(now)
	}
	if m.state != Fault || m.groupFault {
		return nil
	}
	m.masterInt = m.cfg.Interval
	return m.becomeBackup(now)
}

// toFault enters Fault: a master sends priority 0 and drops the
// addresses.
func (m *machine) toFault(now time.Time) []action {
	if m.state == Fault || m.state == Stopped || m.state == Initialize {
		return nil
	}
	var acts []action
	if m.state == Master {
		acts = append(acts, action{kind: actSend, prio: 0}, action{kind: actDelVIPs})
	}
	m.clearTimers()
	return append(acts, m.enter(now, Fault)...)
}

// setPriority changes the effective priority (tracking); 0 restores
// the configured one.
func (m *machine) setPriority(now time.Time, p uint8) []action {
	if p == 0 {
		p = m.cfg.Priority
	}
	m.prio = p
	if m.state == Master {
		// Let the peers see the new priority at once.
		return []action{{kind: actSend, prio: p}}
	}
	return nil
}

// force moves the instance to Master or Backup because its sync group
// did.
//
// A fault it forces lasts until the group leaves Fault (a member's own
// fault ended): the instance then goes to Backup, unless it has a fault
// of its own.
func (m *machine) force(now time.Time, s State) []action {
	if s != Fault && m.groupFault {
		m.groupFault = false
		if !m.fault && m.state == Fault {
			m.masterInt = m.cfg.Interval
			acts := m.becomeBackup(now)
			if s == Master {
				acts = append(acts, m.becomeMaster(now)...)
			}
			return acts
		}
	}
	if m.fault || m.state == s || m.state == Stopped || m.state == Initialize {
		return nil
	}
	switch s {
	case Master:
		return m.becomeMaster(now)
	case Backup:
		return m.becomeBackup(now)
	case Fault:
		m.groupFault = true
		return m.toFault(now)
	}
	return nil
}
