package director

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-go/lvs/internal/ifname"
	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// model is a Config compiled once: validated, defaults filled in,
// addresses normalised, and converted to the values the kernel takes.
// Validate, Plan, the health checks and reload all read it; nothing
// converts the Config again.
type model struct {
	services []*service
	vips     []VIP
	// sysctls are the needed and the configured ones, sorted by key.
	sysctls []sysctl.Setting
	// timeouts, if not nil, are set; zero fields are left alone.
	timeouts *ipvs.Timeouts
	marks    []iptables.Rule
	snat     []iptables.SNATRule
	// cluster, if not nil, is the configuration's Cluster, and daemons
	// the sync daemons it runs.
	cluster *Cluster
	daemons []ipvs.SyncDaemon
	// vrrp, if not nil, is the configuration's vrrp section; with its
	// syncDaemon, daemons are those of a backup, and Run's follow the
	// instance's state (vrrpModel.daemonsFor).
	vrrp *vrrpModel
	// byKey indexes services; built with them (index) and never changed
	// after, so that goroutines sharing the model (Run, Disable, Status)
	// read it without a lock.
	byKey map[ipvs.Key]*service
}

// service is one virtual service of the model.
type service struct {
	name  string
	svc   ipvs.Service
	dests []ipvs.Destination
	mark  *iptables.Rule
	snat  bool
	// check is the health checks of its real servers (the service's Check
	// or Checks), and own, if not nil, the real servers' own in their
	// place, by index in dests as compiled (nil where a real server has
	// none of its own); a real server with neither is not checked. No
	// list or map per real server: most share their service's.
	check checkList
	own   []checkList
	sorry *ipvs.Destination // nil: no sorry server
	// quorum and hysteresis, as VirtualService has them; quorum 0: none.
	quorum, hysteresis int
	notify             *Notify // nil: no commands
}

// target is one real server of one service, as health checks see it.
type target struct {
	svc  ipvs.Key
	addr netip.AddrPort
}

