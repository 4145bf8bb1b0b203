package director

import (
	"context"
	"net"
	"os/exec"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// nsEnv runs health checks and notify commands in a namespace (0: the
// caller's).
type nsEnv struct{ netns int }

// dial opens a connection from the namespace.
func (e nsEnv) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := netnsx.Do(e.netns, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

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

// The Director is its health checks' probeEnv, in its namespace.
var _ probeEnv = (*Director)(nil)

func (d *Director) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return nsEnv{d.netns}.dial(ctx, network, addr)
}

func (d *Director) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return nsEnv{d.netns}.listenPacket(ctx, network, addr)
}

func (d *Director) start(cmd *exec.Cmd) error { return nsEnv{d.netns}.start(cmd) }
