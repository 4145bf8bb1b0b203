package ipvs

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
	"time"
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
type ipvsadmOption struct {
	long  string
	short byte
	arg   uint8 // optNone, optRequired or optOptional
	optc  int   // its column in ipvsadmOptNames, or -1 (commands, -6, --sort)
	cmd   Command
}

const (
	optNone = iota
	optRequired
	optOptional
)

// ipvsadmOptNames are ipvsadm's option names by OPTC_ number (optnames[]).
var ipvsadmOptNames = []string{
	"numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
	"real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
	"mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds",
	"persistent-conn", "nosort", "syncid", "exact", "ops", "pe", "sched-flags",
	"mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
	"tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
}

const (
	optcService     = 2
	optcScheduler   = 3
	optcPersistent  = 4
	optcNetmask     = 5
	optcServer      = 6
	optcForward     = 7
	optcWeight      = 8
	optcUThreshold  = 9
	optcLThreshold  = 10
	optcOps         = 21
	optcPE          = 22
	optcSchedFlags  = 23
	optcTunType     = 29
	optcTunPort     = 30
	optcTunNoCsum   = 31
	optcTunCsum     = 32
	optcTunRemCsum  = 33
	notAnIpvsadmOpt = -1
)

// notARule marks ipvsadm's commands that are not rule commands (-C, -L,
// -Z, -R, -S, --set, the daemons, -h, -v).
const notARule Command = -1

