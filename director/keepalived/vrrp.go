package keepalived

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
)

// This file reads keepalived's vrrp_instance and vrrp_script blocks as
// keepalived 2.2.7's vrrp_parser.c reads them; vrrpfinish.go completes
// the instances as vrrp.c's vrrp_complete_instance does and builds the
// director's vrrp section.

// vrrpState is what the VRRP blocks read so far hold.
type vrrpState struct {
	insts   []*vrrpInst
	byName  map[string]*vrrpInst
	scripts map[string]*vrrpScript
	ordered []*vrrpScript // the scripts in the order read
	groups  []*syncGroup
	// groupByName indexes groups.
	groupByName map[string]*syncGroup
	// global_defs' settings: the garp ones as instances take them when
	// they start (keepalived copies them into each instance as it reads
	// its vrrp_instance line), the others as they are at the end.
	garp       garpSettings
	version    int // vrrp_version; 0: 2
	strict     *node
	lowerRep   *int
	lowerDelay *time.Duration
}

// garpSettings are keepalived's per-instance gratuitous ARP settings.
type garpSettings struct {
	rep        int
	delay      time.Duration
	refresh    time.Duration
	refreshRep int
}

// keepalived's defaults (vrrp.h: VRRP_GARP_REP, VRRP_GARP_DELAY,
// VRRP_GARP_REFRESH, VRRP_GARP_REFRESH_REP).
var defaultGARP = garpSettings{rep: 5, delay: 5 * time.Second, refreshRep: 1}

// vrrpScript is a vrrp_script block as read.
type vrrpScript struct {
	n        *node
	name     string
	argv     []string
	interval time.Duration
	timeout  time.Duration // 0: the interval, as keepalived runs it
	rise     int
	fall     int
	weight   int
	reverse  bool
	capNoted bool // its timeout's cap noted
}

// trackItem is an interface or a script an instance or a sync group
// tracks, as read.
type trackItem struct {
	n       *node
	name    string
	script  *vrrpScript // nil for an interface
	weight  int
	reverse bool
}

// vrrpInst is a vrrp_instance block as read.
type vrrpInst struct {
	n     *node
	name  string
	block string // as notes name it
	out   director.VRRPInstance

	family         int // 4, 6, or 0 while no address says
	version        int // the instance's version keyword, 0 if none
	prioSet        bool
	stateMaster    bool
	strict         *node // strict_mode
	unicast        bool  // a unicast keyword was given
	authType       string
	authN, passN   *node
	password       string
	nopreemptN     *node
	preemptDelayN  *node
	garp           garpSettings
	lowerRep       *int
	lowerDelay     *time.Duration
	tracks         []trackItem
	tracked        map[trackKey]bool
	addrs          map[netip.Addr]bool // VIPs, excluded ones apart (seen[true])
	excluded       map[netip.Addr]bool
	peers          map[netip.Addr]bool
	group          *syncGroup
	carried        bool
	syncInterfaceN *node // lvs_sync_daemon_interface
}

