package director

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// Status is what a Director has done and what its health checks found, as
// Director.Status returns it: a copy, for metrics and status pages.
type Status struct {
	// Applies counts the calls of Apply, Run's and Teardown's included
	// (Run applies only plans that change something).
	Applies uint64
	// Ops counts the operations applied, by kind, and Failed those that
	// failed; Collect's deletions of drained real servers count too. Both
	// have an entry for every kind.
	Ops, Failed map[OpKind]uint64
	// Errors counts Run's steps that ended in an error, each a Report with
	// Err set: a read of the kernel, an apply with failed operations, a
	// collection, a configuration rejected on reload.
	Errors uint64
	// LastApply is when the last Apply ended and LastApplyDuration how long
	// it took; zero before the first.
	LastApply         time.Time
	LastApplyDuration time.Duration
	// LastResync is when Run last read the whole IPVS table and made the
	// kernel match without an error (at start, every Options.Resync, and
	// after a change whose outcome it did not know); zero before.
	LastResync time.Time
	// Drift counts the operations Run's periodic resyncs planned: changes
	// someone else made, repaired (Report.Resync).
	Drift uint64
	// RealServers is the health of each real server Run checks, while Run
	// runs, ordered by service and address; empty when no Run is running.
	RealServers []RealServerHealth
	// Announced are the prefixes Options.Announcer announces.
	Announced []netip.Prefix
	// BelowQuorum are the services below their quorum (see
	// VirtualService.Quorum), while Run runs.
	BelowQuorum []ipvs.Key
	// Disabled are the real servers taken out of service by hand
	// (Disable), in the order they were disabled.
	Disabled []Maintenance
	// Owned is what the Director owns (see the package documentation), as
	// of its last change.
	Owned Owned
	// VRRP are the configuration's VRRP instances while Run runs them, in
	// the configuration's order (sync groups' members together); empty
	// when no Run is running.
	VRRP []VRRPInstanceStatus
	// OverdueChecks counts the health checks that waited for a free
	// checker (Options.MaxChecks) longer than their interval: too many
	// checks, or too slow ones, for the limit.
	OverdueChecks uint64
}

// Owned is what a Director owns: what Teardown removes or puts back.
type Owned struct {
	Services []ipvs.Key `json:"services,omitempty"`
	VIPs     []VIP      `json:"vips,omitempty"`
	Dummies  []string   `json:"dummies,omitempty"`
	// Sysctls are the sysctls it changed, with the values they had before.
	Sysctls []sysctl.Setting `json:"sysctls,omitempty"`
	// Draining are the real servers being drained (Options.Drain), each
	// deleted by Collect when idle or at its deadline.
	Draining []DrainingServer `json:"draining,omitempty"`
	// Marks and SNAT say whether it has firewall-mark or source-NAT rules,
	// Sync whether it started the sync daemons.
	Marks bool `json:"marks,omitempty"`
	SNAT  bool `json:"snat,omitempty"`
	Sync  bool `json:"sync,omitempty"`
}

// DrainingServer is a real server being drained.
type DrainingServer struct {
	Service  ipvs.Key       `json:"service"`
	Addr     netip.AddrPort `json:"realServer"`
	Deadline time.Time      `json:"deadline"`
}

// RealServerHealth is the health of one real server of one service.
type RealServerHealth struct {
	Service ipvs.Key
	Addr    netip.AddrPort
	// Healthy is the verdict Run acts on. A real server starts healthy: Run
	// puts it in service before its first check.
	Healthy bool
	// Since is when Healthy last changed, or when Run started checking the
	// real server.
	Since time.Time
}

// VRRPInstanceStatus is a VRRP instance as Run runs it.
type VRRPInstanceStatus struct {
	Name      string
	Group     string // its sync group, if any
	Interface string
	VRID      uint8
	// State is its state, and Since when it entered it (or when Run
	// started it).
	State vrrp.State
	Since time.Time
	// Priority is the configured priority; EffectivePriority the one it
	// advertises, as its track items' weights make it.
	Priority, EffectivePriority uint8
	// Failing are its track items that fail, "interface eth1", "service
	// web", "check ping", and "withdrawn" while the Director is
	// (Withdraw); a failing item of weight 0 is why it is in FAULT.
	Failing []string
	// Err is why it does not run, if so: its socket could not be opened,
	// or its receiving failed. Run tries again every second.
	Err error
	// Stats are its counters (adverts sent, received and refused by
	// reason, transitions, the last master change); a restart (Err)
	// starts them again.
	Stats vrrp.Stats
}

// statusBook is where a Director keeps its Status, under a lock of its own
// so that reading it never waits for an apply or a kernel call.
type statusBook struct {
	mu sync.Mutex
	s  Status // without RealServers, made from watched and health
	// watched are the checked real servers, in the order Status lists
	// them (the table the checks share, never changed), and health the
	// health of each.
	watched []targetRef
	health  []targetHealth
	// vrrp, while Run runs VRRP instances, reads them.
	vrrp func() []VRRPInstanceStatus
}

// targetHealth is a watched real server's health: 16 bytes, no key (the
// table of targets has it).
type targetHealth struct {
	since   int64 // when healthy last changed, Unix nanoseconds
	healthy bool
}

