package keepalived

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
)

// importer turns the statement tree into a Config, gathering notes.
type importer struct {
	notes  []Note
	groups map[string]*node
	used   map[string]bool
	ssl    sslConf
	seen   map[string]string // service key -> the name of the service that has it
	// seenAt and seenGroup are where in cfg.Services, and from which
	// virtual_server group, a service key was made.
	seenAt    map[string]int
	seenGroup map[string]string
	quiet     bool // drop notes: a group's later members repeat the first's
	cfg       director.Config
	top       []*node // the top-level statements
	dests     int     // real servers of all services, sorry servers counted
	err       error   // a limit reached: the import stops

	vrrp       vrrpState      // the VRRP blocks read
	vrrpTracks int            // sync groups' tracked items copied to their members
	globals    []*globalBlock // the global_defs blocks
	syncN      *node          // global_defs' lvs_sync_daemon, carried at the end
	syncBlock  *globalBlock   // its global_defs

	sections  []Section     // the virtual_server and vrrp_instance blocks
	sectionAt map[*node]int // a block's index in sections
	// trackFiles are the track_file blocks, by name, for FILE_CHECKs.
	trackFiles map[string]*trackFile
}

// sslConf is the top-level SSL block, which SSL_GET checkers use.
type sslConf struct {
	ca, cert, key string
	used          bool
}

func newImporter(notes []Note) *importer {
	return &importer{notes: notes, groups: map[string]*node{}, used: map[string]bool{}, seen: map[string]string{},
		seenAt: map[string]int{}, seenGroup: map[string]string{}, trackFiles: map[string]*trackFile{}}
}

func (im *importer) note(n *node, block, option, format string, args ...any) {
	if im.quiet {
		return
	}
	im.notes = append(im.notes, Note{File: n.file, Line: n.line, Block: block, Option: option, Reason: fmt.Sprintf(format, args...)})
}

// optionNote notes a statement of a block.
func (im *importer) optionNote(n *node, block, format string, args ...any) {
	im.note(n, block, n.label(), format, args...)
}

// config maps the top-level statements.
func (im *importer) config(top []*node) *director.Config {
	im.top = top
	for _, n := range top {
		switch {
		case n.key() == "virtual_server_group" && n.block && len(n.args()) > 0:
			if _, dup := im.groups[n.arg(0)]; dup {
				im.note(n, "", "", "%s defined again: this definition replaces the earlier one", n.header())
			}
			im.groups[n.arg(0)] = n
		case n.key() == "SSL" && n.block:
			im.sslBlock(n)
		case isTrackFile(n):
			im.trackFileBlock(n)
		}
	}
	for _, n := range top {
		if im.err != nil {
			return &im.cfg
		}
		if sectionKind(n) {
			im.addSection(n)
		}
		switch {
		case n.key() == "virtual_server" && n.block:
			im.virtualServer(n)
		case n.key() == "virtual_server_group" && n.block && len(n.args()) > 0, n.key() == "SSL" && n.block, isTrackFile(n):
			// read above; unused ones are noted below
		case n.key() == "global_defs" && n.block:
			im.globalDefs(n)
		case n.key() == "vrrp_instance" && n.block:
			im.vrrpInstance(n)
		case n.key() == "vrrp_script" && n.block:
			im.vrrpScriptBlock(n)
		case n.key() == "vrrp_sync_group" && n.block:
			im.vrrpSyncGroup(n)
		case n.block:
			im.note(n, "", "", "%s: not carried over (not part of the director)", n.header())
		default:
			im.note(n, "", n.label(), "not carried over (not part of the director)")
		}
	}
	im.finishVRRP()
	im.finishSync()
	im.trackFileNotes()
	im.globalNotes()
	for name, g := range im.groups {
		if !im.used[name] {
			im.note(g, "", "", "%s: not used by any virtual_server", g.header())
		}
	}
	if !im.ssl.used && (im.ssl.ca != "" || im.ssl.cert != "" || im.ssl.key != "") {
		for _, n := range top {
			if n.key() == "SSL" {
				im.note(n, "", "", "SSL: not used (no SSL_GET checker was carried over)")
			}
		}
	}
	return &im.cfg
}