// vrrpNotOption are the vrrp_instance keywords the director has no
// counterpart of, with why.
var vrrpNotOption = map[string]string{
	"use_vmac":                   "the director holds VIPs on its own interfaces and moves the neighbours with gratuitous ARPs, not on a macvlan with the VRRP MAC address",
	"use_vmac_addr":              "the director uses no VMAC",
	"vmac_xmit_base":             "the director uses no VMAC",
	"use_ipvlan":                 "the director holds VIPs on its own interfaces, not on an ipvlan",
	"garp_extra_if":              "the director uses no VMAC",
	"vmac_garp_intvl":            "the director uses no VMAC",
	"vrf":                        "the director sends adverts on the instance's interface",
	"accept":                     "the director adds no firewall rules; a VIP accepts its traffic as any address of the host",
	"no_accept":                  "the director adds no firewall rules (keepalived's accept mode drops a backup's VIP traffic)",
	"strict_mode":                "", // read
	"dont_track_primary":         "the director has no such option: keepalived then ignores its own interface going down",
	"track_file":                 "the director has no file tracking; track a command check that reads the file instead",
	"track_process":              "the director has no process tracking; track a command check (pgrep) instead",
	"track_bfd":                  "the director has no BFD",
	"track_src_ip":               "the director does not fault the instance when the source address goes",
	"mcast_dst_ip":               "the director sends to the standard group (224.0.0.18, ff02::12)",
	"unicast_ttl":                "the director sends unicast adverts with TTL 255",
	"check_unicast_src":          "the director takes unicast adverts only from its peers anyway",
	"unicast_fault_no_peer":      "the director's instances without peers use multicast",
	"old_unicast_checksum":       "the director computes the checksum as keepalived does by default",
	"skip_check_adv_addr":        "the director always checks an advert's addresses",
	"promote_secondaries":        "the director does not change the interface's promote_secondaries",
	"linkbeat_use_polling":       "the director follows the link through netlink",
	"virtual_routes":             "the director adds no routes with the VIPs",
	"virtual_rules":              "the director adds no routing rules with the VIPs",
	"debug":                      "no counterpart in the director",
	"smtp_alert":                 "the director sends no e-mail",
	"notify_priority_changes":    "the director runs notify commands on state changes only",
	"notify_deleted":             "the director has no deleted state",
	"notify_master_rx_lower_pri": "no counterpart in the director",
	"down_timer_adverts":         "the director's Master_Down_Interval is the RFC's, 3 adverts",
	"lower_prio_no_advert":       "the director always answers a lower priority with an advert, as keepalived does by default",
	"higher_prio_send_advert":    "the director sends no advert on hearing a higher priority, as keepalived by default",
	"kernel_rx_buf_size":         "the director sizes its socket itself",
	"linkbeat_interfaces":        "the director follows the link through netlink",
}

func (st *vrrpState) init() {
	if st.byName == nil {
		st.byName = map[string]*vrrpInst{}
		st.scripts = map[string]*vrrpScript{}
		st.groupByName = map[string]*syncGroup{}
		st.garp = defaultGARP
	}
}

// vrrpInstance reads a vrrp_instance block.
func (im *importer) vrrpInstance(n *node) {
	st := &im.vrrp
	st.init()
	if len(n.args()) != 1 {
		im.note(n, "", "", "%s: not carried over (a vrrp_instance takes one name: keepalived skips it)", n.header())
		return
	}
	if prev, dup := st.byName[n.arg(0)]; dup {
		im.note(n, "", "", "%s: not carried over (defined again: keepalived skips it and keeps line %d's)", n.header(), prev.n.line)
		return
	}
	in := &vrrpInst{n: n, name: n.arg(0), block: n.header(), garp: st.garp, tracked: map[trackKey]bool{},
		addrs: map[netip.Addr]bool{}, excluded: map[netip.Addr]bool{}, peers: map[netip.Addr]bool{}}
	in.out.Name = in.name
	for _, s := range n.children {
		im.vrrpOption(in, s)
	}
	st.insts = append(st.insts, in)
	st.byName[in.name] = in
}