// compile validates cfg and builds its model. Errors are *ConfigError,
// naming where in the configuration they are.
func compile(cfg *Config) (*model, error) {
	m := &model{}
	if len(cfg.Services) == 0 && !cfg.AllowNoServices {
		return nil, &ConfigError{Reason: "no services (an empty or truncated file?); set allowNoServices to mean it"}
	}
	seen := make(map[ipvs.Key]int, len(cfg.Services))
	need := map[sysctl.Key]string{}
	// Where a service is, for an error only.
	where := func(i int) string {
		w := "services[" + strconv.Itoa(i) + "]"
		if n := cfg.Services[i].Name; n != "" {
			w += " (" + n + ")"
		}
		return w
	}
	for i, vs := range cfg.Services {
		s, err := compileService(vs, func() string { return where(i) })
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.svc.Key()]; dup {
			return nil, &ConfigError{Where: where(i), Reason: "same service as " + where(prev)}
		}
		seen[s.svc.Key()] = i
		m.services = append(m.services, s)
		if s.mark != nil {
			m.marks = append(m.marks, *s.mark)
		}
		for _, d := range s.dests {
			if d.Forward != ipvs.Masquerade {
				continue
			}
			if d.Family() == ipvs.IPv6 {
				need[sysctl.IPv6Forward] = "1"
			} else {
				need[sysctl.IPv4Forward] = "1"
			}
			if s.mark != nil || s.snat {
				need[sysctl.VSConntrack] = "1"
			}
		}
		s.addKernelDefaults(need)
		if s.snat {
			proto := s.svc.Protocol
			if proto == 0 {
				proto = ipvs.Protocol(s.mark.Protocol)
			}
			for _, d := range s.dests {
				m.snat = append(m.snat, iptables.SNATRule{Protocol: iptables.Protocol(proto), Destination: d.Addr})
			}
			if s.sorry != nil {
				m.snat = append(m.snat, iptables.SNATRule{Protocol: iptables.Protocol(proto), Destination: s.sorry.Addr})
			}
		}
	}
	if cfg.Cluster != nil {
		if err := compileCluster(cfg.Cluster, m.services); err != nil {
			return nil, err
		}
		c := *cfg.Cluster
		m.cluster = &c
		if c.Sync != nil {
			m.daemons = c.Sync.daemons()
		}
		for k, v := range clusterSysctls(&c) {
			need[k] = v
		}
	}
	vips := map[netip.Addr]bool{}
	for i, v := range cfg.VIPs {
		where := fmt.Sprintf("vips[%d]", i)
		switch {
		case v.Address.Is4In6():
			return nil, mapped(where+".address", v.Address)
		case v.Address.Zone() != "":
			return nil, &ConfigError{Where: where + ".address", Reason: fmt.Sprintf("%v has a zone: say the interface with interface", v.Address)}
		case !v.Address.IsValid() || v.Address.IsUnspecified() || v.Address.IsMulticast() || v.Address == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("%v is not a unicast address", v.Address)}
		case vips[v.Address]:
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("%v listed twice", v.Address)}
		case v.Dummy && (v.Interface == "" || v.Interface == "lo"):
			return nil, &ConfigError{Where: where, Reason: "dummy needs an interface name other than lo"}
		case v.Interface != "" && !ifname.Valid(v.Interface):
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("interface name %q", v.Interface)}
		}
		if v.Interface == "" {
			v.Interface = "lo"
		}
		vips[v.Address] = true
		m.vips = append(m.vips, v)
	}
	if cfg.VRRP != nil {
		v, err := compileVRRP(cfg, m.services)
		if err != nil {
			return nil, err
		}
		m.vrrp = v
		if sd := v.syncDaemon; sd != nil {
			m.daemons = sd.wanted(false)
			need["net.ipv4.vs.sync_refresh_period"] = "10"
		}
	}
	if t := cfg.Timeouts; t != nil {
		it := ipvs.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}
		if err := ipvs.ValidateTimeouts(it); err != nil {
			return nil, &ConfigError{Where: "timeouts", Err: err}
		}
		m.timeouts = &it
	}
	for k, v := range cfg.Sysctls {
		if _, err := k.Path(); err != nil {
			return nil, &ConfigError{Where: "sysctls", Err: err}
		}
		if !strings.HasPrefix(string(k), "net.") && !cfg.HostSysctls {
			return nil, &ConfigError{Where: "sysctls", Reason: fmt.Sprintf("%s is host-wide, not per network namespace; set hostSysctls to mean it", k)}
		}
		need[k] = v
	}
	for k, v := range need {
		m.sysctls = append(m.sysctls, sysctl.Setting{Key: k, Value: v})
	}
	slices.SortFunc(m.sysctls, func(a, b sysctl.Setting) int { return strings.Compare(string(a.Key), string(b.Key)) })
	m.shareChecks()
	m.index()
	return m, nil
}

// mapped refuses an IPv4-mapped IPv6 address, as the ipvs package does:
// the kernel would hold the IPv4 address, and a configuration naming the
// mapped one would never match what it reads back.
func mapped(where string, a netip.Addr) error {
	return &ConfigError{Where: where, Reason: fmt.Sprintf("%v is an IPv4-mapped IPv6 address: write %v", a, a.Unmap())}
}

