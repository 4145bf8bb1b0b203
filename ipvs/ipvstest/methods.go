package ipvstest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/lvs-go/lvs/ipvs"
)

// The methods of ipvs.API. Each counts its call, validates its input as the
// client does, then takes the lock and meets the context, Close and the
// injected faults as a request the kernel would see; the unexported
// halves are what ModifyService, ModifyDestination and Table share.

// Close ends the Fake's use: every later call fails. Closing again does
// nothing.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts.Calls["Close"]++
	f.closed = true
	return nil
}

// Info reports IPVS 1.2.1 with a connection table of 4096 entries.
func (f *Fake) Info(ctx context.Context) (ipvs.Info, error) {
	f.called("Info")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "info"}); err != nil {
		return ipvs.Info{}, err
	}
	return fakeInfo, nil
}

// Services lists every service, in the kernel's order.
func (f *Fake) Services(ctx context.Context) ([]ipvs.Service, error) {
	f.called("Services")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "list services"}); err != nil {
		return nil, err
	}
	out := []ipvs.Service{}
	for _, s := range f.list() {
		out = append(out, s.svc)
	}
	return out, nil
}

// Service reads one service, as Client.Service.
func (f *Fake) Service(ctx context.Context, svc ipvs.Service) (ipvs.Service, error) {
	f.called("Service")
	return f.service(ctx, svc)
}

func (f *Fake) service(ctx context.Context, svc ipvs.Service) (ipvs.Service, error) {
	svc, err := keyed(svc)
	if err != nil {
		return ipvs.Service{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "get service", Service: svc}); err != nil {
		return ipvs.Service{}, err
	}
	s := f.services[svc.Key()]
	if s == nil {
		return ipvs.Service{}, &ipvs.Error{Op: "get service", Service: svc.Key(), Err: syscall.ESRCH}
	}
	return s.svc, nil
}

// CreateService adds svc, as Client.CreateService.
func (f *Fake) CreateService(ctx context.Context, svc ipvs.Service) error {
	f.called("CreateService")
	return f.change(ctx, func(b *ipvs.Batch) { b.CreateService(svc) })
}

// UpdateService replaces every setting of svc, as Client.UpdateService.
func (f *Fake) UpdateService(ctx context.Context, svc ipvs.Service) error {
	f.called("UpdateService")
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateService(svc) })
}

// ModifyService reads svc, lets fn change it and writes it back, as
// Client.ModifyService.
func (f *Fake) ModifyService(ctx context.Context, svc ipvs.Service, fn func(*ipvs.Service) error) error {
	f.called("ModifyService")
	cur, err := f.service(ctx, svc)
	if err != nil {
		return err
	}
	next := cur
	if err := fn(&next); err != nil {
		return err
	}
	if next.Key() != cur.Key() {
		return &ipvs.ValidationError{Field: "Service",
			Reason: fmt.Sprintf("ModifyService cannot change the key %v into %v", cur.Key(), next.Key())}
	}
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateService(next) })
}

// DeleteService removes svc and its destinations, as Client.DeleteService.
func (f *Fake) DeleteService(ctx context.Context, svc ipvs.Service) error {
	f.called("DeleteService")
	return f.change(ctx, func(b *ipvs.Batch) { b.DeleteService(svc) })
}

// Destinations lists svc's destinations, newest first, as
// Client.Destinations.
func (f *Fake) Destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.Destination, error) {
	f.called("Destinations")
	return f.destinations(ctx, svc)
}

func (f *Fake) destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.Destination, error) {
	svc, err := keyed(svc)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "list destinations", Service: svc}); err != nil {
		return nil, err
	}
	s := f.services[svc.Key()]
	if s == nil {
		return nil, &ipvs.Error{Op: "list destinations", Service: svc.Key(), Err: syscall.ESRCH}
	}
	return s.list(), nil
}

// Destination reads the destination addr of svc, as Client.Destination
// (which lists the destinations: a fault on "list destinations" fails it).
func (f *Fake) Destination(ctx context.Context, svc ipvs.Service, addr netip.AddrPort) (ipvs.Destination, error) {
	f.called("Destination")
	return f.destination(ctx, svc, addr)
}

func (f *Fake) destination(ctx context.Context, svc ipvs.Service, addr netip.AddrPort) (ipvs.Destination, error) {
	ds, err := f.destinations(ctx, svc)
	if err != nil {
		return ipvs.Destination{}, err
	}
	for _, d := range ds {
		if sameAddr(d.Addr, addr) {
			return d, nil
		}
	}
	return ipvs.Destination{}, &ipvs.Error{Op: "get destination", Service: svc.Key(), Destination: addr, Err: syscall.ENOENT}
}

// sameAddr compares real-server addresses as the kernel does, an
// IPv4-mapped IPv6 address equal to its IPv4 form.
func sameAddr(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// CreateDestination adds d to svc, as Client.CreateDestination.
func (f *Fake) CreateDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error {
	f.called("CreateDestination")
	return f.change(ctx, func(b *ipvs.Batch) { b.CreateDestination(svc, d) })
}

// UpdateDestination replaces every setting of d on svc, as
// Client.UpdateDestination; its connection counts and stats stay.
func (f *Fake) UpdateDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error {
	f.called("UpdateDestination")
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateDestination(svc, d) })
}

