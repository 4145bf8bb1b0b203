package director

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/vrrp"
)

// Check is a keepalived-style health check of a service's real servers:
// a kind of check from package check, its Spec, and how the director runs
// it. In files a check is one block: its type names the kind, and the
// kind's fields sit next to the ones here,
//
//	check: {type: http, path: /healthz, interval: 2s, fall: 3}
//
// with Interval, Timeout, Jitter and RetryDelay written "5s" or as a
// number of seconds and OnFailure as "quiesce" or "remove". A field that
// the kind does not read is an error, never ignored.
type Check struct {
	// Spec is the kind of check and its own fields: a *check.TCP,
	// *check.HTTP, *check.HTTPS, *check.TLS, *check.UDP, *check.DNS,
	// *check.ICMP, *check.SMTP, *check.Command, *check.File, or a kind
	// a program registered with check.Register. In files its Type is the check's
	// type.
	Spec check.Spec
	// Port to check; the real server's port if zero (required for
	// firewall-mark services, whose real servers have none, except by
	// the kinds that need no port: command, icmp and file; icmp and file
	// read none).
	Port uint16

	// Interval between checks (5s), from MinCheckInterval to
	// MaxCheckInterval, and Timeout of one check (2s, at most
	// check.MaxTimeout).
	Interval time.Duration
	Timeout  time.Duration
	// Jitter delays each real server's first check by a random time up
	// to Jitter, so that the checks of many real servers do not all run
	// at once (none if zero); at most MaxCheckInterval.
	Jitter time.Duration
	// Rise successes in a row make a failed server healthy again (2);
	// Fall failures in a row make a healthy one failed (3).
	Rise int
	Fall int
	// RetryDelay is how soon a check that failed is tried again while the
	// real server is healthy and its failures in a row are fewer than
	// Fall, keepalived's delay_before_retry: a refusing real server then
	// fails Interval + (Fall-1)*RetryDelay after it began refusing at
	// worst, not Fall*Interval. Zero, the default, tries again at the
	// next Interval; at most MaxCheckInterval. A failed real server, and
	// one whose check passed, is checked every Interval.
	RetryDelay time.Duration
	// OnFailure is what a failed server gets: Quiesce (the default) or
	// Remove.
	OnFailure FailureAction
}

// checkFields are the fields of a check block that are the director's,
// as files spell them, in the order they are written; the others are the
// kind's.
var checkFields = []string{"type", "port", "interval", "timeout", "jitter", "rise", "fall", "retryDelay", "onFailure"}

// checkHead and checkTail are how files spell Check's own fields, written
// before and after the kind's.
type (
	checkHead struct {
		Type string `json:"type,omitempty"`
		Port uint16 `json:"port,omitempty"`
	}
	checkTail struct {
		Interval   jsonDuration  `json:"interval,omitempty"`
		Timeout    jsonDuration  `json:"timeout,omitempty"`
		Jitter     jsonDuration  `json:"jitter,omitempty"`
		Rise       int           `json:"rise,omitempty"`
		Fall       int           `json:"fall,omitempty"`
		RetryDelay jsonDuration  `json:"retryDelay,omitempty"`
		OnFailure  FailureAction `json:"onFailure,omitempty"`
	}
)

// MarshalJSON writes the check as one block: its type, port, the kind's
// fields, then the durations as "5s" and onFailure spelt out.
func (c Check) MarshalJSON() ([]byte, error) {
	var head checkHead
	var spec []byte
	if c.Spec != nil {
		head.Type = c.Spec.Type()
		var err error
		if spec, err = json.Marshal(c.Spec); err != nil {
			return nil, err
		}
		if len(spec) < 2 || spec[0] != '{' {
			return nil, fmt.Errorf("the %s check's fields are not a JSON object: %s", head.Type, spec)
		}
	}
	head.Port = c.Port
	h, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	t, err := json.Marshal(checkTail{jsonDuration(c.Interval), jsonDuration(c.Timeout), jsonDuration(c.Jitter), c.Rise, c.Fall, jsonDuration(c.RetryDelay), c.OnFailure})
	if err != nil {
		return nil, err
	}
	out := []byte{'{'}
	for _, obj := range [][]byte{h, spec, t} {
		if len(obj) < 2 {
			continue
		}
		if fields := bytes.TrimSpace(obj[1 : len(obj)-1]); len(fields) > 0 {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, fields...)
		}
	}
	return append(out, '}'), nil
}