// vrrpOption reads one statement of a vrrp_instance block.
func (im *importer) vrrpOption(in *vrrpInst, s *node) {
	note := func(format string, args ...any) { im.optionNote(s, in.block, format, args...) }
	ignored := func(why string) { note("%s, ignored (as keepalived does)", why) }
	if why, ok := vrrpNotOption[s.key()]; ok && why != "" {
		note("not carried over (%s)", why)
		return
	}
	switch s.key() {
	case "interface":
		switch name := s.arg(0); {
		case name == "" || len(name) >= 16:
			ignored("no interface name of at most 15 bytes")
		case name == "lo":
			ignored("a loopback interface")
		default:
			in.out.Interface = name
		}
	case "virtual_router_id":
		v, ok := number(s.arg(0), 255)
		if !ok || v == 0 {
			ignored(fmt.Sprintf("VRID %s is not 1-255", word(s.arg(0))))
			return
		}
		in.out.VRID = uint8(v)
	case "priority":
		in.prioSet = true
		v, ok := number(s.arg(0), 255)
		if !ok || v == 0 {
			note("priority %s is not 1-255: 100, keepalived's default, as keepalived does", word(s.arg(0)))
			v = 100
		}
		in.out.Priority = uint8(v)
	case "state":
		switch s.arg(0) {
		case "MASTER":
			in.stateMaster = true
		case "BACKUP":
			if in.stateMaster {
				ignored("BACKUP after MASTER")
			}
		default:
			note("unknown state %s: BACKUP, as keepalived does", word(s.arg(0)))
		}
	case "advert_int":
		d, ok := timer(s.arg(0))
		if !ok || d < 10*time.Millisecond || d > 255*time.Second || d%time.Microsecond != 0 {
			ignored(fmt.Sprintf("interval %s is not 0.01-255 seconds", word(s.arg(0))))
			return
		}
		in.out.Interval = d
	case "version":
		v, ok := number(s.arg(0), 3)
		switch {
		case !ok || v < 2:
			ignored(fmt.Sprintf("version %s is not 2 or 3", word(s.arg(0))))
		case in.version != 0 && in.version != int(v) || v == 2 && in.family == 6:
			ignored(fmt.Sprintf("version %d conflicts with the version already set or deduced", v))
		default:
			in.version = int(v)
		}
	case "native_ipv6":
		if in.family == 4 {
			ignored("IPv4 addresses came before")
			return
		}
		in.family, in.version = 6, 3
	case "unicast_src_ip", "mcast_src_ip":
		if s.key() == "unicast_src_ip" {
			in.unicast = true
		}
		a, ok := im.vrrpAddr(in, s, in.block, s.label(), s.arg(0), "source address")
		if ok {
			in.out.Source = a
		}
	case "unicast_peer":
		in.unicast = true
		if !im.valueBlock(in, s) {
			return
		}
		for _, p := range s.children {
			im.unicastPeer(in, p)
		}
	case "authentication":
		for _, a := range s.children {
			switch a.key() {
			case "auth_type":
				in.authType, in.authN = a.arg(0), a
				if a.arg(0) != "AH" && a.arg(0) != "PASS" {
					im.optionNote(a, in.block+": authentication", "unknown type %s, ignored (as keepalived does)", word(a.arg(0)))
					in.authType, in.authN = "", nil
				}
			case "auth_pass":
				in.password, in.passN = a.arg(0), a
				if len(in.password) > 8 {
					im.optionNote(a, in.block+": authentication", "longer than 8 bytes: its first 8 carried, as keepalived truncates it")
					in.password = in.password[:8]
				}
			default:
				im.optionNote(a, in.block+": authentication", "not carried over (unknown option)")
			}
		}
	case "virtual_ipaddress", "virtual_ipaddress_excluded":
		if !im.valueBlock(in, s) {
			return
		}
		for _, a := range s.children {
			im.vip(in, a, s.key() == "virtual_ipaddress_excluded")
		}
	case "nopreempt":
		in.out.NoPreempt, in.nopreemptN = true, s
	case "preempt":
		in.out.NoPreempt, in.nopreemptN = false, nil
	case "preempt_delay":
		d, ok := timer(s.arg(0))
		if !ok || d > 1000*time.Second {
			note("%s is not 0-1000 seconds: 0, as keepalived does", word(s.arg(0)))
			d = 0
		}
		in.out.PreemptDelay, in.preemptDelayN = d, s
	case "strict_mode":
		v, ok := boolean(s)
		if !ok {
			ignored(fmt.Sprintf("%s is not a boolean", word(s.arg(0))))
			return
		}
		in.strict = nil
		if v {
			in.strict = s
		}
	case "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
		"garp_lower_prio_delay", "garp_lower_prio_repeat":
		im.garpOption(s, in.block, &in.garp, &in.lowerRep, &in.lowerDelay, strings.TrimPrefix(s.key(), "garp_"))
	case "track_interface", "track_script":
		if !im.valueBlock(in, s) {
			return
		}
		for _, t := range s.children {
			if item, ok := im.trackItem(t, in.block+": "+s.key(), s.key() == "track_script"); ok {
				if in.tracked[item.key()] {
					im.optionNote(t, in.block+": "+s.key(), "tracked twice: the second ignored (as keepalived does)")
					continue
				}
				in.tracked[item.key()] = true
				in.tracks = append(in.tracks, item)
			}
		}
	case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
		im.vrrpNotify(&in.out.Notify, s, in.block)
	case "lvs_sync_daemon_interface":
		in.syncInterfaceN = s
	default:
		note("not carried over (unknown option)")
	}
}

// valueBlock reports whether s has a block, noting it if not.
func (im *importer) valueBlock(in *vrrpInst, s *node) bool {
	if !s.block {
		im.optionNote(s, in.block, "not carried over (a block: { ... } was expected)")
		return false
	}
	return true
}