func (im *importer) sslBlock(n *node) {
	for _, s := range n.children {
		switch s.key() {
		case "ca":
			im.ssl.ca = s.arg(0)
		case "certificate":
			im.ssl.cert = s.arg(0)
		case "key":
			im.ssl.key = s.arg(0)
		case "password":
			im.optionNote(s, "SSL", "not carried over (the director reads only unencrypted keys)")
		default:
			im.optionNote(s, "SSL", "not carried over (unknown option)")
		}
	}
}

// realServer is a real_server block as read.
type realServer struct {
	n        *node
	block    string
	addr     netip.AddrPort
	weight   *int
	fwd      *forward
	upper    uint32
	lower    uint32
	timing   timing
	checkers []*node

	notifyUp, notifyDown *script
}

// virtualServer is a virtual_server block as read.
type virtualServer struct {
	n       *node
	name    string
	members []member
	family  ipvs.Family // ip_family
	proto   ipvs.Protocol
	protoN  *node
	sched   ipvs.Scheduler
	flags   ipvs.ServiceFlags
	opsN    *node
	fwd     *forward
	persist *director.Persistence
	weight  int
	sorry   *realServer
	timing  timing
	rs      []*realServer

	quorumN, hystN         *node
	quorumValue, hystValue int
	quorumUp, quorumDown   *script

	fwmarkService bool // the member being built is a firewall-mark service
}

// member is one service of a virtual server: its address or mark (a
// virtual_server_group has several).
type member struct {
	text   string // as the group lists it
	addr   netip.AddrPort
	fwmark uint32
	family ipvs.Family
}

var (
	servicesLimit     = fmt.Sprintf("%d services (each member of a virtual_server_group is one)", maxServices)
	destinationsLimit = fmt.Sprintf("%d real servers, all services together", maxDestinations)
)

func (im *importer) virtualServer(n *node) {
	vs := &virtualServer{n: n, name: n.header(), weight: 1}
	switch {
	case n.arg(0) == "group":
		g, ok := im.groups[n.arg(1)]
		if !ok {
			im.note(n, "", "", "%s: not carried over (no virtual_server_group %q)", vs.name, n.arg(1))
			return
		}
		im.used[n.arg(1)] = true
		vs.members = im.expandGroup(g, maxServices-len(im.cfg.Services))
		if im.err != nil {
			return
		}
		if len(vs.members) == 0 {
			im.note(n, "", "", "%s: not carried over (its group has no usable entry)", vs.name)
			return
		}
	case n.arg(0) == "fwmark":
		v, ok := number(n.arg(1), 1<<32-1)
		if !ok || v == 0 {
			im.note(n, "", "", "%s: not carried over (fwmark %q is not a mark from 1 to %d)", vs.name, n.arg(1), uint32(1<<32-1))
			return
		}
		vs.members = []member{{fwmark: uint32(v)}}
	default:
		a, ok := addrPort(n.arg(0), n.arg(1))
		if !ok {
			im.note(n, "", "", "%s: not carried over (not an address and port)", vs.name)
			return
		}
		im.extraWords(n, "")
		vs.members = []member{{addr: a}}
	}
	for _, s := range n.children {
		im.vsOption(vs, s)
	}
	if len(vs.rs) == 0 {
		im.note(n, "", "", "%s: not carried over (no real servers: keepalived ignores it too)", vs.name)
		return
	}
	if im.dests += len(vs.members) * (len(vs.rs) + 1); im.dests > maxDestinations {
		im.err = &LimitError{File: n.file, Line: n.line, Limit: destinationsLimit}
		return
	}
	if len(vs.members) > 1 {
		im.note(n, "", "", "%s: expanded into %d services, one per member of the group, with the same settings and real servers", vs.name, len(vs.members))
	}
	for i, m := range vs.members {
		im.service(vs, m, i == 0)
	}
}

