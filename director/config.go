package director

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lvs-go/lvs/internal/yamlx"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
	yamlv2 "go.yaml.in/yaml/v2"
)

// Config is the desired director, in Go or as a JSON or YAML file (the
// field names in the file are the json tags). Enums are the ipvs package's
// types, spelled in files as their text forms ("tcp", "wrr", "dr"); durations
// are time.Duration, written "10s" (or a number of seconds) in files.
type Config struct {
	// VIPs are the virtual addresses the director answers for.
	VIPs []VIP `json:"vips,omitempty"`
	// Services are the virtual services.
	Services []VirtualService `json:"services,omitempty"`
	// Timeouts sets IPVS's connection timeouts (ipvsadm --set); nil
	// leaves them alone.
	Timeouts *Timeouts `json:"timeouts,omitempty"`
	// Sysctls are set in the director's namespace, in addition to those
	// its services need (ip_forward for NAT, vs.conntrack for marks and
	// source NAT). Keys are net.* (per network namespace); a host-wide key
	// (kernel.*, vm.*, ...) needs HostSysctls.
	Sysctls map[sysctl.Key]string `json:"sysctls,omitempty"`
	// HostSysctls allows Sysctls outside net.*, which change the whole
	// host, not only the director's namespace.
	HostSysctls bool `json:"hostSysctls,omitempty"`
	// Cluster makes the director one of several behind a router: the VIP
	// prefixes it announces by BGP, and the rules announced services
	// follow so that every director sends a flow to the same real server.
	Cluster *Cluster `json:"cluster,omitempty"`
	// VRRP makes the director one of a pair that moves the VIPs between
	// them by VRRP, as a keepalived pair does.
	VRRP *VRRP `json:"vrrp,omitempty"`
	// AllowNoServices makes a configuration without services valid.
	// Applying one deletes every service the director owns, so without it
	// an empty or truncated file (a reload during an editor's write) is
	// refused.
	AllowNoServices bool `json:"allowNoServices,omitempty"`
}

// VIP is a virtual address and where it lives.
type VIP struct {
	// Address is the virtual address (required).
	Address netip.Addr `json:"address"`
	// Interface holds the address: "lo" if empty.
	Interface string `json:"interface,omitempty"`
	// Dummy makes the director create Interface as a dummy device (and
	// delete it when no VIP uses it any more).
	Dummy bool `json:"dummy,omitempty"`
}

// Timeouts are IPVS's connection timeouts, in whole seconds; a zero field
// is left as it is.
type Timeouts struct {
	// TCP is the timeout of established TCP connections (ipvsadm --set's
	// first value), TCPFin that of TCP connections after a FIN (its
	// second), UDP that of UDP (its third).
	TCP    time.Duration `json:"tcp,omitempty"`
	TCPFin time.Duration `json:"tcpfin,omitempty"`
	UDP    time.Duration `json:"udp,omitempty"`
}

