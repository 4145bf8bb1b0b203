//go:build !linux

package kernel

import (
	"errors"
	"fmt"
	"runtime"
)

// Release is for Linux only: elsewhere its error matches
// errors.ErrUnsupported.
func Release() (string, error) {
	return "", fmt.Errorf("kernel release: not a Linux kernel (%s): %w", runtime.GOOS, errors.ErrUnsupported)
}
