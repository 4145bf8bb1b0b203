package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// statusView is what `director status` shows: the services the director
// owns as the kernel has them, each real server with its health, whether
// it is disabled by hand or draining, and the director's counters.
type statusView struct {
	Config     string        `json:"config"`
	Applies    uint64        `json:"applies"`
	Errors     uint64        `json:"errors"`
	Drift      uint64        `json:"drift"`
	LastApply  time.Time     `json:"lastApply,omitzero"`
	LastResync time.Time     `json:"lastResync,omitzero"`
	Services   []serviceView `json:"services"`
	Owned      director.Owned
	// Announced are the prefixes announced to the routers, and Peers the
	// sessions with them (cluster.bgp).
	Announced []netip.Prefix `json:"announced,omitempty"`
	// Fingerprint digests the owned services as the kernel has them:
	// directors of one cluster show the same.
	Fingerprint string          `json:"fingerprint"`
	Peers       []director.Peer `json:"peers,omitempty"`
	BelowQuorum []ipvs.Key      `json:"belowQuorum,omitempty"`
	// Busy says what is left out because an apply is running (see
	// readStatusGated); empty when nothing is.
	Busy string `json:"busy,omitempty"`
	// VRRP are the VRRP instances (the vrrp section).
	VRRP []vrrpView `json:"vrrp,omitempty"`
}

// vrrpView is a VRRP instance: its state, priorities and counters.
type vrrpView struct {
	Name              string    `json:"name"`
	Group             string    `json:"group,omitempty"`
	Interface         string    `json:"interface"`
	VRID              uint8     `json:"vrid"`
	State             string    `json:"state"`
	Since             time.Time `json:"since,omitzero"`
	Priority          uint8     `json:"priority"`
	EffectivePriority uint8     `json:"effectivePriority"`
	// Master is the last master heard (this director's address when it
	// is master).
	Master netip.Addr `json:"master,omitzero"`
	// Failing are the track items that fail; Error why the instance does
	// not run, if so.
	Failing      []string          `json:"failing,omitempty"`
	Error        string            `json:"error,omitempty"`
	AdvertsSent  uint64            `json:"advertsSent"`
	AdvertsRecvd uint64            `json:"advertsReceived"`
	Invalid      map[string]uint64 `json:"invalid,omitempty"`
	Transitions  uint64            `json:"transitions"`
	// LastMasterChange is when the instance last became or stopped being
	// master.
	LastMasterChange time.Time `json:"lastMasterChange,omitzero"`
}

// vrrpViews are the instances of st.
func vrrpViews(st []director.VRRPInstanceStatus) []vrrpView {
	var out []vrrpView
	for _, in := range st {
		v := vrrpView{Name: in.Name, Group: in.Group, Interface: in.Interface, VRID: in.VRID, State: in.State.String(),
			Since: in.Since, Priority: in.Priority, EffectivePriority: in.EffectivePriority, Master: in.Stats.Master,
			Failing: in.Failing, AdvertsSent: in.Stats.AdvertsSent, AdvertsRecvd: in.Stats.AdvertsRecvd,
			Transitions: in.Stats.Transitions, LastMasterChange: in.Stats.LastMasterChange}
		if in.Err != nil {
			v.Error = in.Err.Error()
		}
		for r, n := range in.Stats.Invalid {
			if n > 0 {
				if v.Invalid == nil {
					v.Invalid = map[string]uint64{}
				}
				v.Invalid[r.String()] = n
			}
		}
		out = append(out, v)
	}
	return out
}

type serviceView struct {
	Service     ipvs.Key         `json:"service"`
	Scheduler   ipvs.Scheduler   `json:"scheduler"`
	RealServers []realServerView `json:"realServers"`
}

