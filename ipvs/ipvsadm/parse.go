package ipvsadm

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// This file reads one rule line the way ipvsadm 1.31 reads its command line
// (ipvsadm.c and libipvs of upstream's "Release: Version 1.31", commit
// a0e3834, which Debian's 1.31-1 ships with its weight range widened to
// INT_MAX): popt's option syntax, then ipvsadm's process_options, which
// fills in defaults, rewrites some fields depending on the forwarding
// method and the kind of service, and refuses some combinations. The
// result is the Rule whose request is what ipvsadm would send. Refusals
// carry ipvsadm's own message.

// An ipvsadm option as popt knows it (ipvsadm.c, parse_options' table).
type option struct {
	long  string
	short byte
	arg   uint8 // optNone, optRequired or optOptional
	optc  int   // its column in optNames, or -1 (commands, -6, --sort)
	cmd   ipvs.Command
}

const (
	optNone = iota
	optRequired
	optOptional
)

// optNames are ipvsadm's option names by OPTC_ number (optnames[]).
var optNames = []string{
	"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
	"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
	"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds",
	"persistent-conn", "nosort", "syncid", "exact", "ops", "pe", "sched-flags",
	"mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
	"tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

const (
	optcService    = 2
	optcScheduler  = 3
	optcPersistent = 4
	optcNetmask    = 5
	optcServer     = 6
	optcForward    = 7
	optcWeight     = 8
	optcUThreshold = 9
	optcLThreshold = 10
	optcOps        = 21
	optcPE         = 22
	optcSchedFlags = 23
	optcTunType    = 29
	optcTunPort    = 30
	optcTunNoCsum  = 31
	optcTunCsum    = 32
	optcTunRemCsum = 33
	noOptc         = -1
)

// notARule marks ipvsadm's commands that are not rule commands (-C, -L,
// -Z, -R, -S, --set, the daemons, -h, -v).
const notARule ipvs.Command = -1

var optionTable = []option{
	{"add-service", 'A', optNone, -1, ipvs.CreateService},
	{"edit-service", 'E', optNone, -1, ipvs.UpdateService},
	{"delete-service", 'D', optNone, -1, ipvs.DeleteService},
	{"clear", 'C', optNone, -1, notARule},
	{"list", 'L', optNone, -1, notARule},
	{"list", 'l', optNone, -1, notARule},
	{"zero", 'Z', optNone, -1, notARule},
	{"add-server", 'a', optNone, -1, ipvs.CreateDestination},
	{"edit-server", 'e', optNone, -1, ipvs.UpdateDestination},
	{"delete-server", 'd', optNone, -1, ipvs.DeleteDestination},
	{"set", 0, optNone, -1, notARule},
	{"help", 'h', optNone, -1, notARule},
	{"version", 'v', optNone, -1, notARule},
	{"restore", 'R', optNone, -1, notARule},
	{"save", 'S', optNone, -1, notARule},
	{"start-daemon", 0, optRequired, -1, notARule},
	{"stop-daemon", 0, optRequired, -1, notARule},
	{"tcp-service", 't', optRequired, optcService, 0},
	{"udp-service", 'u', optRequired, optcService, 0},
	{"sctp-service", 0, optRequired, optcService, 0},
	{"fwmark-service", 'f', optRequired, optcService, 0},
	{"scheduler", 's', optRequired, optcScheduler, 0},
	{"persistent", 'p', optOptional, optcPersistent, 0},
	{"netmask", 'M', optRequired, optcNetmask, 0},
	{"real-server", 'r', optRequired, optcServer, 0},
	{"masquerading", 'm', optNone, optcForward, 0},
	{"ipip", 'i', optNone, optcForward, 0},
	{"gatewaying", 'g', optNone, optcForward, 0},
	{"weight", 'w', optRequired, optcWeight, 0},
	{"u-threshold", 'x', optRequired, optcUThreshold, 0},
	{"l-threshold", 'y', optRequired, optcLThreshold, 0},
	{"numeric", 'n', optNone, 0, 0},
	{"connection", 'c', optNone, 1, 0},
	{"mcast-interface", 0, optRequired, 11, 0},
	{"syncid", 0, optRequired, 19, 0},
	{"timeout", 0, optNone, 12, 0},
	{"daemon", 0, optNone, 13, 0},
	{"stats", 0, optNone, 14, 0},
	{"rate", 0, optNone, 15, 0},
	{"thresholds", 0, optNone, 16, 0},
	{"persistent-conn", 0, optNone, 17, 0},
	{"nosort", 0, optNone, 18, 0},
	{"sort", 0, optNone, noOptc, 0},
	{"exact", 'X', optNone, 20, 0},
	{"ipv6", '6', optNone, noOptc, 0},
	{"ops", 'o', optNone, optcOps, 0},
	{"pe", 0, optRequired, optcPE, 0},
	{"sched-flags", 'b', optRequired, optcSchedFlags, 0},
	{"mcast-group", 0, optRequired, 24, 0},
	{"mcast-port", 0, optRequired, 25, 0},
	{"mcast-ttl", 0, optRequired, 26, 0},
	{"sync-maxlen", 0, optRequired, 27, 0},
	{"tun-info", 0, optNone, 28, 0},
	{"tun-type", 0, optRequired, optcTunType, 0},
	{"tun-port", 0, optRequired, optcTunPort, 0},
	{"tun-nocsum", 0, optNone, optcTunNoCsum, 0},
	{"tun-csum", 0, optNone, optcTunCsum, 0},
	{"tun-remcsum", 0, optNone, optcTunRemCsum, 0},
}

// commands are ipvsadm's commands_v_options rows for the rule
// commands, one character per option in optNames' order: '+'
// compulsory, 'x' illegal, ' ' optional; and cmdnames[].
var commands = map[ipvs.Command]struct{ name, row string }{
	ipvs.CreateService:     {"add-service", "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"},
	ipvs.UpdateService:     {"edit-service", "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"},
	ipvs.DeleteService:     {"delete-service", "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	ipvs.CreateDestination: {"add-server", "xx+xxx+    xxxxxxxxxxxxxxxxxx     "},
	ipvs.DeleteDestination: {"delete-server", "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	ipvs.UpdateDestination: {"edit-server", "xx+xxx+    xxxxxxxxxxxxxxxxxx     "},
}

// tunnelOpts are tunnel_types_v_options: per tunnel type, the options
// --tun-port, --tun-nocsum, --tun-csum, --tun-remcsum ('1': at most one of
// them).
var tunnelOpts = [...]string{
	ipvs.TunnelIPIP: "xxxx",
	ipvs.TunnelGUE:  "+111",
	ipvs.TunnelGRE:  "x11x",
}

const (
	maxTimeout     = 86400 * 31 // MAX_TIMEOUT
	defaultTimeout = 6 * 60     // libipvs.h's IPVS_SVC_PERSISTENT_TIMEOUT (the manual says 300)
	defaultSched   = "wlc"      // DEF_SCHED
	intMax         = 1<<31 - 1
)

// entry is ipvsadm's struct ipvs_command_entry for one rule line, in
// ipvsadm's own representation.
type entry struct {
	cmd ipvs.Command
	// ipvs_service_t
	af       ipvs.Family
	protocol ipvs.Protocol
	addr     netip.Addr
	port     uint16
	fwmark   uint32
	sched    string
	flags    ipvs.ServiceFlags
	timeout  int64
	netmask  uint32 // IPv4: the mask (0xffffffff is /32); IPv6: a prefix length
	pe       string
	// ipvs_dest_t
	daf      ipvs.Family
	daddr    netip.Addr
	dport    uint16
	fwd      ipvs.ForwardMethod
	weight   int64
	uthresh  int64
	lthresh  int64
	tunType  ipvs.TunnelType
	tunPort  uint16
	tunFlags ipvs.TunnelFlags

	options    uint64 // 1 << optc of each option given
	schedFlags string // -b's argument, read after the other options
}

func (e *entry) has(optc int) bool { return e.options&(1<<optc) != 0 }

// setOption is ipvsadm's set_option.
func (e *entry) setOption(optc int) error {
	if e.has(optc) {
		return fmt.Errorf("multiple '%s' options specified", optNames[optc])
	}
	e.options |= 1 << optc
	return nil
}

// parseLine reads one line's words as ipvsadm 1.31 reads its arguments
// and returns the Rule of the request it would send.
func parseLine(args []string) (ipvs.Rule, error) {
	// process_options' defaults.
	e := entry{weight: 1, fwd: ipvs.DirectRoute, netmask: 0xffffffff}
	var leftovers []string
	first := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			leftovers = append(leftovers, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			leftovers = append(leftovers, a)
			continue
		}
		// popt: one long option (--name or --name=value), or a cluster of
		// short ones where an option taking a value takes the rest of the
		// word (-w2, -p10) or else the next word.
		type occurrence struct {
			o      *option
			val    string
			hasVal bool
		}
		var occs []occurrence
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := lookupOption(name, 0)
			if o == nil {
				return ipvs.Rule{}, fmt.Errorf("%s: unknown option", a)
			}
			if hasVal && o.arg == optNone {
				return ipvs.Rule{}, fmt.Errorf("%s: option does not take an argument", a)
			}
			occs = append(occs, occurrence{o, val, hasVal})
		} else {
			for j := 1; j < len(a); j++ {
				o := lookupOption("", a[j])
				if o == nil {
					return ipvs.Rule{}, fmt.Errorf("%s: unknown option", a)
				}
				if o.arg != optNone && j+1 < len(a) {
					occs = append(occs, occurrence{o, strings.TrimPrefix(a[j+1:], "="), true})
					break
				}
				occs = append(occs, occurrence{o: o})
			}
		}
		for _, oc := range occs {
			switch {
			case oc.o.arg == optRequired && !oc.hasVal:
				if i+1 >= len(args) {
					return ipvs.Rule{}, fmt.Errorf("%s: missing argument", a)
				}
				i++
				oc.val, oc.hasVal = args[i], true
			case oc.o.arg == optOptional && !oc.hasVal:
				// popt takes the next word unless it starts with '-'.
				if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					oc.val, oc.hasVal = args[i], true
				}
			}
			if first {
				// The first option must be the command.
				first = false
				switch oc.o.cmd {
				case 0:
					return ipvs.Rule{}, fmt.Errorf("the first option must be a command (-A, -E, -D, -a, -e, -d), not %s (ipvsadm: \"Try `ipvsadm -h'\")", a)
				case notARule:
					return ipvs.Rule{}, fmt.Errorf("%s is not a rule command (-A, -E, -D, -a, -e, -d)", a)
				}
				e.cmd = oc.o.cmd
				continue
			}
			if err := e.parseOption(oc.o, a, oc.val, oc.hasVal); err != nil {
				return ipvs.Rule{}, err
			}
		}
	}
	if first {
		return ipvs.Rule{}, fmt.Errorf("no command (-A, -E, -D, -a, -e, -d)")
	}
	if len(leftovers) > 0 {
		return ipvs.Rule{}, fmt.Errorf("unexpected argument %s", leftovers[0])
	}
	if e.schedFlags != "" {
		e.flags &^= ipvs.SchedFlag1 | ipvs.SchedFlag2 | ipvs.SchedFlag3
		f, err := parseSchedFlags(e.sched, e.schedFlags)
		if err != nil {
			return ipvs.Rule{}, err
		}
		e.flags |= f
	}
	if err := e.check(); err != nil {
		return ipvs.Rule{}, err
	}
	return e.rule()
}

