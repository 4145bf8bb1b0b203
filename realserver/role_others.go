//go:build !linux

package realserver

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("realserver: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Role is a host in the real-server role.
type Role struct{}

// Status is what Check found.
type Status struct{ Problems []string }

// OK reports whether the host is correctly in the role.
func (s *Status) OK() bool { return len(s.Problems) == 0 }

// Setup is not supported on this system.
func Setup(context.Context, *Config) (*Role, error) { return nil, errUnsupported }

// Teardown is not supported on this system.
func (*Role) Teardown(context.Context) error { return errUnsupported }

// Changes is empty on this system.
func (*Role) Changes() []string { return nil }

// Check is not supported on this system.
func Check(context.Context, *Config) (*Status, error) { return nil, errUnsupported }