// copy returns a copy of the status, with an entry in Ops and Failed for
// every kind.
func (b *statusBook) copy() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	s.Ops, s.Failed = make(map[OpKind]uint64, len(opKinds)), make(map[OpKind]uint64, len(opKinds))
	for k := range opKinds {
		s.Ops[k], s.Failed[k] = b.s.Ops[k], b.s.Failed[k]
	}
	if len(b.watched) > 0 {
		s.RealServers = make([]RealServerHealth, len(b.watched))
		for i, r := range b.watched {
			h := b.health[i]
			s.RealServers[i] = RealServerHealth{Service: r.s.svc.Key(), Addr: r.addr(), Healthy: h.healthy, Since: time.Unix(0, h.since)}
		}
	}
	// Disabled and Owned are replaced whole, never changed in place.
	return s
}

// snapshot returns a copy of the status, with an entry in Ops and Failed
// for every kind, and the VRRP instances read (without b.mu held).
func (b *statusBook) snapshot() Status {
	s := b.copy()
	b.mu.Lock()
	f := b.vrrp
	b.mu.Unlock()
	if f != nil {
		s.VRRP = f()
	}
	return s
}

// vrrpFrom makes f what Status.VRRP reads (nil: none runs).
func (b *statusBook) vrrpFrom(f func() []VRRPInstanceStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.vrrp = f
}

// announced records what is announced.
func (b *statusBook) announced(ps []netip.Prefix) {
	c := slices.Clone(ps)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Announced = c
}

// quorum records the services below their quorum.
func (b *statusBook) quorum(below map[ipvs.Key]bool) {
	keys := slices.SortedFunc(maps.Keys(below), cmpKey)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.BelowQuorum = keys
}

// owns shows st, the Director's state, in the status: its disabled real
// servers and what it owns, copied.
func (b *statusBook) owns(st state) {
	o := Owned{Services: slices.Clone(st.Services), VIPs: slices.Clone(st.VIPs), Dummies: slices.Clone(st.Dummies),
		Sysctls: slices.Clone(st.Sysctls), Marks: st.Marks, SNAT: st.SNAT, Sync: st.Sync}
	for k, deadline := range st.Draining {
		svc, rs, ok := parseDrainKey(k)
		if ok {
			o.Draining = append(o.Draining, DrainingServer{svc, rs, deadline})
		}
	}
	slices.SortFunc(o.Draining, func(x, y DrainingServer) int { return cmp.Or(cmpKey(x.Service, y.Service), x.Addr.Compare(y.Addr)) })
	slices.SortFunc(o.Services, cmpKey)
	disabled := slices.Clone(st.Disabled)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Owned, b.s.Disabled = o, disabled
}

// applied records an Apply that started at start and has just ended.
func (b *statusBook) applied(start time.Time) {
	end := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Applies++
	b.s.LastApply, b.s.LastApplyDuration = end, end.Sub(start)
}

// errored records a step of Run that ended in an error.
func (b *statusBook) overdue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.OverdueChecks++
}

func (b *statusBook) errored() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Errors++
}

// resynced records a step of Run that read the whole table and applied its
// plan without an error (ok), and the operations a periodic resync planned
// (drift).
func (b *statusBook) resynced(ok bool, drift int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.s.LastResync = time.Now()
	}
	b.s.Drift += uint64(drift)
}

// watch makes the checked real servers targets, listed once each: one
// already watched keeps its health and time, a new one starts as failed
// says, from now. The status keeps targets (sorted, as checkTargets makes
// them, or a sorted copy is kept), which must not change. No targets (Run
// has ended) clears them.
func (b *statusBook) watch(targets []targetRef, failed map[target]bool) {
	byTarget := func(x, y targetRef) int { return cmpTarget(x.target(), y.target()) }
	if !slices.IsSortedFunc(targets, byTarget) {
		targets = slices.Clone(targets)
		slices.SortFunc(targets, byTarget)
	}
	now := time.Now().UnixNano()
	health := make([]targetHealth, len(targets))
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, r := range targets {
		tg := r.target()
		if j, ok := b.find(tg); ok {
			health[i] = b.health[j]
		} else {
			health[i] = targetHealth{since: now, healthy: !failed[tg]}
		}
	}
	if len(targets) == 0 {
		targets, health = nil, nil
	}
	b.watched, b.health = targets, health
}

// find is the index of tg in b.watched; b.mu held.
func (b *statusBook) find(tg target) (int, bool) {
	return slices.BinarySearchFunc(b.watched, tg, func(r targetRef, tg target) int { return cmpTarget(r.target(), tg) })
}

// flipped records a watched real server's health changing.
func (b *statusBook) flipped(tg target, healthy bool) {
	now := time.Now().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.find(tg); ok {
		b.health[i] = targetHealth{since: now, healthy: healthy}
	}
}

// cmpKey orders service keys: address services first, by family,
// protocol, address and port; then firewall-mark services by mark and
// family.
func cmpKey(a, b ipvs.Key) int {
	return cmp.Or(cmp.Compare(a.FirewallMark, b.FirewallMark), cmp.Compare(a.Family, b.Family),
		cmp.Compare(a.Protocol, b.Protocol), a.Addr.Compare(b.Addr))
}

// LastResync is Status().LastResync without a copy of the rest of the
// status (Status copies every checked real server's health): for a
// program that polls for the first complete table.
func (d *Director) LastResync() time.Time {
	d.status.mu.Lock()
	defer d.status.mu.Unlock()
	return d.status.s.LastResync
}

// OverdueChecks is Status().OverdueChecks without a copy of the rest of
// the status: for a program that watches it often.
func (d *Director) OverdueChecks() uint64 {
	d.status.mu.Lock()
	defer d.status.mu.Unlock()
	return d.status.s.OverdueChecks
}
