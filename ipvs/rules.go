package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"strconv"
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
// persistence options only on persistent services, connection thresholds
// left out of destinations (ipvsadm -S does not save them; see RuleString
// for a form that keeps them).
func (r Rule) String() string { return r.format(false) }

// RuleString prints the rule with every setting, connection thresholds
// (-x, -y) included: ipvsadm -R reads it back whole.
func (r Rule) RuleString() string { return r.format(true) }

func (r Rule) format(thresholds bool) string {
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
		if s.Flags&FlagPersistent != 0 || s.Timeout > 0 {
			fmt.Fprintf(&b, " -p %d", int64(s.Timeout/time.Second))
			if s.Netmask != 0 {
				if s.AddressFamily() == IPv6 {
					fmt.Fprintf(&b, " -M %d", s.Netmask)
				} else {
					b.WriteString(" -M " + netmask4(s.Netmask))
				}
			}
			if s.PersistenceEngine != "" {
				b.WriteString(" --pe " + s.PersistenceEngine)
			}
		}
		if s.Flags&FlagOnePacket != 0 {
			b.WriteString(" -o")
		}
		if sf := s.schedFlagNames(); sf != "" {
			b.WriteString(" -b " + sf)
		}
	case AddServer, EditServer, DeleteServer:
		d := r.Destination
		b.WriteString(" -r " + d.Addr.String())
		if r.Command == DeleteServer {
			break
		}
		fmt.Fprintf(&b, " %s -w %d", d.Forward.ipvsadmFlag(), d.Weight)
		if thresholds {
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

// AddRules queues the rules' commands on the batch, in order.
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
// ipvsadm-restore does: blank lines and lines starting with # are skipped;
// long options (--add-service, --tcp-service, ...) are accepted; a server
// without a port gets its service's; a server's forwarding method defaults
// to -g and its weight to 1; -p without a value means 300 seconds; a
// service's scheduler defaults to wlc. Each rule is validated as the client
// would before sending it.
func ParseRules(r io.Reader) ([]Rule, error) {
	var out []Rule
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rule, err := parseRule(strings.Fields(line))
		if err != nil {
			return nil, &RuleError{Line: n, Text: line, Reason: err.Error()}
		}
		out = append(out, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// optional-argument and valued options of ipvsadm, by long and short name.
var ruleAliases = map[string]string{
	"--add-service": "-A", "--edit-service": "-E", "--delete-service": "-D",
	"--add-server": "-a", "--edit-server": "-e", "--delete-server": "-d",
	"--tcp-service": "-t", "--udp-service": "-u", "--fwmark-service": "-f",
	"--scheduler": "-s", "--persistent": "-p", "--netmask": "-M", "--ops": "-o",
	"--sched-flags": "-b", "--real-server": "-r", "--gatewaying": "-g", "--ipip": "-i",
	"--masquerading": "-m", "--weight": "-w", "--u-threshold": "-x", "--l-threshold": "-y",
	"--ipv6": "-6",
}

func parseRule(args []string) (Rule, error) {
	var (
		r                         Rule
		svcAddr, rip              string
		proto                     Protocol
		mark                      uint64
		v6, persistent, hasWeight bool
		netmask                   string
		fwdSet                    bool
	)
	r.Destination.Weight = 1
	r.Destination.Forward = DirectRoute
	next := func(i *int, opt string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", opt)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		opt := args[i]
		if a, ok := ruleAliases[opt]; ok {
			opt = a
		}
		var err error
		var v string
		switch opt {
		case "-A", "-E", "-D", "-a", "-e", "-d":
			if r.Command != 0 {
				return r, fmt.Errorf("two commands")
			}
			for c, f := range commandFlags {
				if f == opt {
					r.Command = c
				}
			}
		case "-t", "-u", "--sctp-service":
			proto = map[string]Protocol{"-t": TCP, "-u": UDP, "--sctp-service": SCTP}[opt]
			svcAddr, err = next(&i, opt)
		case "-f":
			if v, err = next(&i, opt); err == nil {
				mark, err = strconv.ParseUint(v, 0, 32)
			}
		case "-6":
			v6 = true
		case "-s":
			if v, err = next(&i, opt); err == nil {
				err = r.Service.Scheduler.UnmarshalText([]byte(v))
			}
		case "-p":
			persistent = true
			r.Service.Timeout = 300 * time.Second
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				var t uint64
				if t, err = strconv.ParseUint(args[i], 10, 32); err == nil {
					r.Service.Timeout = time.Duration(t) * time.Second
				}
			}
		case "-M":
			netmask, err = next(&i, opt)
		case "--pe":
			r.Service.PersistenceEngine, err = next(&i, opt)
		case "-o":
			r.Service.Flags |= FlagOnePacket
		case "-b":
			if v, err = next(&i, opt); err == nil {
				var f ServiceFlags
				if err = f.UnmarshalText([]byte(v)); err == nil && f&^(SchedFlag1|SchedFlag2|SchedFlag3) != 0 {
					err = fmt.Errorf("-b takes scheduler flags only, not %q", v)
				}
				r.Service.Flags |= f
			}
		case "-r":
			rip, err = next(&i, opt)
		case "-g", "-i", "-m":
			fwdSet = true
			err = r.Destination.Forward.UnmarshalText([]byte(opt[1:]))
		case "-w":
			hasWeight = true
			if v, err = next(&i, opt); err == nil {
				r.Destination.Weight, err = strconv.Atoi(v)
			}
		case "-x", "-y":
			var t uint64
			if v, err = next(&i, opt); err == nil {
				if t, err = strconv.ParseUint(v, 10, 32); err == nil {
					if opt == "-x" {
						r.Destination.UpperThreshold = uint32(t)
					} else {
						r.Destination.LowerThreshold = uint32(t)
					}
				}
			}
		case "--tun-type":
			if v, err = next(&i, opt); err == nil {
				err = r.Destination.TunnelType.UnmarshalText([]byte(v))
			}
		case "--tun-port":
			var p uint64
			if v, err = next(&i, opt); err == nil {
				if p, err = strconv.ParseUint(v, 10, 16); err == nil {
					r.Destination.TunnelPort = uint16(p)
				}
			}
		case "--tun-nocsum":
			r.Destination.TunnelFlags = 0
		case "--tun-csum":
			r.Destination.TunnelFlags = TunnelChecksum
		case "--tun-remcsum":
			r.Destination.TunnelFlags = TunnelRemoteChecksum
		default:
			return r, fmt.Errorf("unknown option %q", args[i])
		}
		if err != nil {
			return r, err
		}
	}
	if r.Command == 0 {
		return r, fmt.Errorf("no command (-A, -E, -D, -a, -e, -d)")
	}
	// The service.
	switch {
	case mark != 0 && svcAddr != "":
		return r, fmt.Errorf("both a firewall mark and an address")
	case mark != 0:
		r.Service.FirewallMark = uint32(mark)
		if v6 {
			r.Service.Family = IPv6
		}
	case svcAddr != "":
		ap, err := parseHostPort(svcAddr)
		if err != nil {
			return r, err
		}
		r.Service.Protocol, r.Service.Addr = proto, ap
	default:
		return r, fmt.Errorf("no service (-t, -u, --sctp-service or -f)")
	}
	if persistent {
		r.Service.Flags |= FlagPersistent
	}
	if netmask != "" && !persistent {
		return r, fmt.Errorf("-M (netmask) works only with -p (persistence)")
	}
	if netmask != "" {
		n, err := parseRuleNetmask(netmask, r.Service.AddressFamily())
		if err != nil {
			return r, err
		}
		r.Service.Netmask = n
	}
	isServer := r.Command == AddServer || r.Command == EditServer || r.Command == DeleteServer
	if !isServer {
		if rip != "" || fwdSet || hasWeight {
			return r, fmt.Errorf("server options on a service command")
		}
		r.Destination = Destination{}
		if r.Command == DeleteService {
			return r, r.Service.validateKey()
		}
		if r.Service.Scheduler == "" {
			r.Service.Scheduler = WeightedLeastConnection
		}
		return r, r.Service.validate()
	}
	if rip == "" {
		return r, fmt.Errorf("no real server (-r)")
	}
	d, err := parseHostPort(rip)
	if err != nil {
		// No port: the service's (0 for firewall-mark services).
		a, aerr := netip.ParseAddr(strings.Trim(rip, "[]"))
		if aerr != nil {
			return r, fmt.Errorf("real server %q: %v", rip, err)
		}
		d = netip.AddrPortFrom(a, r.Service.Addr.Port())
	}
	r.Destination.Addr = d
	if err := r.Service.validateKey(); err != nil {
		return r, err
	}
	if r.Command == DeleteServer {
		r.Destination = Destination{Addr: d}
		return r, nil
	}
	return r, r.Destination.validate(r.Service)
}

func parseHostPort(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: need host:port (numeric, [ipv6]:port)", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func parseRuleNetmask(s string, f Family) (int, error) {
	if f == IPv6 || !strings.Contains(s, ".") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || (f == IPv6 && n > 128) || (f == IPv4 && n > 32) {
			return 0, fmt.Errorf("netmask %q", s)
		}
		if (f == IPv6 && n == 128) || (f == IPv4 && n == 32) {
			n = 0
		}
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("netmask %q", s)
	}
	b := a.As4()
	n, err := parseNetmask(b[:], IPv4)
	if err != nil {
		return 0, fmt.Errorf("netmask %q: not contiguous", s)
	}
	return n, nil
}