// VirtualService is one virtual service and its real servers.
type VirtualService struct {
	// Name is for people and logs only.
	Name string `json:"name,omitempty"`
	// Protocol and Address identify an address service; FirewallMark
	// (with Family, IPv4 if zero) a firewall-mark service.
	Protocol     ipvs.Protocol  `json:"protocol,omitempty"`
	Address      netip.AddrPort `json:"address,omitzero"`
	FirewallMark uint32         `json:"fwmark,omitempty"`
	Family       ipvs.Family    `json:"family,omitempty"`
	// Mark is the rule that sets FirewallMark on the service's packets.
	Mark *MarkRule `json:"mark,omitempty"`

	// Scheduler: WeightedLeastConnection if empty.
	Scheduler ipvs.Scheduler `json:"scheduler,omitempty"`
	// Flags are the service's flags: one-packet and the scheduler's
	// (sh-fallback, sh-port, mh-fallback, mh-port). Persistence sets the
	// persistent flag. In files a list, [one-packet, mh-fallback], or a
	// string, "one-packet,mh-fallback".
	Flags       ipvs.ServiceFlags `json:"flags,omitempty"`
	Persistence *Persistence      `json:"persistence,omitempty"`

	// RealServers are the service's destinations.
	RealServers []RealServer `json:"realServers,omitempty"`
	// Check is the health check run against each real server; nil means
	// none (every real server counts as healthy).
	Check *Check `json:"check,omitempty"`
	// Checks are several health checks run against each real server, as
	// keepalived's several checkers of one real server: it is healthy
	// while every one passes, and fails when the first of them fails (the
	// real server's error names it: "checks[1] (http): ..."). Not with
	// Check: a single check is Check, or the only one of Checks. The
	// checks of one real server agree on onFailure. A real server's own
	// Checks replace the service's.
	Checks []Check `json:"checks,omitempty"`
	// SorryServer takes the traffic when no real server is healthy, or the
	// service is below its Quorum.
	SorryServer *RealServer `json:"sorryServer,omitempty"`
	// Quorum, if set, is the fewest real servers in service (configured
	// with a weight, healthy, not disabled by hand) the service needs: with
	// fewer, the service is down, every real server quiesced and the sorry
	// server, if any, taking new connections (keepalived's quorum, counted
	// in real servers rather than weights). It is up again once
	// Quorum+Hysteresis real servers are in service, so that one real
	// server flapping at the edge does not flap the service. Both are
	// from 0, and their sum at most the service's number of real
	// servers; Hysteresis needs Quorum.
	Quorum     int `json:"quorum,omitempty"`
	Hysteresis int `json:"hysteresis,omitempty"`
	// Notify runs commands when the service's real servers change health
	// or the service its quorum.
	Notify *Notify `json:"notify,omitempty"`
	// SNAT gives the traffic the director forwards to the real servers the
	// director's own source address: FULLNAT's effect with the mainline
	// kernel (masquerade forwarding, plus source NAT by the firewall with
	// net.ipv4.vs.conntrack=1), so that real servers need no route back
	// through the director. The price: real servers see the director's
	// address instead of the client's, and conntrack holds every
	// connection. Every real server must use Masquerade forwarding.
	SNAT bool `json:"snat,omitempty"`
}

// Notify lists the commands run on a service's events, each an argv (no
// shell), started in the director's network namespace and not waited for
// (killed after NotifyTimeout), with the event in its environment:
//
//	LVS_EVENT         realserver_up, realserver_down, quorum_up or quorum_down
//	LVS_SERVICE       the service, as "tcp 10.0.0.8:80" or "fwmark 10"
//	LVS_SERVICE_NAME  the service's Name
//	LVS_RS_ADDR       the real server's address (real server events)
//	LVS_RS_PORT       its port
//	LVS_REASON        why the real server failed: its last check's error
//	LVS_IN_SERVICE    how many real servers are in service (quorum events)
//	LVS_QUORUM        the service's Quorum
//
// A Go program gets the same events as Reports from Run.
type Notify struct {
	// RealServerUp runs when a real server becomes healthy, RealServerDown
	// when it fails (realserver_up, realserver_down).
	RealServerUp   []string `json:"realServerUp,omitempty"`
	RealServerDown []string `json:"realServerDown,omitempty"`
	// QuorumUp runs when the service is up again, QuorumDown when it goes
	// below its Quorum (quorum_up, quorum_down).
	QuorumUp   []string `json:"quorumUp,omitempty"`
	QuorumDown []string `json:"quorumDown,omitempty"`
}

// NotifyTimeout bounds how long a Notify command may run.
const NotifyTimeout = 30 * time.Second