var ipvsadmOptions = []ipvsadmOption{
	{"add-service", 'A', optNone, -1, AddService},
	{"edit-service", 'E', optNone, -1, EditService},
	{"delete-service", 'D', optNone, -1, DeleteService},
	{"clear", 'C', optNone, -1, notARule},
	{"list", 'L', optNone, -1, notARule},
	{"list", 'l', optNone, -1, notARule},
	{"zero", 'Z', optNone, -1, notARule},
	{"add-server", 'a', optNone, -1, AddServer},
	{"edit-server", 'e', optNone, -1, EditServer},
	{"delete-server", 'd', optNone, -1, DeleteServer},
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
	{"sort", 0, optNone, notAnIpvsadmOpt, 0},
	{"exact", 'X', optNone, 20, 0},
	{"ipv6", '6', optNone, notAnIpvsadmOpt, 0},
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

// ipvsadmCommands are ipvsadm's commands_v_options rows for the rule
// commands, one character per option in ipvsadmOptNames' order: '+'
// compulsory, 'x' illegal, ' ' optional; and cmdnames[].
var ipvsadmCommands = map[Command]struct{ name, row string }{
	AddService:    {"add-service", "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"},
	EditService:   {"edit-service", "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"},
	DeleteService: {"delete-service", "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	AddServer:     {"add-server", "xx+xxx+    xxxxxxxxxxxxxxxxxx     "},
	DeleteServer:  {"delete-server", "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	EditServer:    {"edit-server", "xx+xxx+    xxxxxxxxxxxxxxxxxx     "},
}

// ipvsadmTunnels are tunnel_types_v_options: per tunnel type, the options
// --tun-port, --tun-nocsum, --tun-csum, --tun-remcsum ('1': at most one of
// them).
var ipvsadmTunnels = [...]struct{ name, row string }{
	TunnelIPIP: {"ipip", "xxxx"},
	TunnelGUE:  {"gue", "+111"},
	TunnelGRE:  {"gre", "x11x"},
}

const (
	ipvsadmMaxTimeout     = 86400 * 31 // MAX_TIMEOUT
	ipvsadmDefaultTimeout = 6 * 60     // libipvs.h's IPVS_SVC_PERSISTENT_TIMEOUT (the manual says 300)
	ipvsadmDefaultSched   = "wlc"      // DEF_SCHED
	intMax                = 1<<31 - 1
)

// ipvsadmEntry is ipvsadm's struct ipvs_command_entry for one rule line, in
// ipvsadm's own representation.
type ipvsadmEntry struct {
	cmd Command
	// ipvs_service_t
	af       Family
	protocol Protocol
	addr     netip.Addr
	port     uint16
	fwmark   uint32
	sched    string
	flags    ServiceFlags
	timeout  int64
	netmask  uint32 // IPv4: the mask (0xffffffff is /32); IPv6: a prefix length
	pe       string
	// ipvs_dest_t
	daf      Family
	daddr    netip.Addr
	dport    uint16
	fwd      ForwardMethod
	weight   int64
	uthresh  int64
	lthresh  int64
	tunType  TunnelType
	tunPort  uint16
	tunFlags TunnelFlags

	options    uint64 // 1 << optc of each option given
	schedFlags string // -b's argument, read after the other options
}

func (e *ipvsadmEntry) has(optc int) bool { return e.options&(1<<optc) != 0 }

// setOption is ipvsadm's set_option.
func (e *ipvsadmEntry) setOption(optc int) error {
	if e.has(optc) {
		return fmt.Errorf("multiple '%s' options specified", ipvsadmOptNames[optc])
	}
	e.options |= 1 << optc
	return nil
}

// ipvsadmRule reads one line's words as ipvsadm 1.31 reads its arguments
// and returns the Rule of the request it would send.
func ipvsadmRule(args []string) (Rule, error) {
	// process_options' defaults.
	e := ipvsadmEntry{weight: 1, fwd: DirectRoute, netmask: 0xffffffff}
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
			o      *ipvsadmOption
			val    string
			hasVal bool
		}
		var occs []occurrence
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := lookupIpvsadmOption(name, 0)
			if o == nil {
				return Rule{}, fmt.Errorf("%s: unknown option", a)
			}
			if hasVal && o.arg == optNone {
				return Rule{}, fmt.Errorf("%s: option does not take an argument", a)
			}
			occs = append(occs, occurrence{o, val, hasVal})
		} else {
			for j := 1; j < len(a); j++ {
				o := lookupIpvsadmOption("", a[j])
				if o == nil {
					return Rule{}, fmt.Errorf("%s: unknown option", a)
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
					return Rule{}, fmt.Errorf("%s: missing argument", a)
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
					return Rule{}, fmt.Errorf("the first option must be a command (-A, -E, -D, -a, -e, -d), not %s (ipvsadm: \"Try `ipvsadm -h'\")", a)
				case notARule:
					return Rule{}, fmt.Errorf("%s is not a rule command (-A, -E, -D, -a, -e, -d)", a)
				}
				e.cmd = oc.o.cmd
				continue
			}
			if err := e.option(oc.o, a, oc.val, oc.hasVal); err != nil {
				return Rule{}, err
			}
		}
	}
	if first {
		return Rule{}, fmt.Errorf("no command (-A, -E, -D, -a, -e, -d)")
	}
	if len(leftovers) > 0 {
		return Rule{}, fmt.Errorf("unexpected argument %s", leftovers[0])
	}
	if e.schedFlags != "" {
		e.flags &^= SchedFlag1 | SchedFlag2 | SchedFlag3
		f, err := ipvsadmSchedFlags(e.sched, e.schedFlags)
		if err != nil {
			return Rule{}, err
		}
		e.flags |= f
	}
	if err := e.check(); err != nil {
		return Rule{}, err
	}
	return e.rule()
}

func lookupIpvsadmOption(long string, short byte) *ipvsadmOption {
	for i, o := range ipvsadmOptions {
		if (long != "" && o.long == long) || (short != 0 && o.short == short) {
			return &ipvsadmOptions[i]
		}
	}
	return nil
}