func lookupOption(long string, short byte) *option {
	for i, o := range optionTable {
		if (long != "" && o.long == long) || (short != 0 && o.short == short) {
			return &optionTable[i]
		}
	}
	return nil
}

// parseOption is one turn of parse_options' loop.
func (e *entry) parseOption(o *option, word, val string, hasVal bool) error {
	if o.cmd != 0 {
		return fmt.Errorf("invalid option `%s'", word)
	}
	if o.optc >= 0 {
		if err := e.setOption(o.optc); err != nil {
			return err
		}
	}
	switch o.long {
	case "tcp-service", "udp-service", "sctp-service":
		e.protocol = map[string]ipvs.Protocol{"tcp-service": ipvs.TCP, "udp-service": ipvs.UDP, "sctp-service": ipvs.SCTP}[o.long]
		p, res, err := parseService(val)
		if err != nil {
			return err
		}
		if res&serviceAddr == 0 {
			return errors.New("illegal virtual server address[:port] specified")
		}
		e.af, e.addr = p.af, p.addr
		if p.af == ipvs.IPv6 {
			e.netmask = 128
		}
		if res&servicePort != 0 {
			e.port = p.port
		}
	case "fwmark-service":
		// "Set protocol to a sane values, even though it is not used."
		e.af, e.protocol = ipvs.IPv4, ipvs.TCP
		n, ok := strtol(val)
		if !ok || n <= 0 || n > 1<<32-1 {
			return fmt.Errorf("invalid fwmark value `%s' specified", val)
		}
		e.fwmark = uint32(n)
	case "scheduler":
		e.sched = truncate(val, 15) // IP_VS_SCHEDNAME_MAXLEN - 1
	case "persistent":
		e.flags |= ipvs.FlagPersistent
		e.timeout = defaultTimeout
		if hasVal {
			n, ok := stringToNumber(val, 1, maxTimeout)
			if !ok {
				return fmt.Errorf("invalid timeout value `%s' specified", val)
			}
			e.timeout = n
		}
	case "netmask":
		if e.af != ipvs.IPv6 {
			m, ok := inetAton(val)
			if !ok {
				return errors.New("illegal virtual server persistent mask specified (ParseRules does not look names up)")
			}
			e.netmask = m
		} else {
			n := atoi(val)
			if n < 1 || n > 128 {
				return errors.New("illegal ipv6 netmask specified")
			}
			e.netmask = uint32(n)
		}
	case "real-server":
		p, res, err := parseService(val)
		if err != nil {
			return err
		}
		if res&serviceAddr == 0 {
			return errors.New("illegal real server address[:port] specified")
		}
		e.daf, e.daddr, e.dport = p.af, p.addr, e.port
		if res&servicePort != 0 {
			e.dport = p.port
		}
		// Without a port: the service's as parsed so far ("copy vport to
		// dport if not specified").
	case "ipip":
		e.fwd = ipvs.Tunnel
	case "gatewaying":
		e.fwd = ipvs.DirectRoute
	case "masquerading":
		e.fwd = ipvs.Masquerade
	case "weight":
		n, ok := stringToNumber(val, 0, intMax)
		if !ok {
			return errors.New("illegal weight specified")
		}
		e.weight = n
	case "u-threshold":
		n, ok := stringToNumber(val, 0, intMax)
		if !ok {
			return errors.New("illegal u_threshold specified")
		}
		e.uthresh = n
	case "l-threshold":
		n, ok := stringToNumber(val, 0, intMax)
		if !ok {
			return errors.New("illegal l_threshold specified")
		}
		e.lthresh = n
	case "ipv6":
		if e.fwmark == 0 {
			return errors.New("-6 used before -f")
		}
		e.af, e.netmask = ipvs.IPv6, 128
	case "ops":
		e.flags |= ipvs.FlagOnePacket
	case "pe":
		e.pe = truncate(val, 15)
	case "sched-flags":
		e.schedFlags = truncate(val, 127)
	case "tun-type":
		// ipvsadm takes the names as written: the text form, exactly.
		var t ipvs.TunnelType
		if t.UnmarshalText([]byte(val)) != nil || t.String() != val {
			return errors.New("illegal tunnel type specified")
		}
		e.tunType = t
	case "tun-port":
		n, ok := stringToNumber(val, 1, 65535)
		if !ok {
			return errors.New("illegal tunnel port specified")
		}
		e.tunPort = uint16(n)
	case "tun-nocsum":
	case "tun-csum":
		e.tunFlags |= ipvs.TunnelChecksum
	case "tun-remcsum":
		e.tunFlags |= ipvs.TunnelRemoteChecksum
	}
	// The listing and daemon options only count: they are illegal with
	// every rule command.
	return nil
}