// compileService converts and validates one virtual service.
func compileService(vs VirtualService, at func() string) (*service, error) {
	fail := func(sub, format string, args ...any) error {
		return &ConfigError{Where: at() + sub, Reason: fmt.Sprintf(format, args...)}
	}
	s := &service{name: vs.Name}
	k := &s.svc
	switch {
	case vs.FirewallMark != 0:
		if vs.Protocol != 0 || vs.Address.IsValid() {
			return nil, fail("", "a firewall-mark service has no protocol or address")
		}
		k.FirewallMark, k.Family = vs.FirewallMark, vs.Family
		if k.Family == 0 {
			k.Family = ipvs.IPv4
		}
		if vs.Mark != nil {
			r, err := vs.Mark.rule(vs.FirewallMark)
			if err != nil {
				return nil, fieldError(at()+".mark", err)
			}
			s.mark = &r
		}
	default:
		if vs.Mark != nil {
			return nil, fail("", "a mark rule needs a firewall-mark service")
		}
		a := vs.Address
		if a.Addr().Is4In6() {
			return nil, mapped(at()+".address", a.Addr())
		}
		k.Protocol, k.Addr = vs.Protocol, a
		if a.IsValid() {
			k.Family = ipvs.FamilyOf(a.Addr())
		}
		if vs.Family != 0 && vs.Family != k.Family {
			return nil, fail("", "family %v does not match the address %v", vs.Family, vs.Address)
		}
	}
	k.Scheduler, k.Flags = vs.Scheduler, vs.Flags
	if k.Scheduler == "" {
		k.Scheduler = ipvs.WeightedLeastConnection
	}
	if p := vs.Persistence; p != nil {
		if p.Timeout <= 0 {
			return nil, fail(".persistence", "needs a timeout")
		}
		k.Timeout, k.Netmask, k.PersistenceEngine = p.Timeout, p.Netmask, p.Engine
		if k.Netmask == 32 && k.AddressFamily() == ipvs.IPv4 || k.Netmask == 128 && k.AddressFamily() == ipvs.IPv6 {
			k.Netmask = 0 // the whole address, which the kernel reports as 0
		}
		k.Flags |= ipvs.FlagPersistent
	}
	if err := ipvs.ValidateService(*k); err != nil {
		return nil, fieldError(at(), err)
	}
	// A real server listed twice: a scan of the few before it, or a map
	// when many.
	var seen map[netip.AddrPort]bool
	if len(vs.RealServers) > scanDests {
		seen = make(map[netip.AddrPort]bool, len(vs.RealServers))
	}
	listed := func(a netip.AddrPort) bool {
		if seen != nil {
			return seen[a]
		}
		return slices.ContainsFunc(s.dests, func(d ipvs.Destination) bool { return d.Addr == a })
	}
	s.dests = make([]ipvs.Destination, 0, len(vs.RealServers))
	for i, rs := range vs.RealServers {
		// Where, for an error only.
		sub := func() string { return ".realServers[" + strconv.Itoa(i) + "]" }
		if rs.Address.Addr().Is4In6() {
			return nil, mapped(at()+sub()+".address", rs.Address.Addr())
		}
		d, err := compileRealServer(*k, rs)
		if err != nil {
			return nil, fieldError(at()+sub(), err)
		}
		if listed(d.Addr) {
			return nil, fail(sub(), "%v listed twice", d.Addr)
		}
		if len(rs.Checks) > 0 {
			l, err := compileChecks(rs.Checks, at()+sub(), k.IsFirewallMark())
			if err != nil {
				return nil, err
			}
			if s.own == nil {
				s.own = make([]checkList, len(vs.RealServers))
			}
			s.own[len(s.dests)] = l
		}
		if seen != nil {
			seen[d.Addr] = true
		}
		if vs.SNAT && d.Forward != ipvs.Masquerade {
			return nil, fail(sub(), "snat needs forward: nat on every real server")
		}
		s.dests = append(s.dests, d)
	}
	if vs.SNAT {
		if k.IsFirewallMark() && s.mark == nil {
			return nil, fail("", "snat on a firewall-mark service needs its mark rule (for the protocol)")
		}
		s.snat = true
	}
	if vs.SorryServer != nil {
		if vs.SorryServer.Address.Addr().Is4In6() {
			return nil, mapped(at()+".sorryServer.address", vs.SorryServer.Address.Addr())
		}
		if len(vs.SorryServer.Checks) > 0 {
			return nil, fail(".sorryServer.checks", "a sorry server is not checked")
		}
		d, err := compileRealServer(*k, *vs.SorryServer)
		if err != nil {
			return nil, fieldError(at()+".sorryServer", err)
		}
		if listed(d.Addr) {
			// It would never leave service (remove) or flip its weight on
			// every plan (quiesce).
			return nil, fail(".sorryServer", "%v is one of the real servers", d.Addr)
		}
		if vs.SNAT && d.Forward != ipvs.Masquerade {
			return nil, fail(".sorryServer", "snat needs forward: nat")
		}
		s.sorry = &d
	}
	switch {
	case vs.Quorum < 0 || vs.Hysteresis < 0:
		return nil, fail("", "negative quorum or hysteresis")
	case vs.Quorum == 0 && vs.Hysteresis != 0:
		return nil, fail("", "hysteresis without a quorum")
	case vs.Quorum > len(s.dests) || vs.Hysteresis > len(s.dests)-vs.Quorum: // no overflowing sum
		return nil, fail("", "quorum %d and hysteresis %d need %d real servers to come up, the service has %d",
			vs.Quorum, vs.Hysteresis, vs.Quorum+vs.Hysteresis, len(s.dests))
	}
	s.quorum, s.hysteresis = vs.Quorum, vs.Hysteresis
	if n := vs.Notify; n != nil {
		for field, argv := range map[string][]string{"realServerUp": n.RealServerUp, "realServerDown": n.RealServerDown,
			"quorumUp": n.QuorumUp, "quorumDown": n.QuorumDown} {
			if argv != nil && (len(argv) == 0 || argv[0] == "") {
				return nil, fail(".notify."+field, "an empty command")
			}
		}
		if (n.QuorumUp != nil || n.QuorumDown != nil) && vs.Quorum == 0 {
			return nil, fail(".notify", "quorum commands without a quorum")
		}
		c := *n
		s.notify = &c
	}
	var all checkList // the service's
	switch {
	case vs.Check != nil && len(vs.Checks) > 0:
		return nil, fail(".checks", "check and checks both set: write the one check as the first of checks")
	case vs.Check != nil:
		c, err := compileCheck(*vs.Check, k.IsFirewallMark())
		if err != nil {
			return nil, checkConfigError(at(), err)
		}
		all = checkList{c}
	case len(vs.Checks) > 0:
		l, err := compileChecks(vs.Checks, at(), k.IsFirewallMark())
		if err != nil {
			return nil, err
		}
		all = l
	}
	s.check = all
	if s.own != nil {
		s.own = s.own[:len(s.dests)]
	}
	if k.Scheduler == ipvs.MaglevHashing && k.Flags&ipvs.FlagMHFallback == 0 && s.fails(Quiesce) {
		sub := ".check"
		if vs.Check == nil {
			sub = ".checks"
		}
		return nil, fail(sub, "%s", errMHQuiesce)
	}
	return s, nil
}

