//go:build !linux

package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
)

var errUnsupported = fmt.Errorf("ipvs: not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

type client struct{}

func newClient(*Config) (*client, error) { return nil, errUnsupported }

func (*client) counters() Counters { return Counters{} }
func (*client) send(_ context.Context, b *Batch) ([]error, error) {
	if err := b.check(nil); err != nil {
		return nil, err
	}
	return nil, errUnsupported
}
func (*client) do(_ context.Context, ch change) error {
	var b Batch
	if err := batchOfOne(&b, ch); err != nil {
		return err
	}
	return errUnsupported
}
func (*client) close() error                                { return errUnsupported }
func (*client) info(context.Context) (Info, error)          { return Info{}, errUnsupported }
func (*client) services(context.Context) ([]Service, error) { return nil, errUnsupported }
func (*client) service(context.Context, Service) (Service, error) {
	return Service{}, errUnsupported
}
func (*client) destinations(context.Context, Service) ([]Destination, error) {
	return nil, errUnsupported
}
func (*client) appendDestinations(context.Context, Service, []Destination) ([]Destination, error) {
	return nil, errUnsupported
}
func (*client) timeouts(context.Context) (Timeouts, error)    { return Timeouts{}, errUnsupported }
func (*client) daemons(context.Context) ([]SyncDaemon, error) { return nil, errUnsupported }
func (*client) openProcNet(string) (*os.File, error)          { return nil, errUnsupported }
