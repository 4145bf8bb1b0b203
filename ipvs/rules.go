package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strings"
	"time"
)

// Command is what an ipvsadm rule line does.
type Command int

// The commands of ipvsadm's rule syntax (what ipvsadm-save writes and
// ipvsadm-restore reads).
const (
	AddService    Command = iota + 1 // -A
	EditService                      // -E
	DeleteService                    // -D
	AddServer                        // -a
	EditServer                       // -e
	DeleteServer                     // -d
)

var commandFlags = map[Command]string{
	AddService: "-A", EditService: "-E", DeleteService: "-D",
	AddServer: "-a", EditServer: "-e", DeleteServer: "-d",
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
	Destination Destination // for AddServer, EditServer, DeleteServer
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
	case AddService, EditService:
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
	case AddServer, EditServer, DeleteServer:
		d := r.Destination
		b.WriteString(" -r " + d.Addr.String())
		if r.Command == DeleteServer {
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

// Rules returns the table as ipvsadm -S lists it: services and their
// destinations in ipvsadm's order.
func (t Table) Rules() []Rule {
	t = t.Sorted()
	var out []Rule
	for _, s := range t.Services {
		out = append(out, Rule{Command: AddService, Service: s.Service})
		for _, d := range s.Destinations {
			out = append(out, Rule{Command: AddServer, Service: s.Service, Destination: d})
		}
	}
	return out
}

// WriteRules writes the table byte for byte as `ipvsadm -S -n` does, which
// `ipvsadm -R` (ipvsadm-restore) and ParseRules read back.
func (t Table) WriteRules(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, r := range t.Rules() {
		bw.WriteString(r.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// AddRules queues the rules' commands on the batch, in order, each sent as
// it is: a Rule from ParseRules already holds what ipvsadm would send for
// its line (the defaults and rewrites are ParseRules'), so loading a file
// with ParseRules and AddRules gives the kernel table that ipvsadm -R
// gives. A Rule built by hand is sent as built (ipvsadm's rewrites, such as
// a DR destination's port, are not applied to it).
func (b *Batch) AddRules(rules []Rule) {
	for _, r := range rules {
		switch r.Command {
		case AddService:
			b.CreateService(r.Service)
		case EditService:
			b.UpdateService(r.Service)
		case DeleteService:
			b.DeleteService(r.Service)
		case AddServer:
			b.CreateDestination(r.Service, r.Destination)
		case EditServer:
			b.UpdateDestination(r.Service, r.Destination)
		case DeleteServer:
			b.DeleteDestination(r.Service, r.Destination)
		}
	}
}

// RuleError is a line ParseRules could not read.
type RuleError struct {
	Line   int // 1-based
	Text   string
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("ipvs: rules line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *RuleError) Is(target error) bool { return target == ErrInvalid || target == fs.ErrInvalid }

// ParseRules reads rules in ipvsadm's syntax, one command per line, as
// ipvsadm-restore feeds them to ipvsadm 1.31: lines that start with # are
// left out (ipvsadm-restore's grep -v '^#'; a # anywhere else is an error,
// as in ipvsadm -R), words are separated by blanks, tabs and carriage
// returns, and a word "ipvsadm" is dropped. Each line is read exactly as
// ipvsadm reads its arguments (popt: the command first, long options with
// "=" or a following word, short ones with their value attached or
// following) and each Rule is the request ipvsadm would send for it, with
// the values ipvsadm fills in and rewrites:
//
//   - a service's scheduler is wlc unless -s says otherwise; -s is taken as
//     written (case matters, as the kernel's module names do);
//   - -p without a timeout is 360 seconds (libipvs' IPVS_SVC_PERSISTENT_TIMEOUT;
//     the manual says 300); -p takes the next word unless it starts with -;
//   - an address service without a port (or with port 0) must be
//     persistent; -o only on UDP and firewall-mark services;
//   - -M is an IPv4 address as inet_aton reads it (so -M 24 is 0.0.0.24,
//     refused here: a Service's Netmask is a prefix length) or, once the
//     service is IPv6, a prefix length from 1 to 128; -M is kept without -p;
//     an IPv6 service given after -M, and -6, reset it to 128;
//   - -6 only after -f;
//   - -b takes flag-1..3, and sh-*/mh-* only with that scheduler;
//   - a destination's weight is 1, its method -g, unless given; -r without a
//     port takes the service's port as parsed so far (0 for a firewall mark,
//     or before -t); a -g or -i destination of an address service gets the
//     service's port whatever port it names;
//   - a destination of the other family only with -i; tunnel options only
//     with -i, and as --tun-type allows (GUE needs --tun-port; one checksum
//     option).
//
// What ipvsadm refuses is refused with ipvsadm's message. ParseRules also
// refuses what ipvsadm would send but the kernel refuses or a Rule cannot
// hold (an unknown scheduler name, an IPv4-mapped address, a non-contiguous
// or empty IPv4 netmask), what the client's validation refuses (NAT to port
// 0 on a service with a port), and names: it reads numeric addresses and
// ports only. Lines of ipvsadm's other commands (-C, --set, ...) are
// errors. Each rule is validated as the client would before sending it.
//
// A port-0 address service is persistent (ipvsadm refuses one that is
// not), and a Service names one with its persistence: the Rule of a line
// that only names it (-D, -a, -e, -d) has FlagPersistent set.
func ParseRules(r io.Reader) ([]Rule, error) {
	var out []Rule
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var words []string
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }) {
			if w != "ipvsadm" {
				words = append(words, w)
			}
		}
		if len(words) == 0 {
			continue
		}
		rule, err := ipvsadmRule(words)
		if err != nil {
			return nil, &RuleError{Line: n, Text: strings.TrimSpace(line), Reason: err.Error()}
		}
		out = append(out, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseHostPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: need host:port (numeric, [ipv6]:port)", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
