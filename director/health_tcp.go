package director

import (
	"context"
	"net/netip"
)

// tcpProber is the "tcp" check: healthy when a connection opens.
type tcpProber struct{}

func newTCPProber(*Check) (prober, error) { return tcpProber{}, nil }

func (tcpProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	c, err := env.dial(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	return c.Close()
}
