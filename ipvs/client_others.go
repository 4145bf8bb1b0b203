//go:build !linux

package ipvs

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("ipvs: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

type client struct{}

func newClient(*Config) (*client, error) { return nil, errUnsupported }

func (*client) close() error                                { return errUnsupported }
func (*client) info(context.Context) (Info, error)          { return Info{}, errUnsupported }
func (*client) services(context.Context) ([]Service, error) { return nil, errUnsupported }
func (*client) service(context.Context, Service) (Service, error) {
	return Service{}, errUnsupported
}
func (*client) setService(context.Context, uint8, string, Service) error { return errUnsupported }
func (*client) deleteService(context.Context, Service) error             { return errUnsupported }
func (*client) destinations(context.Context, Service) ([]Destination, error) {
	return nil, errUnsupported
}
func (*client) setDestination(context.Context, uint8, string, Service, Destination) error {
	return errUnsupported
}
func (*client) deleteDestination(context.Context, Service, Destination) error { return errUnsupported }
func (*client) flush(context.Context) error                                   { return errUnsupported }
func (*client) zero(context.Context, *Service) error                          { return errUnsupported }
func (*client) timeouts(context.Context) (Timeouts, error)                    { return Timeouts{}, errUnsupported }
func (*client) setTimeouts(context.Context, Timeouts) error                   { return errUnsupported }
func (*client) apply(context.Context, []change) ([]error, error)              { return nil, errUnsupported }
func (*client) daemons(context.Context) ([]SyncDaemon, error)                 { return nil, errUnsupported }
func (*client) startDaemon(context.Context, SyncDaemon) error                 { return errUnsupported }
func (*client) stopDaemon(context.Context, SyncState) error                   { return errUnsupported }
func (*client) readProcNet(string) (string, error)                            { return "", errUnsupported }
