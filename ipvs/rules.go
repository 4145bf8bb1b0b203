package ipvs

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Command is what a Rule does to a service or destination, named as the
// Client's methods and the Batch's are; String gives ipvsadm's option for
// it (-A, -E, -D, -a, -e, -d).
type Command int

// The six changes, in the Client's words.
const (
	CreateService     Command = iota + 1 // -A
	UpdateService                        // -E
	DeleteService                        // -D
	CreateDestination                    // -a
	UpdateDestination                    // -e
	DeleteDestination                    // -d
)

var commandFlags = map[Command]string{
	CreateService: "-A", UpdateService: "-E", DeleteService: "-D",
	CreateDestination: "-a", UpdateDestination: "-e", DeleteDestination: "-d",
}

func (c Command) String() string {
	if f, ok := commandFlags[c]; ok {
		return f
	}
	return fmt.Sprintf("unknown(%d)", int(c))
}

// Rule is one line of ipvsadm's rule syntax: a command on a service and,
// for the server commands, a destination.
type Rule struct {
	Command     Command
	Service     Service
	Destination Destination // for CreateDestination, UpdateDestination, DeleteDestination
}

// serviceArgs is how ipvsadm names a service in a rule: "-t 10.0.0.1:80",
// "--sctp-service [2001:db8::1]:80", "-f 10", "-f 10 -6".
func serviceArgs(s Service) string {
	if s.FirewallMark != 0 {
		if s.AddressFamily() == IPv6 {
			return fmt.Sprintf("-f %d -6", s.FirewallMark)
		}
		return fmt.Sprintf("-f %d", s.FirewallMark)
	}
	switch s.Protocol {
	case TCP:
		return "-t " + s.Addr.String()
	case UDP:
		return "-u " + s.Addr.String()
	}
	return "--sctp-service " + s.Addr.String()
}

// String prints the rule as ipvsadm -S does: options in ipvsadm's order,
// -p and -M only on persistent services, --pe on any, connection
// thresholds left out of destinations (ipvsadm -S does not save them; see
// FullString for a form that keeps them).
func (r Rule) String() string { return r.format(false) }

// FullString prints the rule with every setting: String's form plus the
// connection thresholds (-x, -y) and the netmask of a service that is not
// persistent, which ipvsadm -S leaves out. ipvsadm -R (and package
// ipvsadm's ParseRules) reads it back whole.
func (r Rule) FullString() string { return r.format(true) }

// schedFlags are the service flags whose meaning is the scheduler's.
const schedFlags = SchedFlag1 | SchedFlag2 | SchedFlag3

// netmask4 is an IPv4 prefix length as the mask ipvsadm writes for -M.
func netmask4(bits int) string {
	m := ^uint32(0) << (32 - bits)
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// ipvsadmFlag is the method's ipvsadm option: -m, -g or -i (Local
// destinations are written with -g; the kernel makes them local).
func ipvsadmFlag(m ForwardMethod) string {
	switch m {
	case Masquerade:
		return "-m"
	case Tunnel:
		return "-i"
	}
	return "-g"
}

func (r Rule) format(all bool) string {
	var b strings.Builder
	s := r.Service
	b.WriteString(r.Command.String() + " " + serviceArgs(s))
	switch r.Command {
	case CreateService, UpdateService:
		sched := s.Scheduler
		if sched == "" {
			sched = WeightedLeastConnection
		}
		b.WriteString(" -s " + string(sched))
		persistent := s.Flags&FlagPersistent != 0 || s.Timeout > 0
		if persistent {
			fmt.Fprintf(&b, " -p %d", int64(s.Timeout/time.Second))
		}
		// ipvsadm -S writes -M only for persistent services; the kernel
		// keeps (and ipvsadm sends) a netmask without persistence too.
		if s.Netmask != 0 && (persistent || all) {
			if s.AddressFamily() == IPv6 {
				fmt.Fprintf(&b, " -M %d", s.Netmask)
			} else {
				b.WriteString(" -M " + netmask4(s.Netmask))
			}
		}
		if s.PersistenceEngine != "" {
			b.WriteString(" --pe " + s.PersistenceEngine)
		}
		if s.Flags&FlagOnePacket != 0 {
			b.WriteString(" -o")
		}
		if sf := (s.Flags & schedFlags).Names(s.Scheduler); len(sf) > 0 {
			b.WriteString(" -b " + strings.Join(sf, ","))
		}
	case CreateDestination, UpdateDestination, DeleteDestination:
		d := r.Destination
		b.WriteString(" -r " + d.Addr.String())
		if r.Command == DeleteDestination {
			break
		}
		fmt.Fprintf(&b, " %s -w %d", ipvsadmFlag(d.Forward), d.Weight)
		if all {
			if d.UpperThreshold != 0 {
				fmt.Fprintf(&b, " -x %d", d.UpperThreshold)
			}
			if d.LowerThreshold != 0 {
				fmt.Fprintf(&b, " -y %d", d.LowerThreshold)
			}
		}
		if d.Forward == Tunnel {
			b.WriteString(" --tun-type " + d.TunnelType.String())
			if d.TunnelType == TunnelGUE {
				fmt.Fprintf(&b, " --tun-port %d", d.TunnelPort)
			}
			if d.TunnelType != TunnelIPIP {
				b.WriteString(" --tun-" + d.TunnelFlags.String())
			}
		}
	}
	return b.String()
}

// AddRules queues the rules' commands on the batch, in order, each sent as
// it is: a Rule from package ipvsadm's ParseRules already holds what
// ipvsadm would send for its line (the defaults and rewrites are
// ParseRules'), so loading a file with ParseRules and AddRules gives the
// kernel table that ipvsadm -R gives. A Rule built by hand is sent as built
// (ipvsadm's rewrites, such as a DR destination's port, are not applied to
// it).
func (b *Batch) AddRules(rules []Rule) {
	for i := range rules {
		b.AddRule(&rules[i])
	}
}

// AddRule queues one rule's command on the batch, as AddRules does each
// of a list's.
func (b *Batch) AddRule(r *Rule) {
	switch r.Command {
	case CreateService:
		b.CreateService(r.Service)
	case UpdateService:
		b.UpdateService(r.Service)
	case DeleteService:
		b.DeleteService(r.Service)
	case CreateDestination:
		b.CreateDestination(r.Service, r.Destination)
	case UpdateDestination:
		b.UpdateDestination(r.Service, r.Destination)
	case DeleteDestination:
		b.DeleteDestination(r.Service, r.Destination)
	}
}

// ValidateRule checks r as Apply checks the change AddRules queues for it:
// the whole service of CreateService and UpdateService, the whole destination of
// CreateDestination and UpdateDestination, the keys of the deletes. The error matches
// ErrInvalid.
func ValidateRule(r Rule) error {
	for cmd, c := range ruleCommands {
		if c == r.Command {
			return changeKinds[cmd].validate(change{cmd: cmd, svc: r.Service, dest: r.Destination})
		}
	}
	return invalid("Rule.Command", "%v is not a rule command", r.Command)
}
