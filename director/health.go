package director

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Check is a keepalived-style health check of a service's real servers.
// In files, Interval and Timeout are written "5s" or as a number of
// seconds, and OnFailure as "quiesce" or "remove".
type Check struct {
	// Type is the kind of check, each reading the fields marked with it:
	// "tcp" (connect), "http" or "https" (GET, expected status), "udp"
	// (a datagram, then a reply) or "command" (exit status 0 means
	// healthy).
	Type string `json:"type"`
	// Port to check; the real server's port if zero (required for
	// firewall-mark services, whose real servers have none, except by
	// command checks).
	Port uint16 `json:"port,omitempty"`
	// Path and Status (http, https): GET Path ("/" if empty) must answer
	// Status (200 if zero). Host sets the Host header. Certificates are
	// not verified.
	Path   string `json:"path,omitempty"`
	Status int    `json:"status,omitempty"`
	Host   string `json:"host,omitempty"`
	// Command (command) is run with LVS_RS_ADDR and LVS_RS_PORT in its
	// environment, inside the director's network namespace.
	Command []string `json:"command,omitempty"`
	// Send (udp) is the datagram sent to the port (empty if unset); the
	// first reply must come within Timeout and contain Expect, if set. An
	// ICMP port unreachable fails the check at once.
	Send   string `json:"send,omitempty"`
	Expect string `json:"expect,omitempty"`
	// Interval between checks (5s) and Timeout of one check (2s).
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// Rise successes in a row make a failed server healthy again (2);
	// Fall failures in a row make a healthy one failed (3).
	Rise int `json:"rise,omitempty"`
	Fall int `json:"fall,omitempty"`
	// OnFailure is what a failed server gets: Quiesce (the default) or
	// Remove.
	OnFailure FailureAction `json:"onFailure,omitempty"`
}

// checkPlain is Check without its JSON methods; checkFile is how files
// spell it, with durations as "5s" or seconds.
type (
	checkPlain Check
	checkFile  struct {
		*checkPlain
		Interval jsonDuration `json:"interval,omitempty"`
		Timeout  jsonDuration `json:"timeout,omitempty"`
	}
)

// MarshalJSON writes the check with its durations as "5s".
func (c Check) MarshalJSON() ([]byte, error) {
	p := checkPlain(c)
	return json.Marshal(checkFile{&p, jsonDuration(c.Interval), jsonDuration(c.Timeout)})
}

