package director

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// udpProber is the "udp" check: send Send to the port, healthy when the
// first reply comes within the timeout and contains Expect. A connected
// UDP socket reads an ICMP port unreachable as ECONNREFUSED, which fails
// the check at once.
type udpProber struct{ send, expect []byte }

func newUDPProber(c *Check) (prober, error) {
	return udpProber{send: []byte(c.Send), expect: []byte(c.Expect)}, nil
}

func (p udpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	c, err := env.dial(ctx, "udp", addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.Write(p.send); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("udp %v: no reply: %w", addr, err)
	case err != nil:
		return err
	case !bytes.Contains(buf[:n], p.expect):
		return fmt.Errorf("udp %v: reply %q does not contain %q", addr, buf[:min(n, 64)], p.expect)
	}
	return nil
}