// option is one turn of parse_options' loop.
func (e *ipvsadmEntry) option(o *ipvsadmOption, word, val string, hasVal bool) error {
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
		e.protocol = map[string]Protocol{"tcp-service": TCP, "udp-service": UDP, "sctp-service": SCTP}[o.long]
		p, res, err := ipvsadmParseService(val)
		if err != nil {
			return err
		}
		if res&serviceAddr == 0 {
			return errors.New("illegal virtual server address[:port] specified")
		}
		e.af, e.addr = p.af, p.addr
		if p.af == IPv6 {
			e.netmask = 128
		}
		if res&servicePort != 0 {
			e.port = p.port
		}
	case "fwmark-service":
		// "Set protocol to a sane values, even though it is not used."
		e.af, e.protocol = IPv4, TCP
		n, ok := strtol(val)
		if !ok || n <= 0 || n > 1<<32-1 {
			return fmt.Errorf("invalid fwmark value `%s' specified", val)
		}
		e.fwmark = uint32(n)
	case "scheduler":
		e.sched = truncate(val, 15) // IP_VS_SCHEDNAME_MAXLEN - 1
	case "persistent":
		e.flags |= FlagPersistent
		e.timeout = ipvsadmDefaultTimeout
		if hasVal {
			n, ok := stringToNumber(val, 1, ipvsadmMaxTimeout)
			if !ok {
				return fmt.Errorf("invalid timeout value `%s' specified", val)
			}
			e.timeout = n
		}
	case "netmask":
		if e.af != IPv6 {
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
		p, res, err := ipvsadmParseService(val)
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
		e.fwd = Tunnel
	case "gatewaying":
		e.fwd = DirectRoute
	case "masquerading":
		e.fwd = Masquerade
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
		e.af, e.netmask = IPv6, 128
	case "ops":
		e.flags |= FlagOnePacket
	case "pe":
		e.pe = truncate(val, 15)
	case "sched-flags":
		e.schedFlags = truncate(val, 127)
	case "tun-type":
		t, ok := map[string]TunnelType{"ipip": TunnelIPIP, "gue": TunnelGUE, "gre": TunnelGRE}[val]
		if !ok {
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
		e.tunFlags |= TunnelChecksum
	case "tun-remcsum":
		e.tunFlags |= TunnelRemoteChecksum
	}
	// The listing and daemon options only count: they are illegal with
	// every rule command.
	return nil
}

// check is what process_options does after parsing: generic_opt_check,
// then the rules of -A/-E and of -a/-e, which fill in and rewrite fields.
func (e *ipvsadmEntry) check() error {
	c := ipvsadmCommands[e.cmd]
	for j, name := range ipvsadmOptNames {
		switch given := e.has(j); {
		case !given && c.row[j] == '+':
			return fmt.Errorf("You need to supply the '%s' option for the '%s' command", name, c.name)
		case given && c.row[j] == 'x':
			return fmt.Errorf("Illegal '%s' option with the '%s' command", name, c.name)
		}
	}
	switch e.cmd {
	case AddService, EditService:
		if e.fwmark == 0 && e.port == 0 && e.flags&FlagPersistent == 0 {
			return errors.New("Zero port specified for non-persistent service")
		}
		if e.flags&FlagOnePacket != 0 && e.fwmark == 0 && e.protocol != UDP {
			return errors.New("One-Packet Scheduling is only for UDP virtual services")
		}
		if e.sched == "" {
			e.sched = ipvsadmDefaultSched
		}
	case AddServer, EditServer:
		// "The destination port must be equal to the service port if
		// the IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is set. Don't
		// worry about this if fwmark is used."
		if e.fwmark == 0 && (e.fwd == Tunnel || e.fwd == DirectRoute) {
			e.dport = e.port
		}
		if e.daf != e.af && e.fwd != Tunnel {
			return errors.New("Different address family is allowed only for tunneling servers")
		}
		tun := uint64(1)<<optcTunType | 1<<optcTunPort | 1<<optcTunNoCsum | 1<<optcTunCsum | 1<<optcTunRemCsum
		if e.options&tun != 0 && e.fwd != Tunnel {
			return errors.New("Tunnel options conflict with forward method")
		}
		// tunnel_opt_check
		t := ipvsadmTunnels[e.tunType]
		last := -1
		for j, optc := range []int{optcTunPort, optcTunNoCsum, optcTunCsum, optcTunRemCsum} {
			name := ipvsadmOptNames[optc]
			switch given := e.has(optc); {
			case !given && t.row[j] == '+':
				return fmt.Errorf("You need to supply the '%s' option for the '%s' tunnel type", name, t.name)
			case given && t.row[j] == 'x':
				return fmt.Errorf("Illegal '%s' option with the '%s' tunnel type", name, t.name)
			case given && t.row[j] == '1':
				if last >= 0 {
					return fmt.Errorf("The option '%s' conflicts with the '%s' option in the '%s' tunnel type", name, ipvsadmOptNames[last], t.name)
				}
				last = optc
			}
		}
	}
	return nil
}

// rule turns what ipvsadm would send into a Rule, refusing what a Rule
// cannot say, and validates it as the client will.
func (e *ipvsadmEntry) rule() (Rule, error) {
	r := Rule{Command: e.cmd}
	if e.fwmark != 0 {
		r.Service.FirewallMark = e.fwmark
		if e.af == IPv6 {
			r.Service.Family = IPv6
		}
	} else {
		if e.addr.Is4In6() {
			return r, fmt.Errorf("%v is an IPv4-mapped IPv6 address: ipvsadm sends it as an IPv6 address, which a Service cannot hold (write %v)", e.addr, e.addr.Unmap())
		}
		r.Service.Protocol, r.Service.Addr = e.protocol, netip.AddrPortFrom(e.addr, e.port)
		if e.port == 0 && e.cmd != AddService && e.cmd != EditService {
			// Only a persistent service has port 0 (-A and -E refuse
			// one without -p): the Rule names it so, as validateKey
			// wants. Only the key is sent.
			r.Service.Flags = FlagPersistent
		}
	}
	switch e.cmd {
	case DeleteService:
		return r, r.Service.validateKey()
	case AddService, EditService:
		s := &r.Service
		s.Scheduler = Scheduler(e.sched)
		if !s.Scheduler.Known() {
			return r, fmt.Errorf("scheduler %q: the kernel has no such scheduler (ipvsadm sends the name as it is, in any case, and the kernel refuses it: \"Scheduler or persistence engine not found\")", e.sched)
		}
		s.Flags, s.Timeout, s.PersistenceEngine = e.flags, time.Duration(e.timeout)*time.Second, e.pe
		if e.af == IPv6 {
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
		return r, s.validate()
	}
	// -a, -e, -d
	if e.daddr.Is4In6() {
		return r, fmt.Errorf("%v is an IPv4-mapped IPv6 address: ipvsadm sends it as an IPv6 address, which the kernel refuses as a real server (write %v)", e.daddr, e.daddr.Unmap())
	}
	d := Destination{Addr: netip.AddrPortFrom(e.daddr, e.dport)}
	if err := r.Service.validateKey(); err != nil {
		return r, err
	}
	if e.cmd == DeleteServer {
		r.Destination = d
		return r, nil
	}
	d.Forward, d.Weight = e.fwd, int(e.weight)
	d.UpperThreshold, d.LowerThreshold = uint32(e.uthresh), uint32(e.lthresh)
	d.TunnelType, d.TunnelPort, d.TunnelFlags = e.tunType, e.tunPort, e.tunFlags
	r.Destination = d
	return r, d.validate(r.Service)
}

// ipvsadmSchedFlags is parse_sched_flags: -b's comma-separated names, the
// sh- and mh- ones only with their scheduler (wlc if -s is not given).
func ipvsadmSchedFlags(sched, arg string) (ServiceFlags, error) {
	if sched == "" {
		sched = ipvsadmDefaultSched
	}
	var f ServiceFlags
	names := strings.FieldsFunc(arg, func(r rune) bool { return r == ',' })
	if len(names) == 0 {
		return 0, fmt.Errorf("invalid scheduler flag `%s'", arg)
	}
	for _, n := range names {
		var need string
		switch n {
		case "flag-1":
			f |= SchedFlag1
		case "flag-2":
			f |= SchedFlag2
		case "flag-3":
			f |= SchedFlag3
		case "sh-fallback":
			f, need = f|FlagSHFallback, "sh"
		case "sh-port":
			f, need = f|FlagSHPort, "sh"
		case "mh-fallback":
			f, need = f|FlagMHFallback, "mh"
		case "mh-port":
			f, need = f|FlagMHPort, "mh"
		default:
			return 0, fmt.Errorf("invalid scheduler flag `%s'", n)
		}
		if need != "" && sched != need {
			return 0, fmt.Errorf("incompatible scheduler flag `%s'", n)
		}
	}
	return f, nil
}