// ModifyDestination reads the destination addr of svc, lets fn change it
// and writes it back, as Client.ModifyDestination.
func (f *Fake) ModifyDestination(ctx context.Context, svc ipvs.Service, addr netip.AddrPort, fn func(*ipvs.Destination) error) error {
	f.called("ModifyDestination")
	cur, err := f.destination(ctx, svc, addr)
	if err != nil {
		return err
	}
	next := cur
	if err := fn(&next); err != nil {
		return err
	}
	if !sameAddr(next.Addr, cur.Addr) {
		return &ipvs.ValidationError{Field: "Destination.Addr",
			Reason: fmt.Sprintf("ModifyDestination cannot change the address %v into %v", cur.Addr, next.Addr)}
	}
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateDestination(svc, next) })
}

// DeleteDestination removes d from svc, as Client.DeleteDestination.
func (f *Fake) DeleteDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error {
	f.called("DeleteDestination")
	return f.change(ctx, func(b *ipvs.Batch) { b.DeleteDestination(svc, d) })
}

// Apply applies the batch's changes in order and reports one result per
// change, as Client.Apply: an invalid change stops the batch before any is
// applied, with the *ipvs.BatchError naming it; each other change succeeds
// or fails on its own (an injected fault fails only the changes it
// matches).
func (f *Fake) Apply(ctx context.Context, b *ipvs.Batch) ([]error, error) {
	f.called("Apply")
	rules, err := b.Rules()
	if err != nil {
		return nil, err
	}
	op := "apply batch"
	if len(rules) == 1 {
		op = ruleOps[rules[0].Command]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, &ipvs.Error{Op: op, Err: err}
	}
	if f.closed && len(rules) > 0 {
		return nil, &ipvs.Error{Op: op, Err: net.ErrClosed}
	}
	results := make([]error, len(rules))
	for i, r := range rules {
		results[i] = f.applyChange(r)
	}
	return results, nil
}

// Table reads every service with its destinations, in the kernel's order,
// at one instant. It makes the client's requests (info, list services,
// list destinations of each service), which faults can fail.
func (f *Fake) Table(ctx context.Context) (ipvs.Table, error) {
	f.called("Table")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range []string{"info", "list services"} {
		if err := f.request(ctx, Call{Op: op}); err != nil {
			return ipvs.Table{}, err
		}
	}
	t := ipvs.Table{Info: fakeInfo, Services: make([]ipvs.TableService, 0, len(f.services))}
	for _, s := range f.list() {
		if err := f.fault(Call{Op: "list destinations", Service: s.svc}); err != nil {
			return ipvs.Table{}, err
		}
		t.Services = append(t.Services, ipvs.TableService{Service: s.svc, Destinations: s.list()})
	}
	return t, nil
}

// Flush removes every service and its destinations; the timeouts and sync
// daemons stay.
func (f *Fake) Flush(ctx context.Context) error {
	f.called("Flush")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "flush"}); err != nil {
		return err
	}
	clear(f.services)
	return nil
}

// ZeroAll resets the counters and rates of every service and destination
// (not their connection counts).
func (f *Fake) ZeroAll(ctx context.Context) error {
	f.called("ZeroAll")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "zero"}); err != nil {
		return err
	}
	for _, s := range f.services {
		s.zero()
	}
	return nil
}

// ZeroService resets the counters and rates of svc and its destinations
// (not their connection counts); a missing service is an error as with
// Client.ZeroService.
func (f *Fake) ZeroService(ctx context.Context, svc ipvs.Service) error {
	f.called("ZeroService")
	svc, err := keyed(svc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "zero", Service: svc}); err != nil {
		return err
	}
	s := f.services[svc.Key()]
	if s == nil {
		return &ipvs.Error{Op: "zero", Service: svc.Key(), Err: syscall.ESRCH}
	}
	s.zero()
	return nil
}

// zero resets the stats of s and its destinations, as the kernel's zero
// command does: counters and rates.
func (s *service) zero() {
	s.svc.Stats = ipvs.Stats{}
	for _, d := range s.dests {
		d.d.Stats = ipvs.Stats{}
	}
}

// Timeouts reads the connection timeouts: 900, 120 and 300 seconds until
// set.
func (f *Fake) Timeouts(ctx context.Context) (ipvs.Timeouts, error) {
	f.called("Timeouts")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "get timeouts"}); err != nil {
		return ipvs.Timeouts{}, err
	}
	return f.timeouts, nil
}

// SetTimeouts sets the connection timeouts; zero fields are left
// unchanged, as with Client.SetTimeouts.
func (f *Fake) SetTimeouts(ctx context.Context, t ipvs.Timeouts) error {
	f.called("SetTimeouts")
	if err := ipvs.ValidateTimeouts(t); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "set timeouts"}); err != nil {
		return err
	}
	if t.TCP > 0 {
		f.timeouts.TCP = t.TCP
	}
	if t.TCPFin > 0 {
		f.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP > 0 {
		f.timeouts.UDP = t.UDP
	}
	return nil
}
