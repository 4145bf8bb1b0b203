package check

import (
	"context"
	"net/netip"
)

// TCP is the "tcp" check: healthy when a connection to the target
// opens. It reads nothing from the target, and takes at most the check's
// timeout.
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
	return c.Close()
}
