package director

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// Maintenance is a real server taken out of service by hand
// (Director.Disable): quiesced, whatever its health, until Enable.
type Maintenance struct {
	Service ipvs.Key       `json:"service"`
	Addr    netip.AddrPort `json:"realServer"`
	Reason  string         `json:"reason,omitempty"`
	Since   time.Time      `json:"since"`
}

// ErrNotRunning is returned by Ping when no Run is running.
var ErrNotRunning = errors.New("director: not running")

// UnknownRealServerError is a Disable or Enable of a real server that the
// configuration does not list (or before any configuration was planned).
// It matches fs.ErrNotExist.
type UnknownRealServerError struct {
	Service ipvs.Key
	Addr    netip.AddrPort
}

func (e *UnknownRealServerError) Error() string {
	return fmt.Sprintf("director: %v has no real server %v in the configuration", e.Service, e.Addr)
}

// Is matches fs.ErrNotExist.
func (e *UnknownRealServerError) Is(target error) bool { return target == fs.ErrNotExist }
