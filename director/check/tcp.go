package check

import (
	"context"
	"net"
	"net/netip"
	"os"
)

// TCP is the "tcp" check: healthy when a connection to the target
// opens. It reads nothing from the target, and takes at most the check's
// timeout. The connection ends with a reset, not a close: see
// closeReset. From an Env that is a Connector it takes the Env's
// Connect, otherwise its Dial.
type TCP struct{}

// Type is "tcp".
func (TCP) Type() string { return "tcp" }

// Compile returns the tcp checker.
func (TCP) Compile() (Checker, error) { return tcpChecker{}, nil }

type tcpChecker struct{}

func (tcpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	if c, ok := env.(Connector); ok {
		return c.Connect(ctx, target)
	}
	c, err := env.Dial(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	return closeReset(c)
}

// Connector is an Env that opens TCP connections only to end them, with
// fewer system calls than Dial and the net.Conn it returns: the tcp
// check takes an Env's Connect when it has one. An Env implements it
// with ConnectTCP.
type Connector interface {
	// Connect opens a TCP connection to target from the Env's namespace
	// and ends it at once with a reset (SO_LINGER 0), leaving no
	// socket in TIME_WAIT. It returns nil if the connection opened,
	// and otherwise an error like Dial's: a *net.OpError ("dial tcp
	// 10.0.0.110:80: connect: connection refused") matching the
	// system's error (errors.Is(err, syscall.ECONNREFUSED)), or, when
	// ctx ends first, one that matches ctx's error and, for its
	// deadline, is a timeout (net.Error's Timeout).
	Connect(ctx context.Context, target netip.AddrPort) error
}

// ConnectTCP is Connector's Connect for an Env to implement it with: it
// opens a TCP connection to target and resets it once open. in runs
// the one step that is bound to a network namespace, its argument,
// which creates the socket (a socket belongs to the namespace it was
// created in, whichever thread uses it then): an Env in another
// namespace passes a func that runs it there; nil runs it in the
// caller's. On Linux a check is the system calls socket, setsockopt
// (SO_LINGER), connect, ppoll and close, waiting in Go's poller (fcntl,
// epoll_ctl and getsockopt more) only for a connection that did not
// open within connect; elsewhere, and for an address with a zone, it
// dials with net.Dialer, inside in.
func ConnectTCP(ctx context.Context, target netip.AddrPort, in func(create func() error) error) error {
	if in == nil {
		in = func(create func() error) error { return create() }
	}
	if target.Addr().Zone() != "" {
		return dialReset(ctx, target, in)
	}
	return connectTCP(ctx, target, in)
}

// dialReset is ConnectTCP through net.Dialer.
func dialReset(ctx context.Context, target netip.AddrPort, in func(func() error) error) error {
	var c net.Conn
	err := in(func() (err error) {
		c, err = (&net.Dialer{KeepAlive: -1}).DialContext(ctx, "tcp", target.String())
		return err
	})
	if err != nil {
		return err
	}
	return closeReset(c)
}

// closeReset closes c, a connection a check only opened (tcp) or only
// shook hands on (tls), with SO_LINGER 0: the kernel resets it at once
// instead of closing it, so that the checker keeps no socket in
// TIME_WAIT for a minute after each check (at 10,000 checks a second,
// 600,000 of them, and the local ports they hold). keepalived's
// TCP_CHECK closes plainly and leaves them. A c without SetLinger (an
// Env's own kind of connection) is closed plainly.
func closeReset(c net.Conn) error {
	if l, ok := c.(interface{ SetLinger(sec int) error }); ok {
		// Best effort: a socket that refuses it is still closed.
		_ = l.SetLinger(0)
	}
	return c.Close()
}

// dialError is err as net.Dialer reports it for a connection to target.
func dialError(target netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(target), Err: err}
}

// ctxError is ctx's error as net.Dialer reports it: "i/o timeout" for
// its deadline, a timeout matching context.DeadlineExceeded, and
// "operation was canceled" matching context.Canceled.
func ctxError(ctx context.Context) error {
	switch err := ctx.Err(); err {
	case context.DeadlineExceeded:
		return timeoutError{}
	case context.Canceled:
		return canceledError{}
	default:
		return err
	}
}

type timeoutError struct{}

func (timeoutError) Error() string { return "i/o timeout" }

// Timeout is true: net.Error's, so that (*net.OpError).Timeout says so.
func (timeoutError) Timeout() bool { return true }

// Temporary is true, as for net.Dialer's timeouts.
func (timeoutError) Temporary() bool { return true }

// Is matches context.DeadlineExceeded and os.ErrDeadlineExceeded.
func (timeoutError) Is(err error) bool {
	return err == context.DeadlineExceeded || err == os.ErrDeadlineExceeded
}

type canceledError struct{}

func (canceledError) Error() string { return "operation was canceled" }

// Is matches context.Canceled.
func (canceledError) Is(err error) bool { return err == context.Canceled }
