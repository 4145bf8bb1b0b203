package director

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	"sigs.k8s.io/yaml"
)

// Config is the desired director, in Go or as a JSON or YAML file (the
// field names in the file are the json tags).
type Config struct {
	// VIPs are the virtual addresses the director answers for.
	VIPs []VIP `json:"vips,omitempty"`
	// Services are the virtual services.
	Services []VirtualService `json:"services,omitempty"`
	// Timeouts sets IPVS's connection timeouts (ipvsadm --set); nil
	// leaves them alone.
	Timeouts *Timeouts `json:"timeouts,omitempty"`
	// Sysctls are set in the director's namespace, in addition to those
	// its services need (see Config.NeededSysctls).
	Sysctls map[string]string `json:"sysctls,omitempty"`
}

// VIP is a virtual address and where it lives.
type VIP struct {
	Address netip.Addr `json:"address"`
	// Interface holds the address: "lo" if empty.
	Interface string `json:"interface,omitempty"`
	// Dummy makes the director create Interface as a dummy device (and
	// delete it when no VIP uses it any more).
	Dummy bool `json:"dummy,omitempty"`
}

// Timeouts are IPVS's connection timeouts.
type Timeouts struct {
	TCP    Duration `json:"tcp,omitempty"`
	TCPFin Duration `json:"tcpfin,omitempty"`
	UDP    Duration `json:"udp,omitempty"`
}

// Duration is a time.Duration written as "10s" in files.
type Duration time.Duration

// MarshalJSON writes "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want \"10s\" or seconds, got %s", b)
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

// VirtualService is one virtual service and its real servers.
type VirtualService struct {
	// Name is for people and logs only.
	Name string `json:"name,omitempty"`
	// Protocol ("tcp", "udp", "sctp") and Address identify an address
	// service; FirewallMark (with Family "ipv4" or "ipv6") a mark service.
	Protocol     string         `json:"protocol,omitempty"`
	Address      netip.AddrPort `json:"address,omitzero"`
	FirewallMark uint32         `json:"fwmark,omitempty"`
	Family       string         `json:"family,omitempty"`
	// Mark is the rule that sets FirewallMark on the service's packets.
	Mark *MarkRule `json:"mark,omitempty"`

	Scheduler string `json:"scheduler,omitempty"` // "wlc" if empty
	// Flags: "one-packet", "sh-fallback", "sh-port", "mh-fallback", "mh-port".
	Flags       []string     `json:"flags,omitempty"`
	Persistence *Persistence `json:"persistence,omitempty"`

	RealServers []RealServer `json:"realServers,omitempty"`
	// Check is the health check run against each real server; nil means
	// none (every real server counts as healthy).
	Check *Check `json:"check,omitempty"`
	// SorryServer takes the traffic when no real server is healthy.
	SorryServer *RealServer `json:"sorryServer,omitempty"`
	// SNAT gives the traffic the director forwards to the real servers the
	// director's own source address: FULLNAT's effect with the mainline
	// kernel (masquerade forwarding, plus source NAT by nftables with
	// net.ipv4.vs.conntrack=1), so that real servers need no route back
	// through the director. The price: real servers see the director's
	// address instead of the client's, and conntrack holds every
	// connection. Every real server must use forward: nat.
	SNAT bool `json:"snat,omitempty"`
}

// Check is a keepalived-style health check of a service's real servers.
type Check struct {
	// Type is "tcp" (connect), "http" or "https" (GET, expected status),
	// or "command" (exit status 0 means healthy).
	Type string `json:"type"`
	// Port to check; the real server's port if zero (required for
	// firewall-mark services, whose real servers have none).
	Port uint16 `json:"port,omitempty"`
	// Path and Status for http(s): GET Path ("/" if empty) must answer
	// Status (200 if zero). Host sets the Host header.
	Path   string `json:"path,omitempty"`
	Status int    `json:"status,omitempty"`
	Host   string `json:"host,omitempty"`
	// Command is run with LVS_RS_ADDR and LVS_RS_PORT in its environment,
	// inside the director's network namespace.
	Command []string `json:"command,omitempty"`
	// Interval between checks (5s) and Timeout of one check (2s).
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	// Rise successes in a row make a failed server healthy again (2);
	// Fall failures in a row make a healthy one failed (3).
	Rise int `json:"rise,omitempty"`
	Fall int `json:"fall,omitempty"`
	// OnFailure is "quiesce" (weight 0: open connections go on, no new
	// ones; the default) or "remove".
	OnFailure string `json:"onFailure,omitempty"`
}

