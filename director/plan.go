package director

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// OpKind is what an operation does. The constants are in the order Apply
// runs them.
type OpKind int

// Operations.
const (
	SetSysctl OpKind = iota + 1
	SetTimeouts
	SyncDaemons // start, restart or stop the sync daemons (Cluster.Sync)
	CreateService
	UpdateService
	CreateDestination
	UpdateDestination
	DrainDestination // weight to 0; deleted later by Collect
	SyncMarks
	SyncSNAT
	AddVIP
	RemoveVIP
	DeleteDestination
	DeleteService
)

// opKind is what the package knows of one kind of operation: its name and
// how it prints. IPVS operations carry their change as an ipvs.Rule, which
// Apply sends and the plan prints; the others are applied by the Director's
// appliers (director_linux.go). A new kind is a constant, an entry here and,
// unless it is an IPVS change, an applier.
type opKind struct {
	name     string
	describe func(Op) string
}

var opKinds = map[OpKind]opKind{
	SetSysctl: {"set sysctl", func(o Op) string {
		return fmt.Sprintf("~ sysctl %s: %s -> %s", o.Sysctl.Key, o.OldValue, o.Sysctl.Value)
	}},
	SetTimeouts: {"set timeouts", func(o Op) string {
		return fmt.Sprintf("~ timeouts (tcp tcpfin udp): %.0f %.0f %.0f", o.Timeouts.TCP.Seconds(), o.Timeouts.TCPFin.Seconds(), o.Timeouts.UDP.Seconds())
	}},
	SyncDaemons: {"sync daemons", func(o Op) string {
		return fmt.Sprintf("~ sync daemons: %s (was: %s)", daemonsText(o.Daemons), daemonsText(o.OldDaemons))
	}},
	CreateService: {"create service", func(o Op) string { return "+ " + o.Rule.String() }},
	UpdateService: {"update service", func(o Op) string {
		return fmt.Sprintf("~ %s (was: %s)", o.Rule, o.Old)
	}},
	CreateDestination: {"create destination", func(o Op) string { return "+ " + o.Rule.FullString() }},
	UpdateDestination: {"update destination", func(o Op) string {
		return fmt.Sprintf("~ %s (was: %s)", o.Rule.FullString(), destSettings(o.Old.Destination))
	}},
	DrainDestination: {"drain destination", func(o Op) string {
		return fmt.Sprintf("~ %s (draining: weight %d -> 0, deleted when idle)", o.Rule.FullString(), o.Old.Destination.Weight)
	}},
	SyncMarks: {"sync marks", func(o Op) string {
		var rs []string
		for _, r := range o.Marks {
			rs = append(rs, r.String())
		}
		return "~ marks: [" + strings.Join(rs, "; ") + "]"
	}},
	SyncSNAT: {"sync source NAT", func(o Op) string {
		var ts []string
		for _, t := range o.SNAT {
			ts = append(ts, t.String())
		}
		return "~ source NAT to: [" + strings.Join(ts, "; ") + "]"
	}},
	AddVIP:            {"add VIP", func(o Op) string { return fmt.Sprintf("+ vip %v on %s", o.VIP.Address, o.VIP.iface()) }},
	RemoveVIP:         {"remove VIP", func(o Op) string { return fmt.Sprintf("- vip %v on %s", o.VIP.Address, o.VIP.iface()) }},
	DeleteDestination: {"delete destination", func(o Op) string { return "- " + o.Rule.String() }},
	DeleteService:     {"delete service", func(o Op) string { return "- " + o.Rule.String() }},
}

func (k OpKind) String() string {
	if n, ok := opKinds[k]; ok {
		return n.name
	}
	return fmt.Sprintf("unknown(%d)", int(k))
}