// MarkRule selects the packets a firewall-mark service takes, as
// `iptables -t mangle -A PREROUTING -d VIP -p tcp -m multiport --dports
// 80,88 -j MARK --set-mark N` does.
type MarkRule struct {
	// Destination is the packets' destination (-d): the VIP, or a prefix.
	Destination netip.Prefix `json:"destination"`
	// Source, if set, is their source (-s).
	Source netip.Prefix `json:"source,omitzero"`
	// InInterface, if set, is the interface they come in on (-i).
	InInterface string `json:"inInterface,omitempty"`
	// Protocol is their protocol (-p), and Ports their destination ports
	// (--dports).
	Protocol ipvs.Protocol        `json:"protocol"`
	Ports    []iptables.PortRange `json:"ports"` // "80", "8000-8080" in files
}

// Persistence is client affinity (ipvsadm -p, -M, --pe).
type Persistence struct {
	// Timeout is how long a client's connections keep going to the same
	// real server after its last one (ipvsadm -p).
	Timeout time.Duration `json:"timeout"`
	Netmask int           `json:"netmask,omitempty"` // prefix length; 0 means the whole address
	Engine  string        `json:"engine,omitempty"`  // e.g. "sip"
}

// RealServer is a destination of a virtual service.
type RealServer struct {
	// Address is the real server's address and port (a firewall-mark
	// service's real servers may have port 0).
	Address netip.AddrPort `json:"address"`
	// Forward is the forwarding method: nat, dr, tunnel or local in files,
	// where it is required. (In Go its zero value is ipvs.Masquerade.)
	Forward ipvs.ForwardMethod `json:"forward"`
	// Weight is the real server's share of new connections. In a file a
	// missing weight means 1, as with ipvsadm; in Go the zero value is 0,
	// which quiesces the real server (no new connections): set it.
	Weight int `json:"weight"`
	// UpperThreshold, if set, is the most connections the real server
	// takes (ipvsadm -x); past it, it gets no new ones until it is below
	// LowerThreshold (-y).
	UpperThreshold uint32 `json:"upperThreshold,omitempty"`
	LowerThreshold uint32 `json:"lowerThreshold,omitempty"`
	// Tunnel sets the encapsulation of a tunnel real server (IPIP if
	// nil).
	Tunnel *Tunnel `json:"tunnel,omitempty"`
	// Checks, if any, are this real server's health checks, in place of
	// its service's Check or Checks (keepalived's checkers are per real
	// server): it is healthy while every one passes. None (empty) means
	// the service's. A sorry server has none.
	Checks []Check `json:"checks,omitempty"`
}

// Tunnel configures GUE or GRE encapsulation of a tunnel destination.
type Tunnel struct {
	Type     ipvs.TunnelType  `json:"type"`               // ipip, gue, gre
	Port     uint16           `json:"port,omitempty"`     // GUE
	Checksum ipvs.TunnelFlags `json:"checksum,omitempty"` // nocsum, csum, remcsum
}

// decodeStrict decodes one JSON value into v refusing unknown fields, as
// the whole Config is decoded (a type's own UnmarshalJSON does not inherit
// the outer decoder's setting).
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type timeoutsPlain Timeouts

type timeoutsFile struct {
	TCP    jsonDuration `json:"tcp,omitempty"`
	TCPFin jsonDuration `json:"tcpfin,omitempty"`
	UDP    jsonDuration `json:"udp,omitempty"`
}

// MarshalJSON writes the timeouts as "20s".
func (t Timeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(timeoutsFile{jsonDuration(t.TCP), jsonDuration(t.TCPFin), jsonDuration(t.UDP)})
}

// UnmarshalJSON reads "20s" or seconds.
func (t *Timeouts) UnmarshalJSON(b []byte) error {
	var f timeoutsFile
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("timeouts: %w", err)
	}
	*t = Timeouts{time.Duration(f.TCP), time.Duration(f.TCPFin), time.Duration(f.UDP)}
	return nil
}

type persistencePlain Persistence

type persistenceFile struct {
	*persistencePlain
	Timeout jsonDuration `json:"timeout"`
}

