//go:build !linux

package netnsx

import (
	"errors"
	"fmt"
	"runtime"
)

// Do runs fn directly for the caller's namespace (fd 0); other namespaces
// exist only on Linux.
func Do(fd int, fn func() error) error {
	if fd == 0 {
		return fn()
	}
	return fmt.Errorf("netns: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Dup returns fd unchanged for 0 and an error otherwise.
func Dup(fd int) (int, error) {
	if fd == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("netns: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Close does nothing: Dup returns no descriptor here.
func Close(int) error { return nil }