// Op is one change.
type Op struct {
	Kind OpKind
	// Rule is the IPVS change of the service and destination kinds,
	// exactly what Apply sends (as ipvsadm would: -A, -E, -a, -e, -d, -D);
	// Command is zero for the other kinds.
	Rule ipvs.Rule
	// Old is what the kernel has now, for updates and drains (the diff's
	// left side).
	Old      ipvs.Rule
	VIP      VIP
	Sysctl   sysctl.Setting
	OldValue string
	Timeouts ipvs.Timeouts
	Marks    []iptables.Rule
	SNAT     []iptables.SNATRule
	// Daemons are the sync daemons wanted, OldDaemons those running.
	Daemons, OldDaemons []ipvs.SyncDaemon
}

// IsIPVS reports whether the op is an IPVS change (its Rule).
func (o Op) IsIPVS() bool { return o.Rule.Command != 0 }

// String prints the op as a line of a diff: + added, ~ changed, - removed.
func (o Op) String() string {
	if k, ok := opKinds[o.Kind]; ok {
		return k.describe(o)
	}
	return o.Kind.String()
}

func destSettings(d ipvs.Destination) string {
	r := ipvs.Rule{Command: ipvs.UpdateDestination, Destination: d}.FullString()
	_, after, _ := strings.Cut(r, " -r ")
	return "-r " + after
}

func (v VIP) iface() string {
	if v.Interface == "" {
		return "lo"
	}
	return v.Interface
}

// Plan is the list of changes that makes the kernel match a configuration.
type Plan struct {
	Ops []Op
	// owned is the set of service keys the configuration declares.
	owned []ipvs.Key
	// drains are the destinations to delete once idle, by drainKey.
	drains []string
}

// Len is the number of operations; zero means nothing to change.
func (p *Plan) Len() int { return len(p.Ops) }