// check is what process_options does after parsing: generic_opt_check,
// then the rules of -A/-E and of -a/-e, which fill in and rewrite fields.
func (e *entry) check() error {
	c := commands[e.cmd]
	for j, name := range optNames {
		switch given := e.has(j); {
		case !given && c.row[j] == '+':
			return fmt.Errorf("You need to supply the '%s' option for the '%s' command", name, c.name)
		case given && c.row[j] == 'x':
			return fmt.Errorf("Illegal '%s' option with the '%s' command", name, c.name)
		}
	}
	switch e.cmd {
	case ipvs.CreateService, ipvs.UpdateService:
		if e.fwmark == 0 && e.port == 0 && e.flags&ipvs.FlagPersistent == 0 {
			return errors.New("Zero port specified for non-persistent service")
		}
		if e.flags&ipvs.FlagOnePacket != 0 && e.fwmark == 0 && e.protocol != ipvs.UDP {
			return errors.New("One-Packet Scheduling is only for UDP virtual services")
		}
		if e.sched == "" {
			e.sched = defaultSched
		}
	case ipvs.CreateDestination, ipvs.UpdateDestination:
		// "The destination port must be equal to the service port if
		// the IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set. Don't
		// worry about this if fwmark is used."
		if e.fwmark == 0 && (e.fwd == ipvs.Tunnel || e.fwd == ipvs.DirectRoute) {
			e.dport = e.port
		}
		if e.daf != e.af && e.fwd != ipvs.Tunnel {
			return errors.New("Different address family is allowed only for tunneling servers")
		}
		tun := uint64(1)<<optcTunType | 1<<optcTunPort | 1<<optcTunNoCsum | 1<<optcTunCsum | 1<<optcTunRemCsum
		if e.options&tun != 0 && e.fwd != ipvs.Tunnel {
			return errors.New("Tunnel options conflict with forward method")
		}
		// tunnel_opt_check
		row, name := tunnelOpts[e.tunType], e.tunType.String()
		last := -1
		for j, optc := range []int{optcTunPort, optcTunNoCsum, optcTunCsum, optcTunRemCsum} {
			opt := optNames[optc]
			switch given := e.has(optc); {
			case !given && row[j] == '+':
				return fmt.Errorf("You need to supply the '%s' option for the '%s' tunnel type", opt, name)
			case given && row[j] == 'x':
				return fmt.Errorf("Illegal '%s' option with the '%s' tunnel type", opt, name)
			case given && row[j] == '1':
				if last >= 0 {
					return fmt.Errorf("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", opt, optNames[last], name)
				}
				last = optc
			}
		}
	}
	return nil
}