// checksAt is the health checks of the real server s.dests[i] (of s as
// compiled); none: it is not checked.
func (s *service) checksAt(i int) checkList {
	if s.own != nil && s.own[i] != nil {
		return s.own[i]
	}
	return s.check
}

// checkedAt says whether the real server s.dests[i] has health checks.
func (s *service) checkedAt(i int) bool { return len(s.checksAt(i)) > 0 }

// fails says whether a failed real server of s may get action: one has
// checks whose onFailure it is.
func (s *service) fails(action FailureAction) bool {
	for i := range s.dests {
		if l := s.checksAt(i); len(l) > 0 && l.onFailure() == action {
			return true
		}
	}
	return false
}

// errMHQuiesce is why an mh service cannot quiesce real servers without
// mh-fallback.
const errMHQuiesce = "quiescing a real server of an mh service (weight 0) leaves its share of the lookup table in place: " +
	"the flows hashed to it find no destination unless the service has the mh-fallback flag; add it (flags: [mh-fallback]) or use onFailure: remove"

// addKernelDefaults adds to out the sysctls s needs so that the kernel
// does what a user means, each documented in the package documentation
// ("Kernel defaults"); Config.Sysctls overrides them.
func (s *service) addKernelDefaults(out map[sysctl.Key]string) {
	if s.svc.Flags&ipvs.FlagPersistent != 0 {
		// A quiesced real server (failed, or disabled by hand) keeps its
		// persistent clients through their templates unless these expire.
		out[sysctl.VSExpireQuiescentTemplate] = "1"
	}
	if s.fails(Remove) {
		// The connections of a removed real server are dropped at once,
		// so that their clients reconnect, instead of timing out.
		out[sysctl.VSExpireNodestConn] = "1"
	}
}

