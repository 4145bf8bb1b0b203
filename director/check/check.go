// Package check probes the health of servers: one typed kind of check per
// protocol behind one interface, and a registry through which a program
// adds kinds of its own. The director (package director) runs these
// checks against its real servers; any program can run them itself.
//
// A Spec is one kind's fields (TCP, HTTP, HTTPS, TLS, UDP, DNS, ICMP,
// SMTP, Command, File, or a program's own); its Compile validates them, reads
// the files they name, and returns a Checker, whose Check probes a target
// once from an Env: the network namespace the probe runs in. Local is the
// calling process's own.
//
//	chk, err := check.HTTP{Path: "/healthz", Status: []int{200, 204}}.Compile()
//	...
//	err = chk.Check(ctx, check.Local{}, netip.MustParseAddrPort("10.0.0.110:80"))
//
// # Configurations
//
// A director's configuration writes a check as one flat block: type names
// the kind; port, interval, timeout, jitter, rise, fall, retryDelay and
// onFailure are the director's (where and when the check runs, and what a
// failure does); the other fields are the kind's, decoded by Decode into
// its Spec strictly. A field the kind does not read, or a value it cannot take, is
// a *FieldError naming the field as the file spells it:
//
//	check: {type: http, path: /healthz, status: [200, 204], interval: 2s}
//
// # Bounds
//
// Every built-in kind bounds what it reads from the target, in bytes (each
// kind's documentation says how much; past that the check fails, with an
// error matching ErrTooLong where the kind judges what it read) and in
// time: a check returns by its context's deadline, and within MaxTimeout
// whatever the context.
//
// # Adding a kind
//
// A program adds a kind with Register, before it reads configurations:
// a Spec type whose fields carry the names files give them as json tags
// (decoded strictly as JSON, YAML being converted first), a Checker its
// Compile returns, and a Kind saying what it does with the target's port.
// From then on a configuration names it by its type like any built-in
// kind (see the example).
//
// A built-in kind is one file, <type>.go, holding its Spec type (each
// field documented, with its json tag; its bounds in the type's
// documentation) and its Checker, plus one line in the table of built-in
// kinds, builtins in registry.go. Its tests go in check_test.go (compiling
// and refusing) and checks_linux_test.go (against a real server in a
// network namespace, with the helpers of ns_linux_test.go).
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"time"
)

// Checker checks one target.
type Checker interface {
	// Check probes target once, from env: nil means healthy, an error
	// says why not. It returns by ctx's deadline, or when ctx is
	// cancelled, and bounds what it reads from target. Kinds that read
	// no port (icmp) ignore target's; the director gives the real
	// server's, or the check's own port when the configuration sets one.
	Check(ctx context.Context, env Env, target netip.AddrPort) error
}

// Spec is one kind of check with its fields set: a configuration's check
// block, or a Go value (&check.HTTP{Path: "/healthz"}).
type Spec interface {
	// Type is the name the kind is registered under, which
	// configurations write as the check's type: "http".
	Type() string
	// Compile validates the fields, fills in their defaults, reads the
	// files they name (so that a missing one is a configuration error,
	// not a failing server) and returns the Checker. Its errors name the
	// fields as configuration files do.
	Compile() (Checker, error)
}

// Env is where a check's probes run: the network namespace whose
// connections, sockets and processes they use. The director's Env is its
// network namespace; Local is the calling process's. An Env may also be
// a Connector, which the tcp check then uses in place of Dial.
type Env interface {
	// Dial connects to address on the named network, as
	// net.Dialer.DialContext does. A check's connection lives no longer
	// than the check: TCP keep-alive is of no use to it.
	Dial(ctx context.Context, network, address string) (net.Conn, error)
	// ListenPacket opens a packet socket, raw ones ("ip4:icmp") too, as
	// net.ListenConfig.ListenPacket does.
	ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error)
	// Start starts cmd, as cmd.Start does, inside the Env's namespace.
	Start(cmd *exec.Cmd) error
}

// Local is the Env of the calling process's own network namespace, on
// any system: a net.Dialer without keep-alive, ConnectTCP, a zero
// net.ListenConfig and cmd.Start.
type Local struct{}

// Dial connects with a net.Dialer that sets no TCP keep-alive (KeepAlive
// -1), saving a check four system calls.
func (Local) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return d.DialContext(ctx, network, address)
}

// Connect is ConnectTCP in the calling process's namespace.
func (Local) Connect(ctx context.Context, target netip.AddrPort) error {
	return ConnectTCP(ctx, target, nil)
}

// ListenPacket opens a packet socket with a zero net.ListenConfig.
func (Local) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	var lc net.ListenConfig
	return lc.ListenPacket(ctx, network, address)
}

// Start starts cmd.
func (Local) Start(cmd *exec.Cmd) error { return cmd.Start() }

// MaxTimeout is the longest a built-in check runs, whatever its context
// says; the director refuses a check timeout above it.
const MaxTimeout = 5 * time.Minute

// ErrTooLong is matched (errors.Is) by the error of a check that stopped
// reading at its bound: an answer longer than its kind reads.
var ErrTooLong = errors.New("check: answer longer than the check reads")

// tooLong is an answer, what, that went past its bound of limit bytes.
type tooLong struct {
	what  string
	limit int64
}

func (e *tooLong) Error() string {
	return fmt.Sprintf("%s: more than %d bytes, the most the check reads", e.what, e.limit)
}

// Is matches ErrTooLong.
func (e *tooLong) Is(target error) bool { return target == ErrTooLong }

// bound is ctx ending within MaxTimeout: ctx itself when its deadline
// is already that close (as the director's checks' are), saving a
// context and its timer each check.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= MaxTimeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, MaxTimeout)
}

// follow makes c's reads and writes end with ctx: at its deadline, and at
// once when it is cancelled. The returned func stops following.
func follow(ctx context.Context, c interface{ SetDeadline(time.Time) error }) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// limitReader reads n bytes from r, and then its end or else a *tooLong
// saying what the bytes were: unlike io.LimitReader it does not pretend
// that a longer stream ended.
func limitReader(r io.Reader, n int64, what string) io.Reader {
	return &limitedReader{r: r, n: n, limit: n, what: what}
}

type limitedReader struct {
	r        io.Reader
	n, limit int64
	what     string
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more says whether the stream goes on.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, &tooLong{l.what, l.limit}
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