// withDefaults fills in the defaults and checks the rest.
func (c Check) withDefaults() (Check, error) {
	if c.Interval == 0 {
		c.Interval = Duration(5 * time.Second)
	}
	if c.Timeout == 0 {
		c.Timeout = Duration(2 * time.Second)
	}
	if c.Rise == 0 {
		c.Rise = 2
	}
	if c.Fall == 0 {
		c.Fall = 3
	}
	if c.OnFailure == "" {
		c.OnFailure = "quiesce"
	}
	if c.Status == 0 {
		c.Status = 200
	}
	if c.Path == "" {
		c.Path = "/"
	}
	switch {
	case c.Type != "tcp" && c.Type != "http" && c.Type != "https" && c.Type != "command":
		return c, fmt.Errorf("check type %q is not tcp, http, https or command", c.Type)
	case c.Type == "command" && len(c.Command) == 0:
		return c, fmt.Errorf("a command check needs a command")
	case c.Interval < 0 || c.Timeout < 0 || c.Rise < 0 || c.Fall < 0:
		return c, fmt.Errorf("check: negative interval, timeout, rise or fall")
	case c.OnFailure != "quiesce" && c.OnFailure != "remove":
		return c, fmt.Errorf("check: onFailure %q is not quiesce or remove", c.OnFailure)
	}
	return c, nil
}

// MarkRule selects the packets a firewall-mark service takes, as
// `iptables -t mangle -A PREROUTING -d VIP -p tcp -m multiport --dports
// 80,88 -j MARK --set-mark N` does.
type MarkRule struct {
	Destination netip.Prefix `json:"destination"`
	Source      netip.Prefix `json:"source,omitzero"`
	InInterface string       `json:"inInterface,omitempty"`
	Protocol    string       `json:"protocol"` // tcp, udp, sctp
	Ports       []string     `json:"ports"`    // "80", "8000-8080"
}

func (m MarkRule) rule(mark uint32) (iptables.Rule, error) {
	r := iptables.Rule{Destination: m.Destination, Source: m.Source, InInterface: m.InInterface, Mark: mark}
	p, ok := map[string]iptables.Protocol{"tcp": iptables.TCP, "udp": iptables.UDP, "sctp": iptables.SCTP}[strings.ToLower(m.Protocol)]
	if !ok {
		return r, fmt.Errorf("mark: protocol %q is not tcp, udp or sctp", m.Protocol)
	}
	r.Protocol = p
	for _, ps := range m.Ports {
		first, last, isRange := strings.Cut(ps, "-")
		if !isRange {
			last = first
		}
		a, err1 := strconv.ParseUint(first, 10, 16)
		b, err2 := strconv.ParseUint(last, 10, 16)
		if err1 != nil || err2 != nil {
			return r, fmt.Errorf("mark: port %q", ps)
		}
		r.Ports = append(r.Ports, iptables.PortRange{First: uint16(a), Last: uint16(b)})
	}
	if err := r.Validate(); err != nil {
		return r, err
	}
	return r, nil
}

// Persistence is client affinity (ipvsadm -p, -M, --pe).
type Persistence struct {
	Timeout Duration `json:"timeout"`
	Netmask int      `json:"netmask,omitempty"` // prefix length; 0 means the whole address
	Engine  string   `json:"engine,omitempty"`  // e.g. "sip"
}

// RealServer is a destination of a virtual service.
type RealServer struct {
	Address netip.AddrPort `json:"address"`
	// Forward: "nat" (masquerade), "dr" (direct routing), "tunnel", "local".
	Forward        string  `json:"forward"`
	Weight         *int    `json:"weight,omitempty"` // 1 if absent; 0 quiesces
	UpperThreshold uint32  `json:"upperThreshold,omitempty"`
	LowerThreshold uint32  `json:"lowerThreshold,omitempty"`
	Tunnel         *Tunnel `json:"tunnel,omitempty"`
}

// Tunnel configures GUE or GRE encapsulation of a tunnel destination.
type Tunnel struct {
	Type     string `json:"type"`               // "ipip", "gue", "gre"
	Port     uint16 `json:"port,omitempty"`     // GUE
	Checksum string `json:"checksum,omitempty"` // "", "csum", "remcsum"
}

// Load reads a configuration file, YAML or JSON (JSON is YAML); unknown
// fields are errors.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse reads a configuration in YAML or JSON.
func Parse(b []byte) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return nil, &ConfigError{Reason: err.Error()}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ErrInvalid is matched by every configuration error.
var ErrInvalid = errors.New("director: invalid configuration")

// ConfigError is a configuration rejected before anything was changed.
type ConfigError struct {
	Where  string // e.g. "services[1].realServers[0]"
	Reason string
}

func (e *ConfigError) Error() string {
	if e.Where == "" {
		return "director: config: " + e.Reason
	}
	return "director: config: " + e.Where + ": " + e.Reason
}

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid || target == fs.ErrInvalid }

// Validate checks the whole configuration, including every service and
// destination as the ipvs package would before sending it.
func (c *Config) Validate() error {
	_, err := c.desired()
	return err
}

