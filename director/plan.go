package director

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

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

var opNames = map[OpKind]string{
	SetSysctl: "set sysctl", SetTimeouts: "set timeouts", CreateService: "create service",
	UpdateService: "update service", CreateDestination: "create destination",
	UpdateDestination: "update destination", DrainDestination: "drain destination",
	SyncMarks: "sync marks", SyncSNAT: "sync source NAT", AddVIP: "add VIP", RemoveVIP: "remove VIP",
	DeleteDestination: "delete destination", DeleteService: "delete service",
}

func (k OpKind) String() string {
	if n, ok := opNames[k]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", int(k))
}

// Op is one change.
type Op struct {
	Kind        OpKind
	Service     ipvs.Service     // services and destinations
	Destination ipvs.Destination // destinations
	// Old is what the kernel has now, for updates (the diff's left side).
	OldService     ipvs.Service
	OldDestination ipvs.Destination
	VIP            VIP
	Sysctl         sysctl.Setting
	OldValue       string
	Timeouts       ipvs.Timeouts
	Marks          []iptables.Rule
	SNAT           []snatTarget
}

// snatTarget is a real server whose forwarded traffic gets the director's
// source address (the FULLNAT equivalent).
type snatTarget struct {
	Proto ipvs.Protocol
	Dest  netip.AddrPort
}

func (t snatTarget) String() string {
	return fmt.Sprintf("%s %v", strings.ToLower(t.Proto.String()), t.Dest)
}

// String prints the op as a line of a diff: + added, ~ changed, - removed.
func (o Op) String() string {
	switch o.Kind {
	case SetSysctl:
		return fmt.Sprintf("~ sysctl %s: %s -> %s", o.Sysctl.Key, o.OldValue, o.Sysctl.Value)
	case SetTimeouts:
		return fmt.Sprintf("~ timeouts (tcp tcpfin udp): %.0f %.0f %.0f", o.Timeouts.TCP.Seconds(), o.Timeouts.TCPFin.Seconds(), o.Timeouts.UDP.Seconds())
	case CreateService:
		return "+ " + (ipvs.Rule{Command: ipvs.AddService, Service: o.Service}).String()
	case UpdateService:
		return fmt.Sprintf("~ %s (was: %s)", ipvs.Rule{Command: ipvs.EditService, Service: o.Service}, ipvs.Rule{Command: ipvs.EditService, Service: o.OldService})
	case CreateDestination:
		return "+ " + (ipvs.Rule{Command: ipvs.AddServer, Service: o.Service, Destination: o.Destination}).RuleString()
	case UpdateDestination:
		return fmt.Sprintf("~ %s (was: %s)", ipvs.Rule{Command: ipvs.EditServer, Service: o.Service, Destination: o.Destination}.RuleString(),
			destSettings(o.OldDestination))
	case DrainDestination:
		return fmt.Sprintf("~ %s (draining: weight %d -> 0, deleted when idle)", ipvs.Rule{Command: ipvs.EditServer, Service: o.Service, Destination: o.Destination}.RuleString(), o.OldDestination.Weight)
	case SyncMarks:
		var rs []string
		for _, r := range o.Marks {
			rs = append(rs, r.String())
		}
		return "~ marks: [" + strings.Join(rs, "; ") + "]"
	case SyncSNAT:
		var ts []string
		for _, t := range o.SNAT {
			ts = append(ts, t.String())
		}
		return "~ source NAT to: [" + strings.Join(ts, "; ") + "]"
	case AddVIP:
		return fmt.Sprintf("+ vip %v on %s", o.VIP.Address, o.VIP.iface())
	case RemoveVIP:
		return fmt.Sprintf("- vip %v on %s", o.VIP.Address, o.VIP.iface())
	case DeleteDestination:
		return "- " + (ipvs.Rule{Command: ipvs.DeleteServer, Service: o.Service, Destination: o.Destination}).String()
	case DeleteService:
		return "- " + (ipvs.Rule{Command: ipvs.DeleteService, Service: o.Service}).String()
	}
	return o.Kind.String()
}

func destSettings(d ipvs.Destination) string {
	r := ipvs.Rule{Command: ipvs.EditServer, Destination: d}.RuleString()
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
	draining map[string]bool   // drainKey of destinations being drained
	sysctls  map[sysctl.Key]string
	timeouts ipvs.Timeouts
	marks    []iptables.Rule
	snat     []string              // the SNAT rules' targets in the kernel
	vips     map[netip.Addr]string // VIP address -> interface it is on (only for configured and owned VIPs)
	ownVIPs  []VIP                 // VIPs the director added before
}

func drainKey(k ipvs.Key, a netip.AddrPort) string { return fmt.Sprintf("%v|%v", k, a) }