// UnmarshalJSON reads a check block: the director's fields here, the
// kind's by check.Decode, so that a field neither reads is an error (a
// *check.FieldError naming it), as unknown fields are in the rest of a
// Config.
func (c *Check) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("a check is a mapping of fields, not %s", b)
	}
	var out Check
	typ := ""
	for _, name := range checkFields {
		var key string
		for k := range fields {
			if strings.EqualFold(k, name) && (key == "" || k < key) {
				key = k
			}
		}
		if key == "" {
			continue
		}
		var v any
		switch name {
		case "type":
			v = &typ
		case "port":
			v = &out.Port
		case "interval":
			v = (*jsonDuration)(&out.Interval)
		case "timeout":
			v = (*jsonDuration)(&out.Timeout)
		case "jitter":
			v = (*jsonDuration)(&out.Jitter)
		case "rise":
			v = &out.Rise
		case "fall":
			v = &out.Fall
		case "retryDelay":
			v = (*jsonDuration)(&out.RetryDelay)
		case "onFailure":
			v = &out.OnFailure
		}
		if err := json.Unmarshal(fields[key], v); err != nil {
			return &check.FieldError{Type: typ, Field: key, Err: err}
		}
	}
	spec, err := check.Decode(typ, b)
	if err != nil {
		return err
	}
	out.Spec = spec
	*c = out
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
		return nil, fmt.Errorf("onFailure %v is not quiesce or remove", a)
	}
	return []byte(failureActions[a]), nil
}

// UnmarshalText reads "quiesce" or "remove".
func (a *FailureAction) UnmarshalText(b []byte) error {
	if i := slices.Index(failureActions[:], string(b)); i >= 0 {
		*a = FailureAction(i)
		return nil
	}
	return fmt.Errorf("%q is not quiesce or remove", b)
}

// probeEnv is what checks need from the director: connections, packet
// sockets and processes in its namespace. The Director is one; checkEnv
// makes it package check's Env.
type probeEnv interface {
	dial(ctx context.Context, network, addr string) (net.Conn, error)
	// listenPacket opens a packet socket, raw ones ("ip4:icmp") too.
	listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error)
	start(cmd *exec.Cmd) error // starts cmd inside the director's namespace
}

// checkEnv is a probeEnv as package check's Env.
type checkEnv struct{ env probeEnv }

func (e checkEnv) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return e.env.dial(ctx, network, addr)
}

func (e checkEnv) ListenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return e.env.listenPacket(ctx, network, addr)
}

func (e checkEnv) Start(cmd *exec.Cmd) error { return e.env.start(cmd) }

// commandWaitDelay bounds how long a killed notify command's output pipes
// may keep Wait waiting after the kill (package check bounds its command
// checks alike).
const commandWaitDelay = time.Second

// MinCheckInterval and MaxCheckInterval bound a check's Interval.
// Checking more often than every 100 ms finds a failed real server no
// sooner in practice (a client's own TCP retransmission takes a second),
// while the load grows with the rate: at the floor, 1,000 real servers
// already take 10,000 checks a second, the most the runner's 32 checks at
// once sustain with checks of a few milliseconds; a 1 ns interval would
// be a busy loop. An interval of more than a day checks nothing useful.
const (
	MinCheckInterval = 100 * time.Millisecond
	MaxCheckInterval = 24 * time.Hour
)