type realServerView struct {
	Addr          netip.AddrPort     `json:"realServer"`
	Forward       ipvs.ForwardMethod `json:"forward"`
	Weight        int                `json:"weight"`
	ActiveConns   uint32             `json:"activeConns"`
	InactiveConns uint32             `json:"inactiveConns"`
	// CPS, InBPS and OutBPS are the kernel's rates: connections, bytes in
	// and bytes out per second.
	CPS    uint64 `json:"cps"`
	InBPS  uint64 `json:"inBps"`
	OutBPS uint64 `json:"outBps"`
	// Health is "healthy", "failed" or "unchecked" (no health check).
	Health      string    `json:"health"`
	HealthSince time.Time `json:"healthSince,omitzero"`
	// InKernel is false for a failed real server its check removed.
	InKernel bool `json:"inKernel"`
	// Disabled, with its reason, when disabled by hand.
	Disabled      bool      `json:"disabled,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	DisabledSince time.Time `json:"disabledSince,omitzero"`
	// DrainUntil is the deadline of a draining real server.
	DrainUntil time.Time `json:"drainUntil,omitzero"`
	// DeclaredWeight is the configuration's weight; Weight, the kernel's,
	// is the effective one, and Why says why they differ.
	DeclaredWeight int    `json:"declaredWeight"`
	Why            string `json:"why,omitempty"`
	// Override is the weight set by hand or the drain (SetWeight, Drain),
	// if any.
	Override *director.Override `json:"override,omitempty"`
}

// statusKey names one real server of one service.
type statusKey struct {
	svc  ipvs.Key
	addr netip.AddrPort
}

// lockedStatus is the part of the status that the Director keeps under
// the lock its applies hold: the fingerprint, the overrides and the
// declared weights.
type lockedStatus struct {
	fingerprint string
	overrides   []director.Override
	declared    map[statusKey]int
	err         error
}

// statusGate lets one status read at a time wait for the Director's lock
// (see readStatusGated); nil lets every read wait as long as it takes.
type statusGate chan struct{}

func newStatusGate() statusGate { return make(statusGate, 1) }

// statusWait is how long a status read waits for the Director's lock
// before it answers without what the lock guards.
const statusWait = time.Second

// busyText is statusView.Busy while an apply holds the Director's lock.
const busyText = "an apply is running: fingerprint, overrides and declared weights left out"

// readStatus reads the director's status and the kernel's table of the
// services it owns, waiting for a running apply to end if it must.
func readStatus(ctx context.Context, d *director.Director, a director.Announcer, config string) (statusView, error) {
	return readStatusGated(ctx, d, a, config, nil)
}

// readStatusGated is readStatus that does not wait for a running apply
// more than statusWait: what the apply's lock guards is read on a
// goroutine of its own, and if it takes longer (or another read's is
// still waiting: gate holds one), the status is answered without it, with
// Busy saying so. A first apply of tens of thousands of operations then
// leaves the control socket answering.
func readStatusGated(ctx context.Context, d *director.Director, a director.Announcer, config string, gate statusGate) (statusView, error) {
	st := d.Status()
	tab, err := d.IPVS().Table(ctx)
	if err != nil {
		return statusView{}, err
	}
	v := statusView{Config: config, Applies: st.Applies, Errors: st.Errors, Drift: st.Drift,
		LastApply: st.LastApply, LastResync: st.LastResync, Owned: st.Owned, Announced: st.Announced, BelowQuorum: st.BelowQuorum,
		VRRP: vrrpViews(st.VRRP)}
	if a != nil {
		if v.Peers, err = a.Peers(ctx); err != nil {
			return statusView{}, err
		}
	}
	owned := map[ipvs.Key]bool{}
	for _, k := range st.Owned.Services {
		owned[k] = true
	}
	var keys []statusKey
	for _, ts := range tab.Services {
		if k := ts.Key(); owned[k] {
			for _, dst := range ts.Destinations {
				keys = append(keys, statusKey{k, dst.Addr})
			}
		}
	}
	for _, h := range st.RealServers {
		keys = append(keys, statusKey{h.Service, h.Addr})
	}
	locked, fresh := readLocked(ctx, d, keys, gate)
	if !fresh {
		v.Busy = busyText
	} else if locked.err != nil {
		return statusView{}, locked.err
	}
	v.Fingerprint = locked.fingerprint
	health := map[statusKey]director.RealServerHealth{}
	for _, h := range st.RealServers {
		health[statusKey{h.Service, h.Addr}] = h
	}
	disabled := map[statusKey]director.Maintenance{}
	for _, m := range st.Disabled {
		disabled[statusKey{m.Service, m.Addr}] = m
	}
	overrides := map[statusKey]director.Override{}
	for _, o := range locked.overrides {
		overrides[statusKey{o.Service, o.Addr}] = o
	}
	below := map[ipvs.Key]bool{}
	for _, k := range st.BelowQuorum {
		below[k] = true
	}
	draining := map[statusKey]time.Time{}
	for _, dr := range st.Owned.Draining {
		draining[statusKey{dr.Service, dr.Addr}] = dr.Deadline
	}
	fill := func(k statusKey, rv *realServerView) {
		rv.Health = "unchecked"
		if h, ok := health[k]; ok {
			rv.Health, rv.HealthSince = "failed", h.Since
			if h.Healthy {
				rv.Health = "healthy"
			}
		}
		if m, ok := disabled[k]; ok {
			rv.Disabled, rv.Reason, rv.DisabledSince = true, m.Reason, m.Since
		}
		rv.DrainUntil = draining[k]
		if o, ok := overrides[k]; ok {
			rv.Override = &o
		}
		if !fresh {
			rv.DeclaredWeight = rv.Weight // unknown: shown as the kernel's
			return
		}
		rv.DeclaredWeight = locked.declared[k]
		rv.Why = why(*rv, below[k.svc], time.Now())
	}
	for _, ts := range tab.Services {
		k := ts.Key()
		if !owned[k] {
			continue
		}
		sv := serviceView{Service: k, Scheduler: ts.Scheduler}
		in := map[netip.AddrPort]bool{}
		for _, dst := range ts.Destinations {
			in[dst.Addr] = true
			rv := realServerView{Addr: dst.Addr, Forward: dst.Forward, Weight: dst.Weight,
				ActiveConns: dst.ActiveConns, InactiveConns: dst.InactiveConns, InKernel: true,
				CPS: dst.Stats.CPS, InBPS: dst.Stats.BPSIn, OutBPS: dst.Stats.BPSOut}
			fill(statusKey{k, dst.Addr}, &rv)
			sv.RealServers = append(sv.RealServers, rv)
		}
		for _, h := range st.RealServers { // checked, and removed from the kernel
			if h.Service == k && !in[h.Addr] {
				rv := realServerView{Addr: h.Addr}
				fill(statusKey{k, h.Addr}, &rv)
				sv.RealServers = append(sv.RealServers, rv)
			}
		}
		slices.SortFunc(sv.RealServers, func(a, b realServerView) int { return a.Addr.Compare(b.Addr) })
		v.Services = append(v.Services, sv)
	}
	slices.SortFunc(v.Services, func(a, b serviceView) int {
		return cmp.Or(cmp.Compare(a.Service.FirewallMark, b.Service.FirewallMark), a.Service.Addr.Compare(b.Service.Addr),
			cmp.Compare(a.Service.Protocol, b.Service.Protocol))
	})
	return v, nil
}

// readLocked reads the status's locked part for keys, within statusWait
// when gate is not nil; false if it was not read in time (the read goes
// on, holding gate, until the lock is free).
func readLocked(ctx context.Context, d *director.Director, keys []statusKey, gate statusGate) (lockedStatus, bool) {
	read := func(ctx context.Context) lockedStatus {
		var l lockedStatus
		if l.fingerprint, l.err = d.Fingerprint(ctx); l.err != nil {
			return l
		}
		l.overrides = d.Overrides()
		l.declared = make(map[statusKey]int, len(keys))
		for _, k := range keys {
			if w, ok := d.DeclaredWeight(k.svc, k.addr); ok {
				l.declared[k] = w
			}
		}
		return l
	}
	if gate == nil {
		return read(ctx), true
	}
	select {
	case gate <- struct{}{}:
	default:
		return lockedStatus{}, false // another read waits for the lock
	}
	done := make(chan lockedStatus, 1)
	go func() {
		defer func() { <-gate }()
		// Its own context: a read given up on still ends, once the lock is free.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		done <- read(rctx)
	}()
	select {
	case l := <-done:
		return l, true
	case <-time.After(statusWait):
	case <-ctx.Done():
	}
	return lockedStatus{}, false
}

// writeStatus prints v for people: a line for the director, then each
// service as ipvsadm -Ln names it with its real servers below.
func writeStatus(w io.Writer, v statusView, now time.Time) error {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return fmt.Sprintf("%s (%s ago)", t.Format(time.DateTime), now.Sub(t).Round(time.Second))
	}
	fmt.Fprintf(w, "config %s: %d applies, %d errors, %d drift repaired; last apply %s, last resync %s; fingerprint %.16s\n",
		printable(v.Config), v.Applies, v.Errors, v.Drift, ago(v.LastApply), ago(v.LastResync), v.Fingerprint)
	if v.Busy != "" {
		fmt.Fprintf(w, "%s\n", printable(v.Busy))
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range v.Services {
		fmt.Fprintf(tw, "%s %s\n", s.Service, s.Scheduler)
		for _, rs := range s.RealServers {
			state := []string{rs.Health}
			if !rs.HealthSince.IsZero() {
				state[0] += " since " + rs.HealthSince.Format(time.DateTime)
			}
			if !rs.InKernel {
				state = append(state, "removed")
			}
			if rs.Disabled {
				state = append(state, fmt.Sprintf("disabled by hand since %s: %s", rs.DisabledSince.Format(time.DateTime), printable(cmp.Or(rs.Reason, "no reason given"))))
			}
			if !rs.DrainUntil.IsZero() {
				state = append(state, "draining until "+rs.DrainUntil.Format(time.DateTime))
			}
			weight := fmt.Sprintf("weight %d", rs.Weight)
			if rs.Weight != rs.DeclaredWeight || rs.Why != "" {
				weight += fmt.Sprintf(" (declared %d: %s)", rs.DeclaredWeight, printable(cmp.Or(rs.Why, "not yet applied")))
			}
			fmt.Fprintf(tw, "  -> %s\t%v\t%s\tactive %d\tinactive %d\t%s\n", rs.Addr, rs.Forward, weight,
				rs.ActiveConns, rs.InactiveConns, strings.Join(state, ", "))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.BelowQuorum) > 0 {
		fmt.Fprintf(w, "below quorum: %v\n", v.BelowQuorum)
	}
	if len(v.Announced)+len(v.Peers) > 0 {
		fmt.Fprintf(w, "announced %v\n", v.Announced)
		for _, p := range v.Peers {
			fmt.Fprintf(w, "  bgp peer %v as %d: %s since %s\n", p.Address, p.ASN, p.State, p.Since.Format(time.DateTime))
		}
	}
	for _, in := range v.VRRP {
		line := fmt.Sprintf("vrrp %s (%s vrid %d): %s since %s, priority %d", printable(in.Name), printable(in.Interface), in.VRID,
			in.State, in.Since.Format(time.DateTime), in.EffectivePriority)
		if in.EffectivePriority != in.Priority {
			line += fmt.Sprintf(" (configured %d)", in.Priority)
		}
		if in.Group != "" {
			line += ", sync group " + printable(in.Group)
		}
		if in.Master.IsValid() {
			line += fmt.Sprintf(", master %v", in.Master)
		}
		if len(in.Failing) > 0 {
			failing := make([]string, len(in.Failing))
			for i, f := range in.Failing {
				failing[i] = printable(f)
			}
			line += ", failing: " + strings.Join(failing, ", ")
		}
		if in.Error != "" {
			line += ", not running: " + printable(in.Error)
		}
		fmt.Fprintf(w, "%s; adverts sent %d, received %d, refused %d\n", line, in.AdvertsSent, in.AdvertsRecvd, sumValues(in.Invalid))
	}
	o := v.Owned
	fmt.Fprintf(w, "owns %d services, VIPs %v, dummies %v, %d sysctls, marks %v, source NAT %v\n",
		len(o.Services), vipList(o.VIPs), o.Dummies, len(o.Sysctls), o.Marks, o.SNAT)
	return nil
}

func sumValues(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

func vipList(vs []director.VIP) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Address.String() + " on " + cmp.Or(v.Interface, "lo")
	}
	return out
}

// printable is s, or s quoted as Go quotes strings when it holds anything
// but printable characters (or is not UTF-8): a reason given with a newline or a terminal's
// escape cannot forge lines of the status.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// why says why a real server's effective weight is not its declared one:
// "" when nothing but the configuration decides it.
func why(rv realServerView, below bool, now time.Time) string {
	var out []string
	if rv.Disabled {
		out = append(out, "disabled by hand")
	}
	if o := rv.Override; o != nil {
		reason := ""
		if o.Reason != "" {
			reason = ": " + o.Reason
		}
		switch {
		case o.Drain && rv.ActiveConns+rv.InactiveConns == 0 && rv.InKernel:
			out = append(out, "drained by hand, idle"+reason)
		case o.Drain && !o.Until.IsZero() && !now.Before(o.Until):
			out = append(out, fmt.Sprintf("drained by hand, deadline %s passed%s", o.Until.Format(time.DateTime), reason))
		case o.Drain && o.Until.IsZero():
			out = append(out, fmt.Sprintf("draining by hand until idle (%d connections)%s", rv.ActiveConns+rv.InactiveConns, reason))
		case o.Drain:
			out = append(out, fmt.Sprintf("draining by hand until idle or %s (%d connections)%s", o.Until.Format(time.DateTime), rv.ActiveConns+rv.InactiveConns, reason))
		default:
			out = append(out, fmt.Sprintf("weight %d set by hand%s", o.Weight, reason))
		}
	}
	if rv.Health == "failed" {
		out = append(out, "failed its health check")
	}
	if below {
		out = append(out, "service below quorum")
	}
	if !rv.InKernel {
		out = append(out, "removed")
	}
	return strings.Join(out, "; ")
}
