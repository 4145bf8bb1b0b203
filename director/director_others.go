//go:build !linux

package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

var errUnsupported = fmt.Errorf("director: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Director is not available on this system.
type Director struct{}

// New is not supported on this system.
func New(*Options) (*Director, error) { return nil, errUnsupported }

// Close does nothing.
func (*Director) Close() error { return nil }

// IPVS returns nil on this system.
func (*Director) IPVS() *ipvs.Client { return nil }

// Status returns the zero Status on this system.
func (*Director) Status() Status { return Status{} }

// Plan is not supported on this system.
func (*Director) Plan(context.Context, *Config) (*Plan, error) { return nil, errUnsupported }

// Apply is not supported on this system.
func (*Director) Apply(context.Context, *Plan) error { return errUnsupported }

// Collect is not supported on this system.
func (*Director) Collect(context.Context) (int, error) { return 0, errUnsupported }

// Teardown is not supported on this system.
func (*Director) Teardown(context.Context) error { return errUnsupported }

// Run is not supported on this system.
func (*Director) Run(context.Context, *Config, <-chan *Config, func(Report)) error {
	return errUnsupported
}

// Disable is not supported on this system.
func (*Director) Disable(context.Context, ipvs.Key, netip.AddrPort, string) error {
	return errUnsupported
}

// Enable is not supported on this system.
func (*Director) Enable(context.Context, ipvs.Key, netip.AddrPort) error { return errUnsupported }

// Ping is not supported on this system.
func (*Director) Ping(context.Context) error { return errUnsupported }

// Fingerprint is not supported on this system.
func (*Director) Fingerprint(context.Context) (string, error) { return "", errUnsupported }

// Drain is not supported on this system.
func (*Director) Drain(context.Context) error { return errUnsupported }

// Undrain is not supported on this system.
func (*Director) Undrain(context.Context) error { return errUnsupported }

// WaitIdle is not supported on this system.
func (*Director) WaitIdle(context.Context, time.Duration) error { return errUnsupported }