// compiledCheck is a check with its defaults filled in, and its checker.
type compiledCheck struct {
	check   Check
	checker check.Checker
	// name is how a real server's errors name the check when it has
	// several: "checks[1] (http)"; empty for a service's Check.
	name string
}

// compileCheck fills in c's defaults and validates it: the director's
// fields here, the kind's own by its Compile. firewallMark says c checks
// the real servers of a firewall-mark service, which have no port.
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
	case c.Interval < 0 || c.Timeout < 0 || c.Jitter < 0 || c.Rise < 0 || c.Fall < 0 || c.RetryDelay < 0:
		return nil, errors.New("negative interval, timeout, jitter, rise, fall or retryDelay")
	case c.Interval < MinCheckInterval || c.Interval > MaxCheckInterval:
		return nil, fmt.Errorf("interval %v is not from %v to %v", c.Interval, MinCheckInterval, MaxCheckInterval)
	case c.Jitter > MaxCheckInterval:
		return nil, fmt.Errorf("jitter %v is longer than %v", c.Jitter, MaxCheckInterval)
	case c.RetryDelay > MaxCheckInterval:
		return nil, fmt.Errorf("retryDelay %v is longer than %v", c.RetryDelay, MaxCheckInterval)
	case c.Timeout > check.MaxTimeout:
		return nil, fmt.Errorf("timeout %v is longer than %v, the longest a check may run", c.Timeout, check.MaxTimeout)
	case int(c.OnFailure) >= len(failureActions):
		return nil, fmt.Errorf("onFailure %v is not quiesce or remove", c.OnFailure)
	case c.Spec == nil:
		return nil, &check.UnknownTypeError{Known: check.Types()}
	}
	typ := c.Spec.Type()
	kind, ok := check.Lookup(typ)
	if !ok {
		return nil, &check.UnknownTypeError{Type: typ, Known: check.Types()}
	}
	if kind.Port == check.PortUnused && c.Port != 0 {
		var readBy []string
		for _, t := range check.Types() {
			if k, _ := check.Lookup(t); k.Port != check.PortUnused {
				readBy = append(readBy, t)
			}
		}
		return nil, &check.FieldError{Type: typ, Field: "port", ReadBy: readBy}
	}
	chk, err := c.Spec.Compile()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	if kind.Port == check.PortNeeded && firewallMark && c.Port == 0 {
		return nil, errors.New("a check of a firewall-mark service needs a port")
	}
	return &compiledCheck{check: c, checker: chk}, nil
}

// checkConfigError is err, compileCheck's, as the configuration error of
// the check of the service at where: at the field it names, if it is a
// *check.FieldError.
func checkConfigError(where string, err error) *ConfigError {
	return checkErrorAt(where+".check", err)
}

// checkErrorAt is err, compileCheck's, as the configuration error of the
// check at where: at the field it names, if it is a *check.FieldError.
func checkErrorAt(where string, err error) *ConfigError {
	reason := err.Error()
	if fe := (*check.FieldError)(nil); errors.As(err, &fe) {
		where += "." + fe.Field
		reason = strings.TrimPrefix(reason, fe.Field+": ") // Where names it
	}
	return &ConfigError{Where: where, Reason: reason, Err: err}
}

// checkList is the checks of one real server, compiled: it is healthy
// while every one passes, as keepalived's checkers of one real server
// (a real server is up while none of its checkers has failed).
type checkList []*compiledCheck