// connReuseDefault is the net.ipv4.vs.conn_reuse_mode a kernel of release
// (uname's, "5.4.0-150-generic") needs, as kube-proxy learned: from 4.1 to
// 5.8 the default 1 delays a new connection from a reused client port by a
// second (the kernel drops the SYN while the old connection's conntrack
// entry goes, kubernetes/kubernetes#81775), so 0 there; 5.9 fixed it
// (kubernetes/kubernetes#93297), and its default stays. False: leave it.
func connReuseDefault(release string) (string, bool) {
	v, err := kernel.ParseRelease(release)
	if err != nil || v.Less(kernel.V(4, 1, 0)) || v.AtLeast(kernel.V(5, 9, 0)) {
		return "", false
	}
	return "0", true
}

// withSysctl is m with the sysctl k set to v, unless m sets k already (the
// user's own value wins) or has no services.
func (m *model) withSysctl(k sysctl.Key, v string) *model {
	if len(m.services) == 0 || slices.ContainsFunc(m.sysctls, func(s sysctl.Setting) bool { return s.Key == k }) {
		return m
	}
	out := *m
	out.sysctls = append(slices.Clone(m.sysctls), sysctl.Setting{Key: k, Value: v})
	slices.SortFunc(out.sysctls, func(a, b sysctl.Setting) int { return strings.Compare(string(a.Key), string(b.Key)) })
	return &out
}

// compileRealServer converts and validates a real server of svc.
func compileRealServer(svc ipvs.Service, rs RealServer) (ipvs.Destination, error) {
	d := ipvs.Destination{Addr: rs.Address,
		Forward: rs.Forward, Weight: rs.Weight, UpperThreshold: rs.UpperThreshold, LowerThreshold: rs.LowerThreshold}
	if t := rs.Tunnel; t != nil {
		if rs.Forward != ipvs.Tunnel {
			return d, fmt.Errorf("tunnel settings need forward: tunnel")
		}
		d.TunnelType, d.TunnelPort, d.TunnelFlags = t.Type, t.Port, t.Checksum
	}
	return d, ipvs.ValidateDestination(svc, d)
}

func (m MarkRule) rule(mark uint32) (iptables.Rule, error) {
	r := iptables.Rule{Destination: m.Destination, Source: m.Source, InInterface: m.InInterface,
		Protocol: iptables.Protocol(m.Protocol), Ports: m.Ports, Mark: mark}
	switch m.Protocol {
	case ipvs.TCP, ipvs.UDP, ipvs.SCTP:
	default:
		return r, fmt.Errorf("protocol %v is not tcp, udp or sctp", m.Protocol)
	}
	return r, r.Validate()
}

// targets lists what the health checks check: every real server of every
// service that has a check.
func (m *model) targets() map[target]checkList {
	out := map[target]checkList{}
	for _, s := range m.services {
		for i, d := range s.dests {
			if l := s.checksAt(i); len(l) > 0 {
				out[target{s.svc.Key(), d.Addr}] = l
			}
		}
	}
	return out
}

// targetRef is a checked real server as the health checks and the Status
// hold it: its service and its index in the service's dests (16 bytes,
// where its target is 80).
type targetRef struct {
	s *service
	i int
}

// target is the real server's target.
func (r targetRef) target() target { return target{r.s.svc.Key(), r.s.dests[r.i].Addr} }