// plan computes the operations, in Apply's order. It is pure: the tests
// drive it with tables of (current, desired).
func plan(cfg *Config, desired []desiredService, cur current, drain bool) *Plan {
	p := &Plan{}
	add := func(o Op) { p.Ops = append(p.Ops, o) }

	// Sysctls, sorted for a stable plan.
	need := cfg.NeededSysctls()
	keys := make([]string, 0, len(need))
	for k := range need {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := need[sysctl.Key(k)]
		if old, ok := cur.sysctls[sysctl.Key(k)]; !ok || strings.Join(strings.Fields(old), " ") != v {
			add(Op{Kind: SetSysctl, Sysctl: sysctl.Setting{Key: sysctl.Key(k), Value: v}, OldValue: old})
		}
	}
	if t := cfg.Timeouts; t != nil {
		want := ipvs.Timeouts{TCP: ortd(t.TCP, cur.timeouts.TCP), TCPFin: ortd(t.TCPFin, cur.timeouts.TCPFin), UDP: ortd(t.UDP, cur.timeouts.UDP)}
		if want != cur.timeouts {
			add(Op{Kind: SetTimeouts, Timeouts: want})
		}
	}

	have := map[ipvs.Key]ipvs.TableService{}
	for _, ts := range cur.table {
		have[ts.Key()] = ts
	}
	var destCreates, destUpdates, destDeletes, svcDeletes []Op
	wantKeys := map[ipvs.Key]bool{}
	var marks []iptables.Rule
	var snat []snatTarget
	for _, d := range desired {
		k := d.svc.Key()
		wantKeys[k] = true
		p.owned = append(p.owned, k)
		if d.mark != nil {
			marks = append(marks, *d.mark)
		}
		if d.snat {
			for _, dst := range d.dests {
				proto := d.svc.Protocol
				if proto == 0 && d.mark != nil {
					proto = ipvs.Protocol(d.mark.Protocol)
				}
				snat = append(snat, snatTarget{Proto: proto, Dest: dst.Addr})
			}
		}
		ts, exists := have[k]
		switch {
		case !exists:
			add(Op{Kind: CreateService, Service: d.svc})
		case !sameService(ts.Service, d.svc):
			add(Op{Kind: UpdateService, Service: d.svc, OldService: ts.Service})
		}
		cur := map[netip.AddrPort]ipvs.Destination{}
		for _, dst := range ts.Destinations {
			cur[dst.Addr] = dst
		}
		want := map[netip.AddrPort]bool{}
		for _, dst := range d.dests {
			want[dst.Addr] = true
			old, ok := cur[dst.Addr]
			switch {
			case !ok:
				destCreates = append(destCreates, Op{Kind: CreateDestination, Service: d.svc, Destination: dst})
			case !sameDest(old, dst):
				destUpdates = append(destUpdates, Op{Kind: UpdateDestination, Service: d.svc, Destination: dst, OldDestination: old})
			}
		}
		for _, dst := range ts.Destinations {
			if want[dst.Addr] {
				continue
			}
			if drain {
				p.drains = append(p.drains, drainKey(k, dst.Addr))
				if dst.Weight != 0 {
					z := settingsOf(dst)
					z.Weight = 0
					destUpdates = append(destUpdates, Op{Kind: DrainDestination, Service: d.svc, Destination: z, OldDestination: dst})
				}
				continue
			}
			destDeletes = append(destDeletes, Op{Kind: DeleteDestination, Service: d.svc, Destination: ipvs.Destination{Addr: dst.Addr}})
		}
	}
	// Services the director owns from before and no longer wants.
	var gone []ipvs.TableService
	for _, ts := range cur.table {
		if cur.owned[ts.Key()] && !wantKeys[ts.Key()] {
			gone = append(gone, ts)
		}
	}
	for _, ts := range gone {
		svcDeletes = append(svcDeletes, Op{Kind: DeleteService, Service: keyOnly(ts.Service)})
	}
	p.Ops = append(p.Ops, destCreates...)
	p.Ops = append(p.Ops, destUpdates...)
	if !sameRules(marks, cur.marks) {
		add(Op{Kind: SyncMarks, Marks: marks})
	}
	var snatNames []string
	for _, t := range snat {
		snatNames = append(snatNames, t.String())
	}
	if !sameStrings(snatNames, cur.snat) {
		add(Op{Kind: SyncSNAT, SNAT: snat})
	}
	wantVIP := map[netip.Addr]bool{}
	for _, v := range cfg.VIPs {
		wantVIP[v.Address] = true
		if on, ok := cur.vips[v.Address]; !ok || on != v.iface() {
			add(Op{Kind: AddVIP, VIP: v})
		}
	}
	for _, v := range cur.ownVIPs {
		if !wantVIP[v.Address] {
			add(Op{Kind: RemoveVIP, VIP: v})
		}
	}
	p.Ops = append(p.Ops, destDeletes...)
	p.Ops = append(p.Ops, svcDeletes...)
	return p
}

// ortd is d, or cur when d is zero (a timeout left unset).
func ortd(d Duration, cur time.Duration) time.Duration {
	if d == 0 {
		return cur
	}
	return time.Duration(d)
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

func sameRules(a, b []iptables.Rule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