// compileChecks compiles the checks of a list at where (the service's or a
// real server's, ".checks" appended) for the real servers of a service
// (firewallMark: of a firewall-mark service). All the checks of one real
// server must agree on OnFailure: the real server is quiesced or removed
// when the first of them fails. Each is named for the errors of a failed
// real server: "checks[1] (http)".
func compileChecks(cs []Check, where string, firewallMark bool) (checkList, error) {
	var out checkList
	for i, c := range cs {
		at := fmt.Sprintf("%s.checks[%d]", where, i)
		cc, err := compileCheck(c, firewallMark)
		if err != nil {
			return nil, checkErrorAt(at, err)
		}
		if i > 0 && cc.check.OnFailure != out[0].check.OnFailure {
			return nil, &ConfigError{Where: at + ".onFailure", Reason: fmt.Sprintf("%v, where checks[0] has %v: the checks of one real server fail it one way", cc.check.OnFailure, out[0].check.OnFailure)}
		}
		cc.name = fmt.Sprintf("checks[%d] (%s)", i, cc.check.Spec.Type())
		out = append(out, cc)
	}
	return out, nil
}

// onFailure is what a real server of the list gets when it fails: its
// checks agree on it.
func (l checkList) onFailure() FailureAction {
	if len(l) == 0 {
		return Quiesce
	}
	return l[0].check.OnFailure
}

// named is err, the failure of the check cc of a real server with n checks,
// naming the check when there are several (its chain kept).
func named(cc *compiledCheck, n int, err error) error {
	if err == nil || n < 2 || cc == nil || cc.name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", cc.name, err)
}

// run checks the real server rs once from env, at the check's port if it
// has one, within the check's timeout.
func (cc *compiledCheck) run(ctx context.Context, env probeEnv, rs netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(ctx, cc.check.Timeout)
	defer cancel()
	if cc.check.Port != 0 {
		rs = netip.AddrPortFrom(rs.Addr(), cc.check.Port)
	}
	return cc.checker.Check(ctx, checkEnv{env}, rs)
}

// tally applies one check result to a server's run of results and reports
// whether its health flipped: Fall failures in a row fail a healthy server,
// Rise successes in a row restore a failed one.
type tally struct {
	failed bool
	// run is the consecutive results against the current state (8 bytes
	// with failed: one per real server and check); it stops at the
	// largest int32, past any Rise or Fall a check could wait for.
	run int32
}

func (t *tally) add(ok bool, chk Check) (flipped bool) {
	if ok != t.failed { // agrees with the current state
		t.run = 0
		return false
	}
	if t.run < math.MaxInt32 {
		t.run++
	}
	need := chk.Fall
	if t.failed {
		need = chk.Rise
	}
	if int(t.run) >= need {
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

// Report is what Run tells its caller: a health change, a change of a
// service's quorum, an applied plan, a drained server collected, prefixes
// announced or withdrawn, a VRRP state change, or an error (Run goes on
// after errors).
type Report struct {
	Time      time.Time
	Health    *Event
	Plan      *Plan
	Collected int
	Err       error
	// Quorum is a service going below its quorum, or back up.
	Quorum *QuorumEvent
	// Announced and Withdrawn are the prefixes Options.Announcer has just
	// announced and withdrawn.
	Announced, Withdrawn []netip.Prefix
	// VRRP is a VRRP instance's or sync group's state change, or an
	// error of an instance (Err is then set too).
	VRRP *VRRPEvent
	// Resync marks a plan from the periodic full read of the kernel
	// (Options.Resync): its operations repair changes made by someone
	// else since the last read (drift).
	Resync bool
}

// VRRPEvent is a VRRP instance changing state (Instance set), a sync
// group doing so once all its instances have (Instance empty, Group set),
// or an error of an instance (Err set: its socket could not be opened,
// its receiving failed, or adding, removing or announcing a VIP or sending
// an advert failed; the instance goes on, or Run opens it again).
type VRRPEvent struct {
	Instance string
	// Group is the instance's sync group, if any.
	Group    string
	From, To vrrp.State
	// Priority is the instance's effective priority at the change.
	Priority uint8
	Err      error
}

func (e VRRPEvent) String() string {
	name := "vrrp instance " + e.Instance
	if e.Instance == "" {
		name = "vrrp sync group " + e.Group
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", name, e.Err)
	}
	return fmt.Sprintf("%s: %v -> %v (priority %d)", name, e.From, e.To, e.Priority)
}