// vrrpAddr reads an address of the instance, which sets its family if
// none has yet: keepalived skips an address of the other family.
func (im *importer) vrrpAddr(in *vrrpInst, s *node, block, option, w, what string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(w)
	if err != nil || a.Zone() != "" || a.Is4In6() || !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		im.note(s, block, option, "%s %s is not a unicast address, skipped (as keepalived does)", what, word(w))
		return netip.Addr{}, false
	}
	if !im.family(in, s, block, option, a, what) {
		return netip.Addr{}, false
	}
	return a, true
}

// family sets the instance's family from a, or reports a's family is
// not the instance's (noted).
func (im *importer) family(in *vrrpInst, s *node, block, option string, a netip.Addr, what string) bool {
	f := 4
	if a.Is6() {
		f = 6
	}
	switch in.family {
	case 0:
		in.family = f
	case f:
	default:
		im.note(s, block, option, "%s %s is not of the instance's family (IPv%d, from its first address), skipped (as keepalived does)", what, a, in.family)
		return false
	}
	return true
}

// unicastPeer reads a line of unicast_peer: "ADDR [min_ttl N] [max_ttl N]".
func (im *importer) unicastPeer(in *vrrpInst, p *node) {
	a, ok := im.vrrpAddr(in, p, in.block+": unicast_peer", "", p.key(), "unicast peer")
	if !ok {
		return
	}
	if in.peers[a] {
		im.note(p, in.block+": unicast_peer", "", "%s listed twice: carried once", a)
		return
	}
	in.peers[a] = true
	in.out.Peers = append(in.out.Peers, a)
	ttl, other := false, false
	for i, w := range p.args() {
		if i%2 == 0 {
			if w == "min_ttl" || w == "max_ttl" {
				ttl = true
			} else {
				other = true
			}
		}
	}
	if ttl {
		im.note(p, in.block+": unicast_peer", "", "%s: min_ttl and max_ttl not carried over (the director takes a peer's adverts whatever their TTL)", a)
	}
	if other {
		im.note(p, in.block+": unicast_peer", "", "%s: words other than min_ttl and max_ttl ignored (as keepalived does)", a)
	}
}

// vipOptions are the words after a virtual_ipaddress' address that take a
// value; the others stand alone.
var vipOptions = map[string]bool{"dev": true, "scope": true, "broadcast": true, "brd": true, "label": true, "peer": true, "preferred_lft": true, "track_group": true}

// vip reads a line of virtual_ipaddress (or _excluded): "ADDR[/LEN] [dev
// IFACE] [scope S] [brd B] [label L] ...".
func (im *importer) vip(in *vrrpInst, a *node, excluded bool) {
	block := in.block + ": virtual_ipaddress"
	if excluded {
		block += "_excluded"
	}
	note := func(format string, args ...any) { im.note(a, block, "", format, args...) }
	text, bitsText, hasBits := strings.Cut(a.key(), "/")
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" || addr.Is4In6() || addr.IsUnspecified() || addr.IsMulticast() ||
		addr.Is4() && strings.Contains(text, ":") {
		note("%s: not carried over (not a unicast address: keepalived skips it)", word(a.key()))
		return
	}
	bits := addr.BitLen()
	if hasBits {
		b, err := strconv.Atoi(bitsText)
		if err != nil || b < 0 || b > addr.BitLen() {
			note("%s: prefix length %s is not 0-%d: /%d, as keepalived does", addr, word(bitsText), addr.BitLen(), addr.BitLen())
		} else {
			bits = b
		}
	}
	out := director.VRRPAddress{Address: netip.PrefixFrom(addr, bits)}
	var dropped []string
	args := a.args()
	for i := 0; i < len(args); i++ {
		w := args[i]
		if vipOptions[w] && i+1 == len(args) {
			note("%s: not carried over (%s without its value: keepalived skips the address)", addr, word(w))
			return
		}
		switch {
		case w == "dev":
			i++
			out.Interface = args[i] // cleared at the end if the instance's
		case vipOptions[w]:
			i++
			dropped = append(dropped, w)
		case w == "home" || w == "-nodad" || w == "mngtmpaddr" || w == "noprefixroute" || w == "autojoin" || w == "no_track" || w == "use_vmac":
			dropped = append(dropped, w)
		default:
			note("%s: unknown word %s ignored (as keepalived does)", addr, word(w))
		}
	}
	if len(dropped) > 0 {
		note("%s: %s not carried over (the director adds the address with its prefix length and interface alone)", addr, strings.Join(dropped, ", "))
	}
	list, seen := &in.out.VIPs, in.addrs
	if excluded {
		list, seen = &in.out.ExcludedVIPs, in.excluded
	} else if !im.family(in, a, block, "", addr, "virtual address") {
		return
	}
	if seen[addr] {
		if excluded {
			note("%s listed twice: carried once", addr)
		} else {
			note("%s listed twice: carried once; keepalived lists it twice in its adverts, and a keepalived peer with this configuration refuses adverts that list it once (\"expected %d VIPs\"): remove the duplicate there too", addr, len(*list)+1)
		}
		return
	}
	seen[addr] = true
	*list = append(*list, out)
}

