package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// UDP is the "udp" check: Send goes to the target's port in one
// datagram; healthy when the first reply comes within the check's
// timeout and contains Expect. A connected UDP socket reads an ICMP port
// unreachable as ECONNREFUSED, which fails the check at once. It reads
// one datagram, of at most 64 KiB.
type UDP struct {
	// Send is the datagram's payload (empty if unset).
	Send string `json:"send,omitempty"`
	// Expect, if set, must be in the reply.
	Expect string `json:"expect,omitempty"`
}

// Type is "udp".
func (UDP) Type() string { return "udp" }

// Compile returns the udp checker.
func (u UDP) Compile() (Checker, error) {
	return udpChecker{send: []byte(u.Send), expect: []byte(u.Expect)}, nil
}

type udpChecker struct{ send, expect []byte }

// udpReadSize is the most of the reply the check reads: a datagram's
// largest payload.
const udpReadSize = 64 << 10

func (p udpChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	c, err := env.Dial(ctx, "udp", target.String())
	if err != nil {
		return err
	}
	defer c.Close()
	defer follow(ctx, c)()
	if _, err := c.Write(p.send); err != nil {
		return err
	}
	buf := make([]byte, udpReadSize)
	n, err := c.Read(buf)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("udp %v: no reply: %w", target, err)
	case err != nil:
		return err
	case !bytes.Contains(buf[:n], p.expect):
		return fmt.Errorf("udp %v: reply %q does not contain %q", target, buf[:min(n, 64)], p.expect)
	}
	return nil
}
