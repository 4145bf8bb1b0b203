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
	"reflect"
	"slices"
	"strings"
	"time"
)

// Check is a keepalived-style health check of a service's real servers.
// In files, Interval, Timeout and Jitter are written "5s" or as a number
// of seconds, Status as a number or a list, and OnFailure as "quiesce" or
// "remove". A field that the check's Type does not read is an error when
// set, never ignored.
type Check struct {
	// Type is the kind of check, each reading the fields marked with it:
	// "tcp" (connect), "http" or "https" (a GET, judged by status, body
	// and digest), "tls" (a handshake), "udp" (a datagram, then a reply),
	// "dns" (a query, judged by rcode and answer), "icmp" (an echo
	// request), "smtp" (the banner, HELO) or "command" (exit status 0
	// means healthy).
	Type string `json:"type"`
	// Port to check; the real server's port if zero (required for
	// firewall-mark services, whose real servers have none, except by
	// command and icmp checks).
	Port uint16 `json:"port,omitempty"`

	// Path (http, https): GET Path ("/" if empty). Host sets the Host
	// header (and is the name TLS verifies, unless ServerName is set);
	// Headers are added to the request (names and values without control
	// characters; not Host, which Host sets, nor Content-Length,
	// Transfer-Encoding or Trailer).
	Path    string            `json:"path,omitempty"`
	Host    string            `json:"host,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Status (http, https): the answer's status must be one of these (200
	// if empty). In files a number or a list: 200, [200, 301].
	Status []int `json:"status,omitempty"`
	// BodyRegexp (http, https): the body (its first 64 KiB) must match
	// this regular expression (Go's RE2 syntax).
	BodyRegexp string `json:"bodyRegexp,omitempty"`
	// Digest (http, https): the whole body's MD5 digest, 32 hex digits in
	// either case, must be this (keepalived's HTTP_GET digest, as its
	// genhash prints it).
	Digest string `json:"digest,omitempty"`

	// TLS (https, tls): the real server's certificate is verified against
	// CAFile (PEM; the system's roots if empty) for ServerName (Host if
	// empty, else the real server's address). Insecure skips the
	// verification, and must be set to mean it (it excludes CAFile).
	// CertFile and KeyFile (PEM, both or neither) are a client
	// certificate to present. The files are read when the configuration
	// is, so that a bad one is a configuration error.
	CAFile     string `json:"caFile,omitempty"`
	ServerName string `json:"serverName,omitempty"`
	Insecure   bool   `json:"insecure,omitempty"`
	CertFile   string `json:"certFile,omitempty"`
	KeyFile    string `json:"keyFile,omitempty"`

	// DNS (dns): Query, a name, is asked for a record of QueryType ("A"
	// if empty) over UDP; the answer's rcode must be Rcode ("NOERROR" if
	// empty) and, if Answer is set, one of its records must hold Answer
	// (an address for A and AAAA, a name for CNAME, NS, PTR and MX, the
	// text for TXT).
	Query     string `json:"query,omitempty"`
	QueryType string `json:"queryType,omitempty"`
	Rcode     string `json:"rcode,omitempty"`
	Answer    string `json:"answer,omitempty"`

	// Helo (smtp): after the 220 banner, HELO Helo must be answered 250;
	// without it only the banner is judged. The check ends with QUIT.
	Helo string `json:"helo,omitempty"`

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
	// Jitter delays each real server's first check by a random time up
	// to Jitter, so that the checks of many real servers do not all run
	// at once (none if zero).
	Jitter time.Duration `json:"jitter,omitempty"`
	// Rise successes in a row make a failed server healthy again (2);
	// Fall failures in a row make a healthy one failed (3).
	Rise int `json:"rise,omitempty"`
	Fall int `json:"fall,omitempty"`
	// OnFailure is what a failed server gets: Quiesce (the default) or
	// Remove.
	OnFailure FailureAction `json:"onFailure,omitempty"`
}

// checkPlain is Check without its JSON methods; checkFile is how files
// spell it, with durations as "5s" or seconds and Status as a number or
// a list.
type (
	checkPlain Check
	checkFile  struct {
		*checkPlain
		Status   statusList   `json:"status,omitempty"`
		Interval jsonDuration `json:"interval,omitempty"`
		Timeout  jsonDuration `json:"timeout,omitempty"`
		Jitter   jsonDuration `json:"jitter,omitempty"`
	}
)

// MarshalJSON writes the check with its durations as "5s" and Status as
// a list.
func (c Check) MarshalJSON() ([]byte, error) {
	p := checkPlain(c)
	return json.Marshal(checkFile{&p, c.Status, jsonDuration(c.Interval), jsonDuration(c.Timeout), jsonDuration(c.Jitter)})
}

// UnmarshalJSON reads a check with its durations as "5s" or seconds and
// Status as a number or a list; unknown fields are errors, as they are
// in the rest of a Config.
func (c *Check) UnmarshalJSON(b []byte) error {
	f := checkFile{(*checkPlain)(c), c.Status, jsonDuration(c.Interval), jsonDuration(c.Timeout), jsonDuration(c.Jitter)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	c.Status = f.Status
	c.Interval, c.Timeout, c.Jitter = time.Duration(f.Interval), time.Duration(f.Timeout), time.Duration(f.Jitter)
	return nil
}

// statusList is Check.Status as files write it: 200 or [200, 301]. It is
// written back as a list.
type statusList []int

// UnmarshalJSON reads a number or a list of numbers.
func (l *statusList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*l = statusList{n}
		return nil
	}
	var ns []int
	if err := json.Unmarshal(b, &ns); err != nil {
		return fmt.Errorf("status: want a number or a list of numbers, got %s", b)
	}
	*l = ns
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

// probeEnv is what probes need from the director: connections, packet
// sockets and processes in its namespace.
type probeEnv interface {
	dial(ctx context.Context, network, addr string) (net.Conn, error)
	// listenPacket opens a packet socket, raw ones ("ip4:icmp") too.
	listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error)
	start(cmd *exec.Cmd) error // starts cmd inside the director's namespace
}

// checkKind is a Check.Type: the constructor of its prober, which
// validates the kind's own fields (and may fill in their defaults), and
// the fields it reads besides the common ones, named as files name them.
// compileCheck refuses the others when set, so that none is silently
// ignored.
type checkKind struct {
	new    func(*Check) (prober, error)
	fields string // space-separated
}

// commonCheckFields are the fields every kind reads.
const commonCheckFields = "type interval timeout jitter rise fall onFailure"

// checkKinds maps a Check.Type to its kind. A kind is a file
// health_<kind>.go and a line here.
var checkKinds = map[string]checkKind{
	"tcp":     {newTCPProber, "port"},
	"http":    {newHTTPProber, "port path host headers status bodyRegexp digest"},
	"https":   {newHTTPSProber, "port path host headers status bodyRegexp digest caFile serverName insecure certFile keyFile"},
	"tls":     {newTLSProber, "port caFile serverName insecure certFile keyFile"},
	"udp":     {newUDPProber, "port send expect"},
	"dns":     {newDNSProber, "port query queryType rcode answer"},
	"icmp":    {newICMPProber, ""},
	"smtp":    {newSMTPProber, "port helo"},
	"command": {newCommandProber, "port command"},
}

// checkFieldName is the name files give to Check's field f.
func checkFieldName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// unreadFields refuses the fields set in c that its kind k does not read,
// naming the kinds that do.
func unreadFields(c *Check, k checkKind) error {
	reads := strings.Fields(commonCheckFields + " " + k.fields)
	v := reflect.ValueOf(c).Elem()
	var bad []string
	for _, f := range reflect.VisibleFields(v.Type()) {
		name := checkFieldName(f)
		if v.FieldByIndex(f.Index).IsZero() || slices.Contains(reads, name) {
			continue
		}
		var by []string
		for kind, o := range checkKinds {
			if slices.Contains(strings.Fields(o.fields), name) {
				by = append(by, kind)
			}
		}
		slices.Sort(by)
		bad = append(bad, fmt.Sprintf("%s (read by %s)", name, strings.Join(by, ", ")))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s checks do not read %s", c.Type, strings.Join(bad, "; "))
	}
	return nil
}

// compiledCheck is a check with its defaults filled in, and its prober.
type compiledCheck struct {
	check  Check
	prober prober
}

// compileCheck fills in c's defaults and validates it: the common fields
// here, and so the refusal of fields its kind does not read, the kind's
// own in its constructor. firewallMark says c checks the
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
	case c.Interval < 0 || c.Timeout < 0 || c.Jitter < 0 || c.Rise < 0 || c.Fall < 0:
		return nil, errors.New("check: negative interval, timeout, jitter, rise or fall")
	case int(c.OnFailure) >= len(failureActions):
		return nil, fmt.Errorf("check: onFailure %v is not quiesce or remove", c.OnFailure)
	}
	kind, ok := checkKinds[c.Type]
	if !ok {
		known := slices.Sorted(maps.Keys(checkKinds))
		return nil, fmt.Errorf("check: unknown type %q (known: %s)", c.Type, strings.Join(known, ", "))
	}
	if err := unreadFields(&c, kind); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	p, err := kind.new(&c)
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

// Report is what Run tells its caller: a health change, a change of a
// service's quorum, an applied plan, a drained server collected, or an
// error (Run goes on after errors).
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
	// Resync marks a plan from the periodic full read of the kernel
	// (Options.Resync): its operations repair changes made by someone
	// else since the last read (drift).
	Resync bool
}