// trackItem reads a line of track_interface or track_script: "NAME
// [weight N [reverse]]".
func (im *importer) trackItem(t *node, block string, script bool) (trackItem, bool) {
	item := trackItem{n: t, name: t.key()}
	if script {
		sc, ok := im.vrrp.scripts[t.key()]
		if !ok {
			im.note(t, block, "", "%s: not carried over (no vrrp_script of that name before it: keepalived ignores it)", word(t.key()))
			return item, false
		}
		item.script, item.weight, item.reverse = sc, sc.weight, sc.reverse
	} else if len(t.key()) >= 16 {
		im.note(t, block, "", "%s: not carried over (not an interface name)", word(t.key()))
		return item, false
	}
	args := t.args()
	if len(args) > 0 {
		if args[0] != "weight" || len(args) < 2 {
			im.note(t, block, "", "%s: not carried over (an option other than weight N, or weight without a value: keepalived ignores it)", word(t.key()))
			return item, false
		}
		w, err := strconv.Atoi(args[1])
		switch {
		case err != nil || w < -254 || w > 254:
			if !script {
				item.weight = 0
			}
			im.note(t, block, "", "%s: weight %s is not -253..253, ignored (as keepalived does)", word(t.key()), word(args[1]))
		case w == 254 || w == -254:
			item.weight = w / 254 * 253
			im.note(t, block, "", "%s: weight %d taken as %d (as keepalived does)", word(t.key()), w, item.weight)
		default:
			item.weight = w
		}
		item.reverse = len(args) > 2 && args[2] == "reverse"
		if len(args) > 2 && args[2] != "reverse" && args[2] != "noreverse" {
			im.note(t, block, "", "%s: unknown word %s after the weight, ignored", word(t.key()), word(args[2]))
		}
	}
	return item, true
}

// trackKey identifies a tracked interface or script.
type trackKey struct {
	name   string
	script bool
}

func (t trackItem) key() trackKey { return trackKey{t.name, t.script != nil} }

// vrrpNotify reads notify_master, notify_backup, notify_fault,
// notify_stop or notify: one command line, quoted if it has arguments,
// split into words as keepalived splits it; a second word is the user to
// run it as.
func (im *importer) vrrpNotify(dst **director.VRRPNotify, s *node, block string) {
	if *dst == nil {
		*dst = &director.VRRPNotify{}
	}
	nf := *dst
	field := map[string]*[]string{"notify_master": &nf.Master, "notify_backup": &nf.Backup, "notify_fault": &nf.Fault,
		"notify_stop": &nf.Stop, "notify": &nf.Any}[s.key()]
	if len(*field) > 0 {
		im.optionNote(s, block, "given again: ignored (keepalived runs the first)")
		return
	}
	argv := scriptArgv(s.arg(0))
	if len(argv) == 0 {
		im.optionNote(s, block, "no command, ignored")
		return
	}
	*field = argv
	if len(s.args()) > 1 {
		im.optionNote(s, block, "the user (and group) to run it as not carried over (the director runs it as itself; quote the command to give it arguments)")
	}
}