// vsOption reads one statement of a virtual_server block.
func (im *importer) vsOption(vs *virtualServer, s *node) {
	block := vs.name
	invalid := func(why string) { im.optionNote(s, block, "%s, ignored (as keepalived does)", why) }
	if im.timingOption(&vs.timing, s, block) || im.quorumOption(vs, s) {
		return
	}
	if why, ok := notOption[s.key()]; ok && !s.block {
		im.optionNote(s, block, "not carried over (%s)", why)
		return
	}
	switch s.key() {
	case "real_server":
		if rs := im.realServer(vs, s); rs != nil {
			vs.rs = append(vs.rs, rs)
		}
	case "lb_algo", "lvs_sched":
		sc := ipvs.Scheduler(s.arg(0))
		if !sc.Known() {
			invalid(fmt.Sprintf("unknown scheduler %q", s.arg(0)))
			return
		}
		vs.sched = sc
	case "lb_kind", "lvs_method":
		f, why := parseForward(s.args())
		if f == nil {
			invalid(why)
			return
		}
		vs.fwd = f
	case "protocol":
		switch strings.ToUpper(s.arg(0)) {
		case "TCP":
			vs.proto = ipvs.TCP
		case "UDP":
			vs.proto = ipvs.UDP
		case "SCTP":
			vs.proto = ipvs.SCTP
		default:
			invalid(fmt.Sprintf("unknown protocol %q", s.arg(0)))
			return
		}
		vs.protoN = s
	case "ip_family":
		switch s.arg(0) {
		case "inet":
			vs.family = ipvs.IPv4
		case "inet6":
			vs.family = ipvs.IPv6
		default:
			invalid(fmt.Sprintf("unknown family %q", s.arg(0)))
		}
	case "persistence_timeout":
		t := uint64(360) // keepalived's IPVS_SVC_PERSISTENT_TIMEOUT
		if len(s.args()) > 0 {
			v, ok := number(s.arg(0), 86400*31)
			if !ok || v == 0 {
				invalid(fmt.Sprintf("timeout %q is not from 1 to %d seconds", s.arg(0), 86400*31))
				return
			}
			t = v
		}
		vs.persistence().Timeout = time.Duration(t) * time.Second
	case "persistence_granularity":
		im.granularity(vs, s)
	case "persistence_engine":
		vs.persistence().Engine = s.arg(0)
	case "ops":
		vs.flags |= ipvs.FlagOnePacket
		vs.opsN = s
	case "flag-1":
		vs.flags |= ipvs.SchedFlag1
	case "flag-2":
		vs.flags |= ipvs.SchedFlag2
	case "flag-3":
		vs.flags |= ipvs.SchedFlag3
	case "sh-port", "sh-fallback", "mh-port", "mh-fallback":
		// keepalived takes these only after lb_algo sh (or mh).
		sched, what, _ := strings.Cut(s.key(), "-")
		if string(vs.sched) != sched {
			invalid(fmt.Sprintf("only applies after lb_algo %s", sched))
			return
		}
		if what == "port" {
			vs.flags |= ipvs.SchedFlag2
		} else {
			vs.flags |= ipvs.SchedFlag1
		}
	case "weight":
		v, ok := number(s.arg(0), 65535)
		if !ok || v == 0 {
			invalid(fmt.Sprintf("weight %q is not from 1 to 65535", s.arg(0)))
			return
		}
		vs.weight = int(v)
	case "sorry_server":
		a, ok := addrPort(s.arg(0), s.arg(1))
		if !ok {
			invalid("not an address and port")
			return
		}
		vs.sorry = &realServer{n: s, addr: a, fwd: vs.fwd}
	case "sorry_server_lvs_method":
		f, why := parseForward(s.args())
		switch {
		case vs.sorry == nil:
			invalid("before or without sorry_server")
		case f == nil:
			invalid(why)
		default:
			vs.sorry.fwd = f
		}
	default:
		im.optionNote(s, block, "not carried over (unknown option)")
	}
}

// extraWords notes the words after the address and port of a
// virtual_server or real_server line, which keepalived reads past.
func (im *importer) extraWords(n *node, block string) {
	if extra := len(n.args()) - 2; extra > 0 {
		im.note(n, block, "", "%s: %d word(s) after the port ignored (keepalived reads only the address and port)", n.header(), extra)
	}
}

func (vs *virtualServer) persistence() *director.Persistence {
	if vs.persist == nil {
		vs.persist = &director.Persistence{}
	}
	return vs.persist
}