// String prints the plan as a diff, one operation a line.
func (p *Plan) String() string {
	if len(p.Ops) == 0 {
		return "no changes\n"
	}
	var b strings.Builder
	for _, o := range p.Ops {
		b.WriteString(o.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// current is what the planner knows of the namespace.
type current struct {
	table    []ipvs.TableService
	owned    map[ipvs.Key]bool // services the director owns from before
	sysctls  map[sysctl.Key]string
	timeouts ipvs.Timeouts
	marks    []iptables.Rule
	snat     []iptables.SNATRule // the source-NAT rules in the kernel
	vips     map[vipOn]bool      // where the configured and owned VIPs are

	ownVIPs []VIP             // VIPs the director added before
	daemons []ipvs.SyncDaemon // the sync daemons running, if read
	ownSync bool              // the director started sync daemons before
}

func drainKey(k ipvs.Key, a netip.AddrPort) string { return fmt.Sprintf("%v|%v", k, a) }

// parseDrainKey reads what drainKey writes.
func parseDrainKey(s string) (ipvs.Key, netip.AddrPort, bool) {
	i := strings.LastIndexByte(s, '|')
	if i < 0 {
		return ipvs.Key{}, netip.AddrPort{}, false
	}
	k, err := ipvs.ParseKey(s[:i])
	a, aerr := netip.ParseAddrPort(s[i+1:])
	return k, a, err == nil && aerr == nil
}

// sysctlValue is a sysctl value as the kernel prints it after writing it:
// its fields (white space of any kind and amount between them, none
// around) joined by one space, an integer field in decimal without
// leading zeros or a plus sign ("01" and "+1" are 1, "-0" is 0). A field
// that is not a decimal integer is kept as written.
func sysctlValue(v string) string {
	fs := strings.Fields(v)
	for i, f := range fs {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			fs[i] = strconv.FormatInt(n, 10)
		}
	}
	return strings.Join(fs, " ")
}

// vipOn is a VIP address on an interface.
type vipOn struct {
	addr  netip.Addr
	iface string
}

func (v VIP) on() vipOn { return vipOn{v.Address, v.iface()} }

// plan computes the operations that make cur match m, in Apply's order. It
// is pure: the tests drive it with tables of (current, desired).
func plan(m *model, cur current, drain bool) *Plan {
	p := &Plan{}
	add := func(o Op) { p.Ops = append(p.Ops, o) }

	for _, s := range m.sysctls {
		if old, ok := cur.sysctls[s.Key]; !ok || sysctlValue(old) != sysctlValue(s.Value) {
			add(Op{Kind: SetSysctl, Sysctl: s, OldValue: old})
		}
	}
	if t := m.timeouts; t != nil {
		want := ipvs.Timeouts{TCP: cmp.Or(t.TCP, cur.timeouts.TCP), TCPFin: cmp.Or(t.TCPFin, cur.timeouts.TCPFin), UDP: cmp.Or(t.UDP, cur.timeouts.UDP)}
		if want != cur.timeouts {
			add(Op{Kind: SetTimeouts, Timeouts: want})
		}
	}

	if (len(m.daemons) > 0 || cur.ownSync) && !sameDaemons(m.daemons, cur.daemons) {
		add(Op{Kind: SyncDaemons, Daemons: m.daemons, OldDaemons: cur.daemons})
	}

	have := make(map[ipvs.Key]int, len(cur.table)) // index in cur.table
	for i := range cur.table {
		have[cur.table[i].Key()] = i
	}
	var svcOps serviceOps
	if len(cur.table) == 0 {
		// Everything is created (a first apply): the references' room at
		// once.
		n := 0
		for _, s := range m.services {
			n += len(s.dests)
		}
		svcOps.services, svcOps.creates = make([]opRef, 0, len(m.services)), make([]opRef, 0, n)
	}
	var svcDeletes []Op
	wantKeys := make(map[ipvs.Key]bool, len(m.services))
	p.owned = make([]ipvs.Key, 0, len(m.services))
	for _, s := range m.services {
		k := s.svc.Key()
		wantKeys[k] = true
		p.owned = append(p.owned, k)
		if i, exists := have[k]; exists {
			svcOps.add(s, &cur.table[i], drain)
		} else {
			svcOps.add(s, nil, drain)
		}
	}
	// The operations' room at once: the services' and the few others'.
	p.Ops = slices.Grow(p.Ops, len(svcOps.services)+len(svcOps.creates)+len(svcOps.updates)+len(svcOps.deletes)+len(m.vips)+len(cur.ownVIPs)+8)
	p.Ops = appendOps(p.Ops, svcOps.services)
	p.drains = svcOps.drains
	// Services the director owns from before and no longer wants.
	for _, ts := range cur.table {
		if cur.owned[ts.Key()] && !wantKeys[ts.Key()] {
			svcDeletes = append(svcDeletes, Op{Kind: DeleteService, Rule: ipvs.Rule{Command: ipvs.DeleteService, Service: keyOnly(ts.Service)}})
		}
	}
	p.Ops = appendOps(p.Ops, svcOps.creates)
	p.Ops = appendOps(p.Ops, svcOps.updates)
	if !slices.EqualFunc(m.marks, cur.marks, func(a, b iptables.Rule) bool { return a.String() == b.String() }) {
		add(Op{Kind: SyncMarks, Marks: m.marks})
	}
	if !sameSNAT(m.snat, cur.snat) {
		add(Op{Kind: SyncSNAT, SNAT: m.snat})
	}
	wantVIP := map[vipOn]bool{}
	for _, v := range m.vips {
		wantVIP[v.on()] = true
		if !cur.vips[v.on()] {
			add(Op{Kind: AddVIP, VIP: v})
		}
	}
	// An owned VIP no longer wanted where it is goes: also one moved to
	// another interface.
	for _, v := range cur.ownVIPs {
		if !wantVIP[v.on()] {
			add(Op{Kind: RemoveVIP, VIP: v})
		}
	}
	p.Ops = appendOps(p.Ops, svcOps.deletes)
	p.Ops = append(p.Ops, svcDeletes...)
	return p
}

// serviceOps collects the operations on services and their destinations,
// by kind, so that they can be put in Apply's order. They are kept as
// references until then (an Op is nearly 1 KB: a first apply of 25,000
// would otherwise build them twice).
type serviceOps struct {
	services, creates, updates, deletes []opRef
	drains                              []string
}

// opRef is an operation on the service s, by reference: ts is what the
// kernel has of it (nil if nothing), dest the index of a destination in
// s.dests (a create or an update) or, for a drain or a delete, in
// ts.Destinations, and old the update's index in ts.Destinations.
type opRef struct {
	kind      OpKind
	s         *service
	ts        *ipvs.TableService
	dest, old int32
}

// op builds the operation r refers to.
func (r *opRef) op() Op {
	svc := r.s.svc
	switch r.kind {
	case CreateService:
		return Op{Kind: CreateService, Rule: ipvs.Rule{Command: ipvs.CreateService, Service: svc}}
	case UpdateService:
		return Op{Kind: UpdateService, Rule: ipvs.Rule{Command: ipvs.UpdateService, Service: svc},
			Old: ipvs.Rule{Command: ipvs.UpdateService, Service: r.ts.Service}}
	case CreateDestination:
		return Op{Kind: CreateDestination, Rule: ipvs.Rule{Command: ipvs.CreateDestination, Service: svc, Destination: r.s.dests[r.dest]}}
	case UpdateDestination:
		return Op{Kind: UpdateDestination, Rule: ipvs.Rule{Command: ipvs.UpdateDestination, Service: svc, Destination: r.s.dests[r.dest]},
			Old: ipvs.Rule{Command: ipvs.UpdateDestination, Service: svc, Destination: r.ts.Destinations[r.old]}}
	case DrainDestination:
		dst := r.ts.Destinations[r.dest]
		z := settingsOf(dst)
		z.Weight = 0
		return Op{Kind: DrainDestination, Rule: ipvs.Rule{Command: ipvs.UpdateDestination, Service: svc, Destination: z},
			Old: ipvs.Rule{Command: ipvs.UpdateDestination, Service: svc, Destination: dst}}
	default: // DeleteDestination
		return Op{Kind: DeleteDestination, Rule: ipvs.Rule{Command: ipvs.DeleteDestination, Service: svc,
			Destination: ipvs.Destination{Addr: r.ts.Destinations[r.dest].Addr}}}
	}
}

// scanDests is the number of destinations up to which serviceOps.add
// matches a service's destinations by scanning rather than with maps.
const scanDests = 16

// add diffs one desired service with what the kernel has of it (ts, nil
// if nothing). s and ts must stay as they are until the operations are
// built (ops, appendOps).
func (o *serviceOps) add(s *service, ts *ipvs.TableService, drain bool) {
	k := s.svc.Key()
	switch {
	case ts == nil:
		o.services = append(o.services, opRef{kind: CreateService, s: s})
		ts = &ipvs.TableService{}
	case !sameService(ts.Service, s.svc):
		o.services = append(o.services, opRef{kind: UpdateService, s: s, ts: ts})
	}
	// A service's few destinations are matched by a scan; many, by maps.
	var cur, want map[netip.AddrPort]int
	if len(ts.Destinations) > scanDests || len(s.dests) > scanDests {
		cur, want = destIndexes(ts.Destinations), destIndexes(s.dests)
	}
	for di := range s.dests {
		dst := &s.dests[di]
		i, ok := destIndex(ts.Destinations, cur, dst.Addr)
		switch {
		case !ok:
			o.creates = append(o.creates, opRef{kind: CreateDestination, s: s, dest: int32(di)})
		case !sameDest(ts.Destinations[i], *dst):
			o.updates = append(o.updates, opRef{kind: UpdateDestination, s: s, ts: ts, dest: int32(di), old: int32(i)})
		}
	}
	for i := range ts.Destinations {
		dst := &ts.Destinations[i]
		if _, ok := destIndex(s.dests, want, dst.Addr); ok {
			continue
		}
		if drain {
			o.drains = append(o.drains, drainKey(k, dst.Addr))
			if dst.Weight != 0 {
				o.updates = append(o.updates, opRef{kind: DrainDestination, s: s, ts: ts, dest: int32(i)})
			}
			continue
		}
		o.deletes = append(o.deletes, opRef{kind: DeleteDestination, s: s, ts: ts, dest: int32(i)})
	}
}

// appendOps appends the operations of refs to ops.
func appendOps(ops []Op, refs []opRef) []Op {
	for i := range refs {
		ops = append(ops, refs[i].op())
	}
	return ops
}

// destIndexes indexes ds by address.
func destIndexes(ds []ipvs.Destination) map[netip.AddrPort]int {
	out := make(map[netip.AddrPort]int, len(ds))
	for i, d := range ds {
		out[d.Addr] = i
	}
	return out
}

// destIndex is the index of the destination a in ds, found in index if
// not nil, else by a scan.
func destIndex(ds []ipvs.Destination, index map[netip.AddrPort]int, a netip.AddrPort) (int, bool) {
	if index != nil {
		i, ok := index[a]
		return i, ok
	}
	i := slices.IndexFunc(ds, func(d ipvs.Destination) bool { return d.Addr == a })
	return i, i >= 0
}

// ops is the collected operations in Apply's order.
func (o *serviceOps) ops() []Op {
	out := make([]Op, 0, len(o.services)+len(o.creates)+len(o.updates)+len(o.deletes))
	for _, refs := range [][]opRef{o.services, o.creates, o.updates, o.deletes} {
		out = appendOps(out, refs)
	}
	return out
}

// sameService compares what a service is configured with (not its stats).
func sameService(have, want ipvs.Service) bool {
	have.Stats = ipvs.Stats{}
	return have == want
}

// settingsOf is a destination without the kernel's read-only fields.
func settingsOf(d ipvs.Destination) ipvs.Destination {
	return ipvs.Destination{Addr: d.Addr, Forward: d.Forward, Weight: d.Weight,
		UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold,
		TunnelType: d.TunnelType, TunnelPort: d.TunnelPort, TunnelFlags: d.TunnelFlags}
}

func sameDest(have, want ipvs.Destination) bool { return settingsOf(have) == settingsOf(want) }

func keyOnly(s ipvs.Service) ipvs.Service {
	k := s.Key()
	return ipvs.Service{Protocol: k.Protocol, Addr: k.Addr, FirewallMark: k.FirewallMark, Family: k.Family}
}

// sameSNAT compares source-NAT rule sets, in any order.
func sameSNAT(a, b []iptables.SNATRule) bool {
	str := func(rs []iptables.SNATRule) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.String()
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(str(a), str(b))
}

// sameDaemons reports whether the running sync daemons have are those
// wanted: each wanted one running with its settings (a zero setting is the
// kernel's default, whatever it chose), and no other.
func sameDaemons(want, have []ipvs.SyncDaemon) bool {
	return len(want) == len(have) && !slices.ContainsFunc(want, func(w ipvs.SyncDaemon) bool {
		return !slices.ContainsFunc(have, func(h ipvs.SyncDaemon) bool { return sameDaemon(w, h) })
	})
}

func sameDaemon(want, have ipvs.SyncDaemon) bool {
	same := func(w, h any, zero any) bool { return w == zero || w == h }
	return want.State == have.State && want.Interface == have.Interface && want.SyncID == have.SyncID &&
		same(want.MaxLength, have.MaxLength, uint16(0)) && same(want.Group, have.Group, netip.Addr{}) &&
		same(want.Port, have.Port, uint16(0)) && same(want.TTL, have.TTL, uint8(0))
}

func daemonsText(ds []ipvs.SyncDaemon) string {
	if len(ds) == 0 {
		return "none"
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%v on %s syncid %d", d.State, d.Interface, d.SyncID))
	}
	return strings.Join(out, ", ")
}