// addr is the real server's address.
func (r targetRef) addr() netip.AddrPort { return r.s.dests[r.i].Addr }

// checks are the real server's checks.
func (r targetRef) checks() checkList { return r.s.checksAt(r.i) }

// checkTargets lists the checked real servers as targets() does, each
// once, in the order Status lists them (by service key, then address):
// the check scheduler's subscribers and the Status refer to the one
// table.
func (m *model) checkTargets() []targetRef {
	order := make([]*service, 0, len(m.services))
	n := 0
	for _, s := range m.services {
		c := 0
		for i := range s.dests {
			if s.checkedAt(i) {
				c++
			}
		}
		if c > 0 {
			order = append(order, s)
			n += c
		}
	}
	slices.SortFunc(order, func(a, b *service) int { return cmpKey(a.svc.Key(), b.svc.Key()) })
	refs := make([]targetRef, 0, n)
	for _, s := range order {
		first := len(refs)
		for i := range s.dests {
			if s.checkedAt(i) {
				refs = append(refs, targetRef{s, i})
			}
		}
		slices.SortFunc(refs[first:], func(a, b targetRef) int { return a.addr().Compare(b.addr()) })
	}
	return refs
}

// cmpTarget orders targets as Status lists them: by service key, then
// address.
func cmpTarget(x, y target) int { return cmp.Or(cmpKey(x.svc, y.svc), x.addr.Compare(y.addr)) }

// effective is the model with its real servers taken out of service as v
// says: the failed ones quiesced (weight 0) or removed as their service's
// check says, the disabled ones (by hand, Director.Disable) and every one of
// a service below its quorum quiesced (unless failed and removed), and the
// sorry server put in where no real server is left in service. Only the
// affected real servers differ from m, so a plan from it touches only
// those.
func (m *model) effective(v verdicts) *model {
	if len(v.failed) == 0 && len(v.disabled) == 0 && len(v.below) == 0 {
		return m
	}
	out := *m
	out.services = make([]*service, len(m.services))
	for i, s := range m.services {
		out.services[i] = s.effective(v)
	}
	out.index()
	return &out
}

// effective is s with its real servers taken out of service as v says,
// and the sorry server in if none is left in service; s itself when
// nothing changes. A failed real server counts only where s has a check.
func (s *service) effective(v verdicts) *service {
	k := s.svc.Key()
	below := v.below[k]
	down := func(i int) (bool, FailureAction) {
		tg := target{k, s.dests[i].Addr}
		switch {
		case s.checkedAt(i) && v.failed[tg]:
			if v.disabled[tg] {
				return true, Quiesce // disabled by hand: in place, whatever the check says
			}
			return true, s.checksAt(i).onFailure()
		case below || v.disabled[tg]:
			return true, Quiesce
		}
		return false, 0
	}
	hit := below
	for i := 0; i < len(s.dests) && !hit; i++ {
		hit, _ = down(i)
	}
	if !hit {
		return s
	}
	e := *s
	e.dests = nil
	up := 0
	for i, d := range s.dests {
		hit, action := down(i)
		switch {
		case !hit:
			up++
		case action == Remove:
			continue
		default:
			d.Weight = 0
		}
		e.dests = append(e.dests, d)
	}
	if up == 0 && s.sorry != nil {
		e.dests = append(e.dests, *s.sorry)
	}
	return &e
}

// index builds byKey; only the function that makes m calls it, before m
// is shared.
func (m *model) index() {
	m.byKey = make(map[ipvs.Key]*service, len(m.services))
	for _, s := range m.services {
		m.byKey[s.svc.Key()] = s
	}
}

// service returns the service keyed k, or nil. It only reads m: a model
// without an index (a literal, as Teardown's empty one) is searched.
func (m *model) service(k ipvs.Key) *service {
	if m.byKey != nil {
		return m.byKey[k]
	}
	for _, s := range m.services {
		if s.svc.Key() == k {
			return s
		}
	}
	return nil
}