// granularity reads persistence_granularity: a dotted netmask for IPv4,
// a prefix length for IPv6.
func (im *importer) granularity(vs *virtualServer, s *node) {
	v6 := !strings.Contains(s.arg(0), ".")
	if m := vs.members[0]; m.addr.IsValid() {
		v6 = m.addr.Addr().Is6()
	}
	bits := 0
	if v6 {
		b, ok := number(s.arg(0), 128)
		if !ok || b == 0 {
			im.optionNote(s, vs.name, "invalid IPv6 prefix length %q, ignored (as keepalived does)", s.arg(0))
			return
		}
		bits = int(b)
	} else {
		b, ok := netmaskBits(s.arg(0))
		if !ok {
			im.optionNote(s, vs.name, "not carried over (%q is not a contiguous IPv4 netmask; the director takes a prefix length)", s.arg(0))
			return
		}
		bits = b
	}
	p := vs.persistence()
	p.Netmask = bits
	if p.Timeout == 0 {
		p.Timeout = 360 * time.Second // keepalived's default with a granularity
	}
}

// realServer reads a real_server block.
func (im *importer) realServer(vs *virtualServer, s *node) *realServer {
	block := vs.name + ": " + s.header()
	a, ok := addrPort(s.arg(0), s.arg(1))
	if !ok {
		im.note(s, vs.name, "", "%s: not carried over (not an address and port)", s.header())
		return nil
	}
	im.extraWords(s, vs.name)
	rs := &realServer{n: s, block: block, addr: a, fwd: vs.fwd}
	for _, o := range s.children {
		if im.timingOption(&rs.timing, o, block) || im.notifyOption(rs, o) {
			continue
		}
		if why, ok := notOption[o.key()]; ok && !o.block {
			im.optionNote(o, block, "not carried over (%s)", why)
			continue
		}
		switch o.key() {
		case "weight":
			v, ok := number(o.arg(0), 65535)
			if !ok {
				im.optionNote(o, block, "weight %q is not from 0 to 65535, ignored (as keepalived does)", o.arg(0))
				continue
			}
			w := int(v)
			rs.weight = &w
		case "lvs_method":
			f, why := parseForward(o.args())
			if f == nil {
				im.optionNote(o, block, "%s, ignored (as keepalived does)", why)
				continue
			}
			rs.fwd = f
		case "uthreshold", "lthreshold":
			v, ok := number(o.arg(0), 1<<32-1)
			if !ok {
				im.optionNote(o, block, "invalid value %q, ignored (as keepalived does)", o.arg(0))
			} else if o.key() == "uthreshold" {
				rs.upper = uint32(v)
			} else {
				rs.lower = uint32(v)
			}
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "SMTP_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK":
			rs.checkers = append(rs.checkers, o)
		default:
			im.optionNote(o, block, "not carried over (unknown option)")
		}
	}
	return rs
}

// key identifies a service, to refuse a second one.
func key(vs director.VirtualService) string {
	if vs.FirewallMark != 0 {
		return fmt.Sprintf("fwmark %d %v", vs.FirewallMark, vs.Family)
	}
	return fmt.Sprintf("%v %v", vs.Protocol, vs.Address)
}