// garpOption reads an instance's garp_* option (what: master_delay,
// master_repeat, ...) or global_defs' vrrp_garp_* one.
func (im *importer) garpOption(s *node, block string, g *garpSettings, lowerRep **int, lowerDelay **time.Duration, what string) {
	most := uint64(1<<32 - 1)
	switch what {
	case "master_delay", "lower_prio_delay":
		most = (1<<32 - 1) / 1000000 // keepalived's UINT_MAX / TIMER_HZ
	case "lower_prio_repeat":
		most = 1<<31 - 1
	}
	v, ok := number(s.arg(0), most)
	if !ok {
		im.optionNote(s, block, "invalid value %s, ignored (as keepalived does)", word(s.arg(0)))
		return
	}
	d := time.Duration(v) * time.Second
	if strings.HasSuffix(what, "repeat") && v == 0 && what != "lower_prio_repeat" {
		im.optionNote(s, block, "0 taken as 1 (as keepalived does)")
		v = 1
	}
	switch what {
	case "master_delay":
		g.delay = d
	case "master_repeat":
		g.rep = int(v)
	case "master_refresh":
		g.refresh = d
	case "master_refresh_repeat":
		g.refreshRep = int(v)
	case "lower_prio_delay":
		*lowerDelay = &d
	case "lower_prio_repeat":
		r := int(v)
		*lowerRep = &r
	}
}

// vrrpScriptBlock reads a vrrp_script block.
func (im *importer) vrrpScriptBlock(n *node) {
	st := &im.vrrp
	st.init()
	if len(n.args()) == 0 {
		im.note(n, "", "", "%s: not carried over (no name)", n.header())
		return
	}
	sc := &vrrpScript{n: n, name: n.arg(0), interval: time.Second, rise: 1, fall: 1}
	block := n.header()
	for _, s := range n.children {
		note := func(format string, args ...any) { im.optionNote(s, block, format, args...) }
		switch s.key() {
		case "script":
			sc.argv = scriptArgv(s.arg(0))
			if len(sc.argv) == 3 && sc.argv[0] == "/bin/sh" && !strings.HasPrefix(s.arg(0), "/bin/sh") {
				note("run with /bin/sh -c, as keepalived runs a script starting </ (the /dev/tcp test needs /bin/sh to be bash)")
			}
			if len(s.args()) > 1 {
				note("words after the command not carried over (keepalived reads only the first: quote the command to give it arguments)")
			}
		case "interval", "timeout":
			v, ok := number(s.arg(0), 1<<32/1000000)
			if !ok {
				note("invalid value %s, ignored (as keepalived does)", word(s.arg(0)))
				continue
			}
			if v == 0 {
				note("0 taken as 1 (as keepalived does)")
				v = 1
			}
			if s.key() == "interval" {
				sc.interval = time.Duration(v) * time.Second
			} else {
				sc.timeout = time.Duration(v) * time.Second
			}
		case "weight":
			w, err := strconv.Atoi(s.arg(0))
			if err != nil || w < -253 || w > 253 {
				note("weight %s is not -253..253, ignored", word(s.arg(0)))
				continue
			}
			sc.weight = w
			sc.reverse = s.arg(1) == "reverse"
		case "rise", "fall":
			v, ok := number(s.arg(0), 1<<31-1)
			if !ok || v == 0 {
				note("invalid value %s: 1, as keepalived does", word(s.arg(0)))
				v = 1
			}
			if s.key() == "rise" {
				sc.rise = int(v)
			} else {
				sc.fall = int(v)
			}
		case "user":
			note("not carried over (the director runs the command as itself)")
		case "init_fail":
			note("not carried over (the director does not start a tracked check failed)")
		default:
			note("not carried over (unknown option)")
		}
	}
	if len(sc.argv) == 0 {
		im.note(n, "", "", "%s: not carried over (no script: keepalived removes it)", block)
		return
	}
	if prev, dup := st.scripts[sc.name]; dup {
		im.note(n, "", "", "%s: not carried over (defined again: keepalived tracks line %d's)", block, prev.n.line)
		return
	}
	st.scripts[sc.name] = sc
	st.ordered = append(st.ordered, sc)
}

// scriptArgv splits a script's command line as keepalived does (words,
// with quotes and escapes), but for a line starting "</" (a test that a
// file opens), which keepalived runs with system(), so /bin/sh -c.
func scriptArgv(line string) []string {
	if t := strings.TrimLeft(line, " \t"); strings.HasPrefix(t, "<") && strings.HasPrefix(strings.TrimLeft(t[1:], " \t"), "/") {
		return []string{"/bin/sh", "-c", t}
	}
	return shellWords(line)
}