// rule turns what ipvsadm would send into a Rule, refusing what a Rule
// cannot say, and validates it as the client will (ipvs.ValidateRule).
func (e *entry) rule() (ipvs.Rule, error) {
	r := ipvs.Rule{Command: e.cmd}
	if e.fwmark != 0 {
		r.Service.FirewallMark = e.fwmark
		if e.af == ipvs.IPv6 {
			r.Service.Family = ipvs.IPv6
		}
	} else {
		if e.addr.Is4In6() {
			return r, fmt.Errorf("%v is an IPv4-mapped IPv6 address: ipvsadm sends it as an IPv6 address, which a Service cannot hold (write %v)", e.addr, e.addr.Unmap())
		}
		r.Service.Protocol, r.Service.Addr = e.protocol, netip.AddrPortFrom(e.addr, e.port)
		if e.port == 0 && e.cmd != ipvs.CreateService && e.cmd != ipvs.UpdateService {
			// Only a persistent service has port 0 (-A and -E refuse
			// one without -p): the Rule names it so, as the client's
			// validation wants. Only the key is sent.
			r.Service.Flags = ipvs.FlagPersistent
		}
	}
	switch e.cmd {
	case ipvs.DeleteService:
		return r, ipvs.ValidateRule(r)
	case ipvs.CreateService, ipvs.UpdateService:
		s := &r.Service
		s.Scheduler = ipvs.Scheduler(e.sched)
		if !s.Scheduler.Known() {
			return r, fmt.Errorf("scheduler %q: the kernel has no such scheduler (ipvsadm sends the name as it is, in any case, and the kernel refuses it: \"Scheduler or persistence engine not found\")", e.sched)
		}
		s.Flags, s.Timeout, s.PersistenceEngine = e.flags, time.Duration(e.timeout)*time.Second, e.pe
		if e.af == ipvs.IPv6 {
			if e.netmask != 128 {
				s.Netmask = int(e.netmask)
			}
		} else if e.netmask != 0xffffffff {
			n := bits.LeadingZeros32(^e.netmask)
			if n == 0 || e.netmask != ^uint32(0)<<(32-n) {
				m := netip.AddrFrom4([4]byte{byte(e.netmask >> 24), byte(e.netmask >> 16), byte(e.netmask >> 8), byte(e.netmask)})
				return r, fmt.Errorf("netmask %v: ipvsadm sends it as it is, but a Service's Netmask is a prefix length from 1 to 32 (a bare number such as -M 24 is the address 0.0.0.24 to ipvsadm)", m)
			}
			s.Netmask = n
		}
		return r, ipvs.ValidateRule(r)
	}
	// -a, -e, -d
	if e.daddr.Is4In6() {
		return r, fmt.Errorf("%v is an IPv4-mapped IPv6 address: ipvsadm sends it as an IPv6 address, which the kernel refuses as a real server (write %v)", e.daddr, e.daddr.Unmap())
	}
	r.Destination = ipvs.Destination{Addr: netip.AddrPortFrom(e.daddr, e.dport)}
	if e.cmd != ipvs.DeleteDestination {
		d := &r.Destination
		d.Forward, d.Weight = e.fwd, int(e.weight)
		d.UpperThreshold, d.LowerThreshold = uint32(e.uthresh), uint32(e.lthresh)
		d.TunnelType, d.TunnelPort, d.TunnelFlags = e.tunType, e.tunPort, e.tunFlags
	}
	return r, ipvs.ValidateRule(r)
}