// UnmarshalJSON reads a check with its durations as "5s" or seconds;
// unknown fields are errors, as they are in the rest of a Config.
func (c *Check) UnmarshalJSON(b []byte) error {
	f := checkFile{(*checkPlain)(c), jsonDuration(c.Interval), jsonDuration(c.Timeout)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	c.Interval, c.Timeout = time.Duration(f.Interval), time.Duration(f.Timeout)
	return nil
}

// FailureAction is what happens to a real server whose check fails.
type FailureAction uint8

const (
	// Quiesce sets its weight to 0: open connections go on, no new ones
	// come. The zero value.
	Quiesce FailureAction = iota
	// Remove takes it out of the service.
	Remove
)

var failureActions = [...]string{Quiesce: "quiesce", Remove: "remove"}

func (a FailureAction) String() string {
	if int(a) < len(failureActions) {
		return failureActions[a]
	}
	return fmt.Sprintf("unknown(%d)", uint8(a))
}

// MarshalText writes "quiesce" or "remove".
func (a FailureAction) MarshalText() ([]byte, error) {
	if int(a) >= len(failureActions) {
		return nil, fmt.Errorf("check: onFailure %v is not quiesce or remove", a)
	}
	return []byte(failureActions[a]), nil
}

// UnmarshalText reads "quiesce" or "remove".
func (a *FailureAction) UnmarshalText(b []byte) error {
	if i := slices.Index(failureActions[:], string(b)); i >= 0 {
		*a = FailureAction(i)
		return nil
	}
	return fmt.Errorf("check: onFailure %q is not quiesce or remove", b)
}

// prober checks one real server.
type prober interface {
	probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error
}

// portless is implemented by probers that connect to nothing themselves,
// which then need no port on firewall-mark services.
type portless interface{ portless() }

// probeEnv is what probes need from the director: connections and
// processes in its namespace.
type probeEnv interface {
	dial(ctx context.Context, network, addr string) (net.Conn, error)
	start(cmd *exec.Cmd) error // starts cmd inside the director's namespace
}

// checkKinds maps a Check.Type to the constructor of its prober, which
// validates the kind's own fields (and may fill in their defaults). A kind
// is a file health_<kind>.go and a line here.
var checkKinds = map[string]func(*Check) (prober, error){
	"tcp":     newTCPProber,
	"http":    newHTTPProber,
	"https":   newHTTPSProber,
	"command": newCommandProber,
	"udp":     newUDPProber,
}

// compiledCheck is a check with its defaults filled in, and its prober.
type compiledCheck struct {
	check  Check
	prober prober
}

// compileCheck fills in c's defaults and validates it, common fields here
// and the kind's own in its constructor. firewallMark says c checks the
// real servers of a firewall-mark service, which have no port.
func compileCheck(c Check, firewallMark bool) (*compiledCheck, error) {
	if c.Interval == 0 {
		c.Interval = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Rise == 0 {
		c.Rise = 2
	}
	if c.Fall == 0 {
		c.Fall = 3
	}
	switch {
	case c.Interval < 0 || c.Timeout < 0 || c.Rise < 0 || c.Fall < 0:
		return nil, errors.New("check: negative interval, timeout, rise or fall")
	case int(c.OnFailure) >= len(failureActions):
		return nil, fmt.Errorf("check: onFailure %v is not quiesce or remove", c.OnFailure)
	}
	newProber, ok := checkKinds[c.Type]
	if !ok {
		known := slices.Sorted(maps.Keys(checkKinds))
		return nil, fmt.Errorf("check: unknown type %q (known: %s)", c.Type, strings.Join(known, ", "))
	}
	p, err := newProber(&c)
	if err != nil {
		return nil, fmt.Errorf("check: %s: %w", c.Type, err)
	}
	if _, ok := p.(portless); !ok && firewallMark && c.Port == 0 {
		return nil, errors.New("a check of a firewall-mark service needs a port")
	}
	return &compiledCheck{c, p}, nil
}

// run probes the real server rs once from env, at the check's port if it
// has one, within the check's timeout.
func (cc *compiledCheck) run(ctx context.Context, env probeEnv, rs netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, cc.check.Timeout)
	defer cancel()
	if cc.check.Port != 0 {
		rs = netip.AddrPortFrom(rs.Addr(), cc.check.Port)
	}
	return cc.prober.probe(ctx, env, rs)
}

// tally applies one check result to a server's run of results and reports
// whether its health flipped: Fall failures in a row fail a healthy server,
// Rise successes in a row restore a failed one.
type tally struct {
	failed bool
	run    int // consecutive results against the current state
}

func (t *tally) add(ok bool, chk Check) (flipped bool) {
	if ok != t.failed { // agrees with the current state
		t.run = 0
		return false
	}
	t.run++
	need := chk.Fall
	if t.failed {
		need = chk.Rise
	}
	if t.run >= need {
		t.failed, t.run = !t.failed, 0
		return true
	}
	return false
}

// Event is a real server's health changing.
type Event struct {
	Service    string // the service's key, as ipvsadm prints it
	RealServer netip.AddrPort
	Healthy    bool
	Err        error // the last check's error when it failed
}

func (e Event) String() string {
	if e.Healthy {
		return fmt.Sprintf("%s: %v is healthy", e.Service, e.RealServer)
	}
	return fmt.Sprintf("%s: %v failed: %v", e.Service, e.RealServer, e.Err)
}

// Report is what Run tells its caller: a health change, an applied plan,
// a drained server collected, or an error (Run goes on after errors).
type Report struct {
	Time      time.Time
	Health    *Event
	Plan      *Plan
	Collected int
	Err       error
	// Resync marks a plan from the periodic full read of the kernel
	// (Options.Resync): its operations repair changes made by someone
	// else since the last read (drift).
	Resync bool
}
