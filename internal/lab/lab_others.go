//go:build !linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// errUnsupported is returned on platforms without network namespaces.
func errUnsupported() error {
	return fmt.Errorf("lab: network namespaces on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Lab is a set of network namespaces; it is unsupported on this platform.
type Lab struct{}

// Host is one network namespace of a Lab.
type Host struct{}

// Port is one end of a link or one bridge port.
type Port struct {
	Host     *Host
	If, CIDR string
}

// New returns an error wrapping errors.ErrUnsupported on this platform.
func New() (*Lab, error) { return nil, errUnsupported() }

// Build returns an error wrapping errors.ErrUnsupported on this platform.
func Build(Spec) (*Lab, error) { return nil, errUnsupported() }

// NewHost is unsupported on this platform.
func (*Lab) NewHost(string) (*Host, error) { return nil, errUnsupported() }

// Host returns nil on this platform.
func (*Lab) Host(string) *Host { return nil }

// Link is unsupported on this platform.
func (*Lab) Link(Port, Port) error { return errUnsupported() }

// Bridge is unsupported on this platform.
func (*Lab) Bridge(string, ...Port) (*Host, error) { return nil, errUnsupported() }

// Apply is unsupported on this platform.
func (*Lab) Apply(Spec) error { return errUnsupported() }

// Close does nothing on this platform.
func (*Lab) Close() error { return nil }

// Name returns "" on this platform.
func (*Host) Name() string { return "" }

// NS returns netns.None() on this platform.
func (*Host) NS() netns.NsHandle { return netns.None() }

// Do is unsupported on this platform.
func (*Host) Do(func() error) error { return errUnsupported() }

// AddAddr is unsupported on this platform.
func (*Host) AddAddr(string, string) error { return errUnsupported() }

// Route is unsupported on this platform.
func (*Host) Route(string, string) error { return errUnsupported() }

// Sysctl is unsupported on this platform.
func (*Host) Sysctl(string, string) error { return errUnsupported() }

// ReadSysctl is unsupported on this platform.
func (*Host) ReadSysctl(string) (string, error) { return "", errUnsupported() }

// Serve is unsupported on this platform.
func (*Host) Serve(context.Context, string, string) error { return errUnsupported() }

// Get is unsupported on this platform.
func (*Host) Get(context.Context, string) (string, error) { return "", errUnsupported() }
