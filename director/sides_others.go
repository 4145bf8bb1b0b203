//go:build !linux

package director

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
)

// On systems other than Linux there are no default kernel sides: a
// Director is built on sides given in its Options.

func noDefault(side string) error {
	return fmt.Errorf("director: no default %s on %s (set it in Options): %w", side, runtime.GOOS, errors.ErrUnsupported)
}

func defaultIPVS(int, *Options) (ipvs.API, error)                  { return nil, noDefault("IPVS") }
func defaultSysctls(int) (Sysctls, error)                          { return nil, noDefault("Sysctls") }
func defaultFirewall(int, iptables.Kind) (iptables.Backend, error) { return nil, noDefault("Firewall") }
func defaultLinks(int) (Links, error)                              { return nil, noDefault("Links") }
func defaultVRRP(int) (VRRPSides, error)                           { return nil, noDefault("VRRP") }

// OpenLinks is not supported on this system.
func OpenLinks(int) (Links, error) { return nil, noDefault("Links") }