// desiredService is a service as the kernel should have it, with its
// destinations and mark rule.
type desiredService struct {
	name  string
	svc   ipvs.Service
	dests []ipvs.Destination
	mark  *iptables.Rule
	snat  bool
}

// desired converts and validates the configuration.
func (c *Config) desired() ([]desiredService, error) {
	var out []desiredService
	seen := map[ipvs.Key]string{}
	for i, vs := range c.Services {
		where := fmt.Sprintf("services[%d]", i)
		if vs.Name != "" {
			where += " (" + vs.Name + ")"
		}
		d, err := vs.convert()
		if err != nil {
			return nil, &ConfigError{Where: where, Reason: err.Error()}
		}
		if vs.Check != nil {
			chk, err := vs.Check.withDefaults()
			if err != nil {
				return nil, &ConfigError{Where: where, Reason: err.Error()}
			}
			if chk.Port == 0 && chk.Type != "command" && d.svc.IsFirewallMark() {
				return nil, &ConfigError{Where: where, Reason: "a check of a firewall-mark service needs a port"}
			}
		}
		if vs.SNAT {
			for _, dst := range d.dests {
				if dst.Forward != ipvs.Masquerade {
					return nil, &ConfigError{Where: where, Reason: "snat needs forward: nat on every real server"}
				}
			}
			if d.svc.IsFirewallMark() && d.mark == nil {
				return nil, &ConfigError{Where: where, Reason: "snat on a firewall-mark service needs its mark rule (for the protocol)"}
			}
			d.snat = true
		}
		if vs.SorryServer != nil {
			if _, err := (VirtualService{Protocol: vs.Protocol, Address: vs.Address, FirewallMark: vs.FirewallMark,
				Family: vs.Family, RealServers: []RealServer{*vs.SorryServer}}).convert(); err != nil {
				return nil, &ConfigError{Where: where + ".sorryServer", Reason: err.Error()}
			}
		}
		if prev, dup := seen[d.svc.Key()]; dup {
			return nil, &ConfigError{Where: where, Reason: "same service as " + prev}
		}
		seen[d.svc.Key()] = where
		d.name = vs.Name
		out = append(out, d)
	}
	vips := map[netip.Addr]bool{}
	for i, v := range c.VIPs {
		where := fmt.Sprintf("vips[%d]", i)
		switch {
		case !v.Address.IsValid() || v.Address.IsUnspecified() || v.Address.IsMulticast():
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("%v is not a unicast address", v.Address)}
		case vips[v.Address]:
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("%v listed twice", v.Address)}
		case v.Dummy && (v.Interface == "" || v.Interface == "lo"):
			return nil, &ConfigError{Where: where, Reason: "dummy needs an interface name other than lo"}
		case len(v.Interface) > 15 || strings.ContainsAny(v.Interface, "/ :"):
			return nil, &ConfigError{Where: where, Reason: fmt.Sprintf("interface name %q", v.Interface)}
		}
		vips[v.Address] = true
	}
	if t := c.Timeouts; t != nil {
		for name, v := range map[string]Duration{"tcp": t.TCP, "tcpfin": t.TCPFin, "udp": t.UDP} {
			if v < 0 || time.Duration(v)%time.Second != 0 {
				return nil, &ConfigError{Where: "timeouts." + name, Reason: "want whole seconds"}
			}
		}
	}
	for k := range c.Sysctls {
		if _, err := sysctlKey(k).Path(); err != nil {
			return nil, &ConfigError{Where: "sysctls", Reason: err.Error()}
		}
	}
	return out, nil
}

var serviceFlags = map[string]ipvs.ServiceFlags{
	"one-packet": ipvs.FlagOnePacket, "ops": ipvs.FlagOnePacket,
	"sh-fallback": ipvs.FlagSHFallback, "sh-port": ipvs.FlagSHPort,
	"mh-fallback": ipvs.FlagMHFallback, "mh-port": ipvs.FlagMHPort,
}

var forwards = map[string]ipvs.ForwardMethod{
	"nat": ipvs.Masquerade, "masq": ipvs.Masquerade, "masquerade": ipvs.Masquerade,
	"dr": ipvs.DirectRoute, "route": ipvs.DirectRoute, "direct": ipvs.DirectRoute,
	"tunnel": ipvs.Tunnel, "tun": ipvs.Tunnel, "ipip": ipvs.Tunnel,
	"local": ipvs.Local,
}