// service builds, validates and adds the director service of one member
// of vs. Only the first member notes what all members share.
func (im *importer) service(vs *virtualServer, m member, first bool) {
	name := vs.name
	if m.text != "" {
		name += ": " + m.text
	}
	im.quiet = !first
	defer func() { im.quiet = false }()
	out := director.VirtualService{Name: name, Scheduler: vs.sched, Flags: vs.flags}
	if m.fwmark != 0 {
		out.FirewallMark = m.fwmark
		out.Family = vs.fwmarkFamily(m)
		if vs.protoN != nil {
			im.optionNote(vs.protoN, vs.name, "ignored for a firewall-mark service (as keepalived does)")
		}
	} else {
		out.Address = m.addr
		out.Protocol = vs.proto
		if out.Protocol == 0 {
			out.Protocol = ipvs.UDP
			im.note(vs.n, vs.name, "protocol", "none set: UDP, keepalived's default")
		}
		if out.Protocol != ipvs.UDP && out.Flags&ipvs.FlagOnePacket != 0 {
			out.Flags &^= ipvs.FlagOnePacket
			im.optionNote(vs.opsN, vs.name, "ignored: one-packet scheduling needs UDP (as keepalived does)")
		}
	}
	if vs.persist != nil {
		p := *vs.persist
		out.Persistence = &p
	}
	have := make(map[netip.AddrPort]bool, len(vs.rs))
	carried := make(map[*realServer]int, len(vs.rs))
	for _, rs := range vs.rs {
		d, ok := im.destination(vs, &out, rs)
		if !ok {
			continue
		}
		if have[d.Address] {
			im.note(rs.n, vs.name, "", "%s: not carried over (a duplicate: keepalived drops it too)", rs.n.header())
			continue
		}
		have[d.Address] = true
		carried[rs] = len(out.RealServers)
		out.RealServers = append(out.RealServers, d)
	}
	if vs.sorry != nil {
		if d, ok := im.destination(vs, &out, vs.sorry); ok {
			d.Weight = 1
			out.SorryServer = &d
		}
	}
	vs.fwmarkService = m.fwmark != 0
	im.serviceChecks(vs, &out, carried)
	im.quorum(vs, &out)
	im.quiet = false
	fail := func(why string) {
		im.notes = append(im.notes, Note{File: vs.n.file, Line: vs.n.line, Block: name, Reason: "not carried over (" + why + ")"})
	}
	one := director.VirtualService.Validate
	if len(out.RealServers) == 0 {
		fail("none of its real servers could be carried over")
		return
	}
	if err := one(out); err != nil {
		types := dropChecks(&out)
		if len(types) == 0 {
			fail(err.Error())
			return
		}
		if err2 := one(out); err2 != nil {
			fail(err2.Error())
			return
		}
		what := "health check"
		if len(types) > 1 {
			what += "s"
		}
		im.note(vs.n, name, "", "%s (%s) not carried over: %v; its real servers count as healthy", what, strings.Join(types, ", "), err)
	}
	if prev, dup := im.seen[key(out)]; dup {
		if g := vs.group(); g != "" && im.seenGroup[key(out)] == g {
			im.mergeGroup(vs, out, first)
			return
		}
		fail("the same service as " + prev)
		return
	}
	im.seen[key(out)] = name
	im.seenAt[key(out)] = len(im.cfg.Services)
	im.seenGroup[key(out)] = vs.group()
	im.cfg.Services = append(im.cfg.Services, out)
	im.made(vs.n, out.Name)
}

// group is the virtual_server_group vs is made of, "" if none.
func (vs *virtualServer) group() string {
	if vs.n.arg(0) == "group" {
		return vs.n.arg(1)
	}
	return ""
}

// mergeGroup adds the real servers of svc, made by a second
// "virtual_server group G" block, to the service an earlier block of the
// same group made, as keepalived adds them to the same IPVS service: the
// earlier block's settings stay, and each added real server keeps its
// own checkers (the service's checks of svc become its own).
func (im *importer) mergeGroup(vs *virtualServer, svc director.VirtualService, first bool) {
	at := im.seenAt[key(svc)]
	dst := &im.cfg.Services[at]
	own := svc.Checks
	if svc.Check != nil {
		own = []director.Check{*svc.Check}
	}
	before := *dst
	before.RealServers = slices.Clone(dst.RealServers)
	added := 0
	for _, d := range svc.RealServers {
		if slices.ContainsFunc(dst.RealServers, func(o director.RealServer) bool { return o.Address == d.Address }) {
			continue
		}
		if len(d.Checks) == 0 {
			d.Checks = own
		}
		if len(d.Checks) == 0 && (dst.Check != nil || len(dst.Checks) > 0) {
			// Unchecked, as in keepalived: the earlier block's checks
			// become its real servers' own.
			pushDown(dst)
		}
		dst.RealServers = append(dst.RealServers, d)
		added++
	}
	if err := (&director.Config{Services: []director.VirtualService{*dst}}).Validate(); err != nil {
		*dst = before
		im.note(vs.n, vs.name, "", "not carried over (its real servers cannot join the services of the earlier block of group %s: %v)", word(vs.group()), err)
		return
	}
	im.made(vs.n, dst.Name)
	if first {
		im.note(vs.n, vs.name, "", "a second block of group %s: its real servers are added to the services of the earlier block (%s), as keepalived adds them to the same IPVS services; the services' settings are the earlier block's, the real servers' checks their own",
			word(vs.group()), im.seen[key(svc)])
	}
}