// MarshalJSON writes the timeout as "300s".
func (p Persistence) MarshalJSON() ([]byte, error) {
	pp := persistencePlain(p)
	return json.Marshal(persistenceFile{&pp, jsonDuration(p.Timeout)})
}

// UnmarshalJSON reads the timeout as "300s" or seconds.
func (p *Persistence) UnmarshalJSON(b []byte) error {
	f := persistenceFile{persistencePlain: (*persistencePlain)(p)}
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("persistence: %w", err)
	}
	p.Timeout = time.Duration(f.Timeout)
	return nil
}

type realServerPlain RealServer

// UnmarshalJSON reads a real server: weight 1 when the file has none, and a
// forwarding method the file must name.
func (rs *RealServer) UnmarshalJSON(b []byte) error {
	var present struct {
		Forward *json.RawMessage `json:"forward"`
	}
	if err := json.Unmarshal(b, &present); err != nil {
		return err
	}
	if present.Forward == nil {
		return errors.New("real server: forward is required (nat, dr, tunnel or local)")
	}
	p := realServerPlain{Weight: 1}
	if err := decodeStrict(b, &p); err != nil {
		return fmt.Errorf("real server: %w", err)
	}
	*rs = RealServer(p)
	return nil
}

type virtualServicePlain VirtualService

// virtualServiceFile is how files spell a service: flags as a list.
type virtualServiceFile struct {
	*virtualServicePlain
	Flags flagList `json:"flags,omitempty"`
}

// flagList reads service flags as a list of names or one string.
type flagList ipvs.ServiceFlags

func (f *flagList) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return errors.New("flags: want a list of names or a string")
		}
		names = []string{one}
	}
	var v ipvs.ServiceFlags
	for _, n := range names {
		var one ipvs.ServiceFlags
		if err := one.UnmarshalText([]byte(n)); err != nil {
			return err
		}
		v |= one
	}
	*f = flagList(v)
	return nil
}

// MarshalJSON writes the flags as a list of names as they read for the
// service's scheduler (mh-fallback for mh).
func (vs VirtualService) MarshalJSON() ([]byte, error) {
	p := virtualServicePlain(vs)
	return json.Marshal(struct {
		*virtualServicePlain
		Flags []string `json:"flags,omitempty"`
	}{&p, vs.Flags.Names(vs.Scheduler)})
}

// UnmarshalJSON reads the flags as a list or a string.
func (vs *VirtualService) UnmarshalJSON(b []byte) error {
	f := virtualServiceFile{virtualServicePlain: (*virtualServicePlain)(vs)}
	if err := decodeStrict(b, &f); err != nil {
		return err
	}
	vs.Flags = ipvs.ServiceFlags(f.Flags)
	return nil
}

// MaxConfigSize is the largest configuration file Load reads: far more than
// 10,000 services take, and small enough that a wrong path (a log, a
// device) cannot exhaust memory.
const MaxConfigSize = 64 << 20

// Load reads a configuration file, YAML or JSON (JSON is YAML), and
// compiles it; unknown fields are errors, and so are a file larger than
// MaxConfigSize and one that is not a regular file (a FIFO, a device, a
// directory: refused without waiting or reading).
func Load(path string) (*Compiled, error) {
	// O_NONBLOCK: a FIFO given by mistake is refused, not waited on.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &ConfigError{Reason: fmt.Sprintf("%s is not a regular file (%v)", path, fi.Mode().Type())}
	}
	// Read into a buffer of the file's size (one allocation, not
	// io.ReadAll's doublings), still bounded if the file grows.
	var buf bytes.Buffer
	buf.Grow(int(min(fi.Size(), MaxConfigSize)) + 512)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxConfigSize+1)); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) > MaxConfigSize {
		return nil, &ConfigError{Reason: fmt.Sprintf("%s is larger than %d bytes", path, MaxConfigSize)}
	}
	return Parse(b)
}

