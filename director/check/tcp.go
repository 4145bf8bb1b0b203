package check

import (
	"context"
	"net"
	"net/netip"
)

// TCP is the "tcp" check: healthy when a connection to the target
// opens. It reads nothing from the target, and takes at most the check's
// timeout. The connection ends with a reset, not a close: see
// closeReset.
type TCP struct{}

// Type is "tcp".
func (TCP) Type() string { return "tcp" }

// Compile returns the tcp checker.
func (TCP) Compile() (Checker, error) { return tcpChecker{}, nil }

type tcpChecker struct{}

func (tcpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	c, err := env.Dial(ctx, "tcp", target.String())
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