// fwmarkFamily is a firewall-mark service's family as keepalived sets it:
// ip_family, else the group entry's, else the first real or sorry server's
// that is not tunnelled, else IPv4.
func (vs *virtualServer) fwmarkFamily(m member) ipvs.Family {
	switch {
	case vs.family != 0:
		return vs.family
	case m.family != 0:
		return m.family
	}
	for _, rs := range append(slices.Clone(vs.rs), vs.sorry) {
		if rs != nil && (rs.fwd == nil || rs.fwd.method != ipvs.Tunnel) {
			return ipvs.FamilyOf(rs.addr.Addr())
		}
	}
	return ipvs.IPv4
}

// destination is rs as a destination of svc, its port set as keepalived
// sets it: NAT keeps its own (the service's if none); other methods take
// the service's, or none on a firewall-mark service.
func (im *importer) destination(vs *virtualServer, svc *director.VirtualService, rs *realServer) (director.RealServer, bool) {
	f := rs.fwd
	if f == nil {
		f = vs.fwd
	}
	if f == nil {
		f = &forward{method: ipvs.Masquerade}
	}
	block := vs.name
	if rs == vs.sorry {
		block += ": sorry_server"
	}
	a := rs.addr
	fam := svc.Family
	if svc.FirewallMark == 0 {
		fam = ipvs.FamilyOf(svc.Address.Addr())
	}
	if ipvs.FamilyOf(a.Addr()) != fam && f.method != ipvs.Tunnel {
		im.note(rs.n, block, "", "%s: not carried over (its address family is not the service's, and it is not tunnelled: keepalived skips it too)", rs.n.header())
		return director.RealServer{}, false
	}
	switch {
	case svc.FirewallMark != 0 && f.method != ipvs.Masquerade:
		if a.Port() != 0 {
			im.note(rs.n, block, "", "%s: port %d dropped (a firewall-mark service's %s destination has none; keepalived clears it too)", rs.n.header(), a.Port(), f)
		}
		a = netip.AddrPortFrom(a.Addr(), 0)
	case svc.FirewallMark != 0:
	case a.Port() == 0:
		a = netip.AddrPortFrom(a.Addr(), svc.Address.Port())
	case f.method != ipvs.Masquerade && a.Port() != svc.Address.Port():
		im.note(rs.n, block, "", "%s: port %d replaced by the service's %d (a %s destination takes the service's port; keepalived resets it too)", rs.n.header(), a.Port(), svc.Address.Port(), f)
		a = netip.AddrPortFrom(a.Addr(), svc.Address.Port())
	}
	w := vs.weight
	if rs.weight != nil {
		w = *rs.weight
	}
	return director.RealServer{Address: a, Forward: f.method, Weight: w, UpperThreshold: rs.upper, LowerThreshold: rs.lower, Tunnel: f.tunnel}, true
}

// dropChecks takes every check out of svc, its own and its real servers',
// and returns their types, each once, in order.
func dropChecks(svc *director.VirtualService) []string {
	var types []string
	add := func(cs ...director.Check) {
		for _, c := range cs {
			if t := c.Spec.Type(); !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if svc.Check != nil {
		add(*svc.Check)
	}
	add(svc.Checks...)
	for i := range svc.RealServers {
		add(svc.RealServers[i].Checks...)
		svc.RealServers[i].Checks = nil
	}
	svc.Check, svc.Checks = nil, nil
	return types
}

// pushDown makes svc's own checks those of each of its real servers that
// has none of its own.
func pushDown(svc *director.VirtualService) {
	own := svc.Checks
	if svc.Check != nil {
		own = []director.Check{*svc.Check}
	}
	for i := range svc.RealServers {
		if len(svc.RealServers[i].Checks) == 0 {
			svc.RealServers[i].Checks = own
		}
	}
	svc.Check, svc.Checks = nil, nil
}