// Parse reads a configuration in YAML or JSON and compiles it. Its errors
// are *ConfigError, with the line of b they are about where it can be
// told.
func Parse(b []byte) (*Compiled, error) {
	c, err := readConfig(b)
	if err != nil {
		return nil, err
	}
	cc, err := Compile(c)
	if err != nil {
		return nil, withLine(b, err)
	}
	return cc, nil
}

// syntaxRereadSize is the largest file whose syntax error is worded by
// yaml/v2.
const syntaxRereadSize = 4 << 20

// readConfig reads the configuration in b: YAML read once into a
// compact tree (internal/yamlx), decoded by the json tags (decodeConfig).
func readConfig(b []byte) (*Config, error) {
	doc, err := yamlx.Parse(b)
	if err != nil {
		if errors.As(err, new(*yamlx.ExpandError)) {
			return nil, &ConfigError{Reason: err.Error(), Err: err}
		}
		// yaml/v2 places syntax errors on the line they are on, where
		// v3 is often a line early: its words, as before v3 read files
		// (for files up to syntaxRereadSize, which v2 reads in a tree of
		// the whole file).
		if len(b) <= syntaxRereadSize {
			var v any
			if err2 := yamlv2.Unmarshal(b, &v); err2 != nil {
				err = err2
			}
		}
		return nil, withLine(b, &ConfigError{Reason: err.Error()})
	}
	var c Config
	if err := decodeConfig(doc, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Compiled is a Config checked and compiled into what Plan and Run act on
// (defaults filled in, addresses normalised, the values the kernel
// takes). Compile, Parse and Load make one; Plan, Run and its reloads use
// it as it is, compiling nothing again. It never changes, and may be
// shared.
type Compiled struct {
	cfg *Config
	m   *model
}

// Compile checks cfg, including every service and destination as the ipvs
// package would before sending it, and compiles it. Errors are
// *ConfigError, naming where in cfg they are. cfg must not be changed
// afterwards (as a tls.Config after its first use): to change the
// configuration, compile a new one.
func Compile(cfg *Config) (*Compiled, error) {
	m, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Compiled{cfg: cfg, m: m}, nil
}

// Config returns the configuration c was compiled from, which must not be
// changed (a file's identical check blocks share one Spec, for one).
func (c *Compiled) Config() *Config { return c.cfg }

type configPlain Config

// UnmarshalJSON reads a configuration as the json tags name its fields,
// refusing unknown fields and, in any mapping but sysctls, two keys that
// differ only in case: encoding/json matches a field's name regardless of
// case, so "Weight" and "weight" would set one field and the first would
// be silently dropped. The error is a *ConfigError naming the mapping.
func (c *Config) UnmarshalJSON(b []byte) error {
	if err := caseDuplicates(b); err != nil {
		return err
	}
	return decodeStrict(b, (*configPlain)(c))
}

// caseDuplicates finds, in the JSON document b, a mapping with two keys
// that differ only in case; sysctls' keys are names of the kernel's,
// where case counts (interface names), and are not compared.
func caseDuplicates(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return walkKeys(dec, "")
}

func walkKeys(dec *json.Decoder, where string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]string{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := tok.(string)
			fk := string(foldName(k))
			if prev, dup := seen[fk]; dup && prev != k && where != "sysctls" {
				return &ConfigError{Where: where, Reason: fmt.Sprintf("keys %q and %q differ only in case, and name one field: keep one", prev, k)}
			}
			seen[fk] = k
			sub := k
			if where != "" {
				sub = where + "." + k
			}
			if err := walkKeys(dec, sub); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// foldName folds a name as encoding/json does when it matches a key to a
// field: ASCII letters upper-cased, other runes to the smallest of their
// simple fold set.
func foldName(name string) []byte {
	out := make([]byte, 0, len(name))
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf:
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			out = append(out, byte(r))
		default:
			for {
				r2 := unicode.SimpleFold(r)
				if r2 <= r {
					r = r2
					break
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// ErrInvalid is matched by every configuration error.
var ErrInvalid = errors.New("director: invalid configuration")

// ConfigError is a configuration rejected before anything was changed.
type ConfigError struct {
	Where  string // e.g. "services[1].realServers[0].weight"
	Reason string
	// Line is the line of the file the error is about, as Parse and Load
	// found it (the YAML parser's, a field no Config has, or the line
	// Where names); 0 if unknown.
	Line int
	// Err is the error of another package the refusal comes from (an
	// *ipvs.ValidationError, a check's *check.FieldError...), for
	// errors.Is and As; nil if none.
	Err error
}

func (e *ConfigError) Error() string {
	s := "director: config: "
	if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ": "
	}
	if e.Where != "" {
		s += e.Where + ": "
	}
	if e.Reason == "" && e.Err != nil {
		return s + e.Err.Error()
	}
	return s + e.Reason
}

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalid || target == fs.ErrInvalid }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// ipvsFields are the YAML names, under a service or a real server, of the
// ipvs fields a *ipvs.ValidationError names.
var ipvsFields = map[string]string{
	"Service.Addr": "address", "Service.Protocol": "protocol", "Service.Family": "family",
	"Service.Scheduler": "scheduler", "Service.Flags": "flags", "Service.Timeout": "persistence.timeout",
	"Service.Netmask": "persistence.netmask", "Service.PersistenceEngine": "persistence.engine",
	"Destination.Addr": "address", "Destination.Forward": "forward", "Destination.Weight": "weight",
	"Destination.UpperThreshold": "upperThreshold", "Destination.LowerThreshold": "lowerThreshold",
	"Destination.TunnelType": "tunnel.type", "Destination.TunnelPort": "tunnel.port",
	"Destination.TunnelFlags": "tunnel.checksum",
	"SyncDaemon.Interface":    "interface", "SyncDaemon.SyncID": "syncID", "SyncDaemon.Group": "group",
	"SyncDaemon.Port": "port", "SyncDaemon.TTL": "ttl", "SyncDaemon.MaxLength": "maxLength",
}

// fieldError is err, another package's refusal of the value at where,
// as a *ConfigError that keeps it (errors.As finds it) and names the YAML
// field an *ipvs.ValidationError is about.
func fieldError(where string, err error) *ConfigError {
	ce := &ConfigError{Where: where, Err: err}
	var ve *ipvs.ValidationError
	if errors.As(err, &ve) {
		if f, ok := ipvsFields[ve.Field]; ok {
			if where != "" {
				f = "." + f
			}
			ce.Where += f
			ce.Reason = ve.Reason
		}
	}
	return ce
}

// Validate checks the whole configuration as Compile does, for a caller
// that only wants to know.
func (c *Config) Validate() error {
	_, err := compile(c)
	return err
}

// Validate checks vs alone, as Config.Validate checks a configuration of
// vs only, at a fraction of its cost: it returns the same error (Where
// naming vs as services[0]), nil if and only if that configuration is
// valid. An importer checks each service it makes with it.
func (vs VirtualService) Validate() error {
	_, err := compileService(vs, func() string {
		if vs.Name != "" {
			return "services[0] (" + vs.Name + ")"
		}
		return "services[0]"
	})
	return err
}

// NeededSysctls are the sysctls the configuration sets: those its services
// need (ip_forward, and IPv6 forwarding, when a real server is
// masqueraded; net.ipv4.vs.conntrack when a firewall mark or source NAT
// meets a masqueraded service) and Sysctls.
func (c *Compiled) NeededSysctls() map[sysctl.Key]string {
	out := map[sysctl.Key]string{}
	for _, s := range c.m.sysctls {
		out[s.Key] = s.Value
	}
	return out
}
