package director

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-go/lvs/internal/ifname"
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
	// byKey indexes services, built on first use (see service).
	byKey map[ipvs.Key]*service
}

// service is one virtual service of the model.
type service struct {
	name  string
	svc   ipvs.Service
	dests []ipvs.Destination
	mark  *iptables.Rule
	snat  bool
	check *compiledCheck    // nil: no health check
	sorry *ipvs.Destination // nil: no sorry server
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
	seen := map[ipvs.Key]string{}
	need := map[sysctl.Key]string{}
	for i, vs := range cfg.Services {
		where := fmt.Sprintf("services[%d]", i)
		if vs.Name != "" {
			where += " (" + vs.Name + ")"
		}
		s, err := compileService(vs, where)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.svc.Key()]; dup {
			return nil, &ConfigError{Where: where, Reason: "same service as " + prev}
		}
		seen[s.svc.Key()] = where
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
	vips := map[netip.Addr]bool{}
	for i, v := range cfg.VIPs {
		where := fmt.Sprintf("vips[%d]", i)
		v.Address = v.Address.Unmap()
		switch {
		case !v.Address.IsValid() || v.Address.IsUnspecified() || v.Address.IsMulticast():
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
	if t := cfg.Timeouts; t != nil {
		it := ipvs.Timeouts{TCP: t.TCP, TCPFin: t.TCPFin, UDP: t.UDP}
		if err := ipvs.ValidateTimeouts(it); err != nil {
			return nil, &ConfigError{Where: "timeouts", Reason: err.Error()}
		}
		m.timeouts = &it
	}
	for k, v := range cfg.Sysctls {
		if _, err := k.Path(); err != nil {
			return nil, &ConfigError{Where: "sysctls", Reason: err.Error()}
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
	return m, nil
}

// compileService converts and validates one virtual service.
func compileService(vs VirtualService, where string) (*service, error) {
	fail := func(sub, format string, args ...any) error {
		return &ConfigError{Where: where + sub, Reason: fmt.Sprintf(format, args...)}
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
				return nil, fail(".mark", "%v", err)
			}
			s.mark = &r
		}
	default:
		if vs.Mark != nil {
			return nil, fail("", "a mark rule needs a firewall-mark service")
		}
		a := netip.AddrPortFrom(vs.Address.Addr().Unmap(), vs.Address.Port())
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
		return nil, fail("", "%v", err)
	}
	seen := map[netip.AddrPort]bool{}
	for i, rs := range vs.RealServers {
		sub := fmt.Sprintf(".realServers[%d]", i)
		d, err := compileRealServer(*k, rs)
		if err != nil {
			return nil, fail(sub, "%v", err)
		}
		if seen[d.Addr] {
			return nil, fail(sub, "%v listed twice", d.Addr)
		}
		seen[d.Addr] = true
		if vs.SNAT && d.Forward != ipvs.Masquerade {
			return nil, fail(sub, "snat needs forward: nat on every real server")
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
		d, err := compileRealServer(*k, *vs.SorryServer)
		if err != nil {
			return nil, fail(".sorryServer", "%v", err)
		}
		if vs.SNAT && d.Forward != ipvs.Masquerade {
			return nil, fail(".sorryServer", "snat needs forward: nat")
		}
		s.sorry = &d
	}
	if vs.Check != nil {
		c, err := compileCheck(*vs.Check, k.IsFirewallMark())
		if err != nil {
			return nil, fail(".check", "%v", err)
		}
		s.check = c
	}
	return s, nil
}

// compileRealServer converts and validates a real server of svc.
func compileRealServer(svc ipvs.Service, rs RealServer) (ipvs.Destination, error) {
	d := ipvs.Destination{Addr: netip.AddrPortFrom(rs.Address.Addr().Unmap(), rs.Address.Port()),
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
func (m *model) targets() map[target]*compiledCheck {
	out := map[target]*compiledCheck{}
	for _, s := range m.services {
		if s.check == nil {
			continue
		}
		for _, d := range s.dests {
			out[target{s.svc.Key(), d.Addr}] = s.check
		}
	}
	return out
}

// effective is the model with the failed real servers quiesced (weight 0)
// or removed as their service's check says, and the sorry server put in
// where no real server is healthy. Only the affected real servers differ
// from m, so a plan from it touches only those.
func (m *model) effective(failed map[target]bool) *model {
	if len(failed) == 0 {
		return m
	}
	out := *m
	out.services = make([]*service, len(m.services))
	for i, s := range m.services {
		out.services[i] = s.effective(failed)
	}
	return &out
}

// effective is s with its failed real servers quiesced or removed and the
// sorry server in if none is healthy; s itself when nothing changes.
func (s *service) effective(failed map[target]bool) *service {
	if s.check == nil {
		return s
	}
	k := s.svc.Key()
	hit := false
	for _, d := range s.dests {
		hit = hit || failed[target{k, d.Addr}]
	}
	if !hit {
		return s
	}
	e := *s
	e.dests = nil
	healthy := 0
	for _, d := range s.dests {
		if !failed[target{k, d.Addr}] {
			healthy++
			e.dests = append(e.dests, d)
			continue
		}
		if s.check.check.OnFailure == Quiesce {
			d.Weight = 0
			e.dests = append(e.dests, d)
		}
	}
	if healthy == 0 && s.sorry != nil {
		e.dests = append(e.dests, *s.sorry)
	}
	return &e
}

// service returns the service keyed k, or nil.
func (m *model) service(k ipvs.Key) *service {
	if m.byKey == nil {
		m.byKey = make(map[ipvs.Key]*service, len(m.services))
		for _, s := range m.services {
			m.byKey[s.svc.Key()] = s
		}
	}
	return m.byKey[k]
}