// parseSchedFlags is parse_sched_flags: -b's comma-separated names, each a
// scheduler flag's name for every scheduler (flag-1) or its name under one
// scheduler (sh-port, mh-fallback: ipvs.ServiceFlags.Names), which only that
// scheduler takes (wlc if -s is not given). ipvsadm 1.31 knows the names
// the spelling table has: flag-1..3 and sh's and mh's.
func parseSchedFlags(sched, arg string) (ipvs.ServiceFlags, error) {
	if sched == "" {
		sched = defaultSched
	}
	var f ipvs.ServiceFlags
	names := strings.FieldsFunc(arg, func(r rune) bool { return r == ',' })
	if len(names) == 0 {
		return 0, fmt.Errorf("invalid scheduler flag `%s'", arg)
	}
	for _, n := range names {
		one, ok := schedFlag(n)
		if !ok {
			return 0, fmt.Errorf("invalid scheduler flag `%s'", n)
		}
		f |= one
		if n != one.Names("")[0] && n != one.Names(ipvs.Scheduler(sched))[0] {
			return 0, fmt.Errorf("incompatible scheduler flag `%s'", n)
		}
	}
	return f, nil
}

// schedFlag is the scheduler flag -b's name n stands for: its name for
// every scheduler (flag-1) or under one of them (sh-fallback), as written.
func schedFlag(n string) (ipvs.ServiceFlags, bool) {
	for _, f := range []ipvs.ServiceFlags{ipvs.SchedFlag1, ipvs.SchedFlag2, ipvs.SchedFlag3} {
		if f.Names("")[0] == n {
			return f, true
		}
		for _, s := range ipvs.Schedulers() {
			if f.Names(s)[0] == n {
				return f, true
			}
		}
	}
	return 0, false
}
