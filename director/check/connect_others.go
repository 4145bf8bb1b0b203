//go:build !linux

package check

import (
	"context"
	"net/netip"
)

// connectTCP is ConnectTCP on systems other than Linux: net.Dialer's
// connection, reset.
func connectTCP(ctx context.Context, target netip.AddrPort, in func(func() error) error) error {
	return dialReset(ctx, target, in)
}
