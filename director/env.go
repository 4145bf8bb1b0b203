package director

import (
	"context"
	"net"
	"net/netip"
	"os/exec"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/netnsx"
)

// nsEnv runs health checks and notify commands in a namespace (0: the
// caller's).
type nsEnv struct{ netns int }

// dial opens a connection from the namespace. A check's connection
// lives no longer than the check: it sets no TCP keep-alive, which
// would cost four system calls.
func (e nsEnv) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netnsx.Do(e.netns, func() error {
		var err error
		c, err = (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// connect opens a TCP connection from the namespace and resets it
// (check.ConnectTCP): only the socket is made inside the namespace.
func (e nsEnv) connect(ctx context.Context, target netip.AddrPort) error {
	if e.netns == 0 {
		return check.ConnectTCP(ctx, target, nil)
	}
	return check.ConnectTCP(ctx, target, e.do)
}

// do runs fn inside the namespace.
func (e nsEnv) do(fn func() error) error { return netnsx.Do(e.netns, fn) }

// listenPacket opens a packet socket (raw ones too) in the namespace.
func (e nsEnv) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := netnsx.Do(e.netns, func() error {
		var err error
		c, err = (&net.ListenConfig{}).ListenPacket(ctx, network, addr)
		return err
	})
	return c, err
}

// start starts cmd from a thread inside the namespace, so the process is
// in it.
func (e nsEnv) start(cmd *exec.Cmd) error { return netnsx.Do(e.netns, cmd.Start) }

// The Director is its health checks' probeEnv, in its namespace, and a
// tcpConnector.
var (
	_ probeEnv     = (*Director)(nil)
	_ tcpConnector = (*Director)(nil)
)

func (d *Director) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return nsEnv{d.netns}.dial(ctx, network, addr)
}

func (d *Director) connect(ctx context.Context, target netip.AddrPort) error {
	return nsEnv{d.netns}.connect(ctx, target)
}

func (d *Director) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return nsEnv{d.netns}.listenPacket(ctx, network, addr)
}

func (d *Director) start(cmd *exec.Cmd) error { return nsEnv{d.netns}.start(cmd) }

// tcpConnector is a probeEnv that opens TCP connections for the tcp
// check alone (check.Connector): the Director is one.
type tcpConnector interface {
	connect(ctx context.Context, target netip.AddrPort) error
}

// checkEnv is a check.Connector: the tcp check takes its Connect.
var _ check.Connector = checkEnv{}

// Connect opens a TCP connection to target from the probeEnv and resets
// it: by its connect if it is a tcpConnector, otherwise by its dial.
func (e checkEnv) Connect(ctx context.Context, target netip.AddrPort) error {
	if c, ok := e.env.(tcpConnector); ok {
		return c.connect(ctx, target)
	}
	c, err := e.env.dial(ctx, "tcp", target.String())
	if err != nil {
		return err
	}
	if l, ok := c.(interface{ SetLinger(sec int) error }); ok {
		_ = l.SetLinger(0) // best effort: the close still ends it
	}
	return c.Close()
}
