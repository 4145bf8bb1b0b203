//go:build !linux

package ipvs

import (
	"errors"
	"fmt"
	"runtime"
)

// dial fails: IPVS and its generic-netlink socket are Linux's.
func dial(int) (transport, int, error) {
	return nil, 0, fmt.Errorf("no generic-netlink socket on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