func (vs VirtualService) convert() (desiredService, error) {
	var d desiredService
	s := &d.svc
	switch {
	case vs.FirewallMark != 0:
		if vs.Protocol != "" || vs.Address.IsValid() {
			return d, fmt.Errorf("a firewall-mark service has no protocol or address")
		}
		s.FirewallMark = vs.FirewallMark
		switch strings.ToLower(vs.Family) {
		case "", "ipv4", "inet":
			s.Family = ipvs.IPv4
		case "ipv6", "inet6":
			s.Family = ipvs.IPv6
		default:
			return d, fmt.Errorf("family %q is not ipv4 or ipv6", vs.Family)
		}
		if vs.Mark != nil {
			r, err := vs.Mark.rule(vs.FirewallMark)
			if err != nil {
				return d, err
			}
			d.mark = &r
		}
	default:
		p, ok := map[string]ipvs.Protocol{"tcp": ipvs.TCP, "udp": ipvs.UDP, "sctp": ipvs.SCTP}[strings.ToLower(vs.Protocol)]
		if !ok {
			return d, fmt.Errorf("protocol %q is not tcp, udp or sctp", vs.Protocol)
		}
		if vs.Mark != nil {
			return d, fmt.Errorf("a mark rule needs a firewall-mark service")
		}
		s.Protocol, s.Addr, s.Family = p, vs.Address, ipvs.FamilyOf(vs.Address.Addr())
	}
	s.Scheduler = ipvs.Scheduler(vs.Scheduler)
	if s.Scheduler == "" {
		s.Scheduler = ipvs.WeightedLeastConnection
	}
	for _, f := range vs.Flags {
		v, ok := serviceFlags[f]
		if !ok {
			return d, fmt.Errorf("unknown flag %q", f)
		}
		s.Flags |= v
	}
	if p := vs.Persistence; p != nil {
		if p.Timeout <= 0 {
			return d, fmt.Errorf("persistence needs a timeout")
		}
		s.Timeout, s.Netmask, s.PersistenceEngine = time.Duration(p.Timeout), p.Netmask, p.Engine
		s.Flags |= ipvs.FlagPersistent
	}
	if err := ipvs.ValidateService(*s); err != nil {
		return d, err
	}
	seen := map[netip.AddrPort]bool{}
	for i, rs := range vs.RealServers {
		dst := ipvs.Destination{Addr: rs.Address, Weight: 1,
			UpperThreshold: rs.UpperThreshold, LowerThreshold: rs.LowerThreshold}
		f, ok := forwards[strings.ToLower(rs.Forward)]
		if !ok {
			return d, fmt.Errorf("realServers[%d]: forward %q is not nat, dr, tunnel or local", i, rs.Forward)
		}
		dst.Forward = f
		if rs.Weight != nil {
			dst.Weight = *rs.Weight
		}
		if t := rs.Tunnel; t != nil {
			switch t.Type {
			case "ipip", "":
				dst.TunnelType = ipvs.TunnelIPIP
			case "gue":
				dst.TunnelType = ipvs.TunnelGUE
			case "gre":
				dst.TunnelType = ipvs.TunnelGRE
			default:
				return d, fmt.Errorf("realServers[%d]: tunnel type %q", i, t.Type)
			}
			dst.TunnelPort = t.Port
			switch t.Checksum {
			case "", "nocsum":
			case "csum":
				dst.TunnelFlags = ipvs.TunnelChecksum
			case "remcsum":
				dst.TunnelFlags = ipvs.TunnelRemoteChecksum
			default:
				return d, fmt.Errorf("realServers[%d]: checksum %q", i, t.Checksum)
			}
		}
		if seen[dst.Addr] {
			return d, fmt.Errorf("realServers[%d]: %v listed twice", i, dst.Addr)
		}
		seen[dst.Addr] = true
		if err := ipvs.ValidateDestination(*s, dst); err != nil {
			return d, fmt.Errorf("realServers[%d]: %w", i, err)
		}
		d.dests = append(d.dests, dst)
	}
	return d, nil
}

func sysctlKey(k string) sysctl.Key { return sysctl.Key(k) }

// NeededSysctls are the sysctls the configuration's services need:
// ip_forward (and IPv6 forwarding) when a real server is masqueraded, and
// net.ipv4.vs.conntrack when a firewall mark selects a masqueraded
// service's packets (so that replies find their connection).
func (c *Config) NeededSysctls() map[sysctl.Key]string {
	out := map[sysctl.Key]string{}
	for _, vs := range c.Services {
		d, err := vs.convert()
		if err != nil {
			continue
		}
		for _, dst := range d.dests {
			if dst.Forward == ipvs.Masquerade {
				if dst.Family() == ipvs.IPv6 {
					out[sysctl.IPv6Forward] = "1"
				} else {
					out[sysctl.IPv4Forward] = "1"
				}
				if d.mark != nil || vs.SNAT {
					out[sysctl.VSConntrack] = "1"
				}
			}
		}
	}
	for k, v := range c.Sysctls {
		out[sysctl.Key(k)] = v
	}
	return out
}
