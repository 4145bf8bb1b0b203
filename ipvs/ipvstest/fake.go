// Package ipvstest is an in-memory IPVS for tests: a Fake does with services,
// destinations and timeouts what the kernel does, behind ipvs.API, which
// *ipvs.Client implements too. Code that takes an ipvs.API is then tested
// without root, without a kernel module and on any operating system.
//
// RunConformance is the suite that holds a Fake and the kernel to the same
// behaviour; this package runs it against both.
package ipvstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// Config configures a Fake. The zero value (or a nil *Config) is a fresh
// namespace's IPVS.
type Config struct {
	// HashSalt stands for the part of the address of a namespace's IPVS
	// state that the kernel mixes into the bucket of every service in its
	// two service hash tables, and so into the order in which services
	// are listed. The kernel's differs from one namespace to the next
	// (multiples of 16 were seen on Linux 6.1); code must not depend on the
	// order, and a test can run under several salts to show that it does
	// not.
	HashSalt uint8
}

// Fake is an in-memory IPVS with the kernel's semantics (as measured on
// Linux 6.1 by RunConformance):
//
//   - Input is validated exactly as by *ipvs.Client, by the same code (a
//     change is queued on an ipvs.Batch and read back with Batch.Rules),
//     and what is stored is what the kernel would receive: an empty
//     Scheduler is wlc, a nonzero Timeout sets FlagPersistent, a full
//     Netmask reads back as zero.
//   - Errors are the client's: *ipvs.Error values with the same Op, naming
//     the same service and destination, and the kernel's errno (ESRCH for a
//     missing service, ENOENT for a missing destination, EEXIST for a
//     duplicate, EINVAL for a refused address), so errors.Is with
//     fs.ErrNotExist, fs.ErrExist and ipvs.ErrInvalid works alike and the
//     messages read the same; invalid input is a *ipvs.ValidationError, a
//     batch with one a *ipvs.BatchError.
//   - UpdateService and UpdateDestination replace every setting; weight 0
//     and thresholds are kept; deleting a service deletes its
//     destinations; Flush leaves the timeouts as they are.
//   - Services are listed as the kernel lists them: address services,
//     then firewall-mark services, each in the order of its hash table's
//     buckets (see Config.HashSalt), newest first within a bucket.
//     Destinations are listed newest first. An update moves nothing; a
//     deleted and re-created object is the newest.
//   - A destination is refused with EINVAL where the kernel refuses it in a
//     namespace whose loopback is up: a broadcast address (255.255.255.255,
//     127.255.255.255) or an IPv6 link-local one. Every other address is
//     taken, routed or not, as the kernel takes it (it refuses the
//     broadcast addresses of other interfaces too, and every IPv4 address
//     in a namespace whose loopback was never up; a Fake has no
//     interfaces).
//
// Where it differs: every scheduler and persistence engine the ipvs package
// knows is present (a kernel may lack a module: Debian's 6.1 has no twos,
// which it refuses with ENOENT), no kernel feature is too new, no traffic
// flows (stats and connection counts stay zero), and after Close every call
// fails with an *ipvs.Error wrapping net.ErrClosed (Apply with no results,
// as the client's when its socket fails before sending).
//
// A Fake is safe for concurrent use. ModifyService and ModifyDestination
// read and then write, as the client's do: a concurrent change between the
// two is overwritten.
type Fake struct {
	salt uint8

	mu       sync.Mutex
	closed   bool
	clock    uint64 // counts additions, so that newer objects list first
	services map[ipvs.Key]*service
	timeouts ipvs.Timeouts
}

type service struct {
	svc   ipvs.Service
	added uint64
	dests map[netip.AddrPort]*dest
}

type dest struct {
	d     ipvs.Destination
	added uint64
}

var _ ipvs.API = (*Fake)(nil)

// What a fresh namespace's IPVS reports: version 1.2.1, the default
// connection table (CONFIG_IP_VS_TAB_BITS=12) and ipvsadm's timeouts.
var (
	fakeInfo     = ipvs.Info{Version: 1<<16 | 2<<8 | 1, ConnTableSize: 4096}
	fakeTimeouts = ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
)

// New returns an empty Fake.
func New(cfg *Config) *Fake {
	if cfg == nil {
		cfg = &Config{}
	}
	return &Fake{salt: cfg.HashSalt, services: map[ipvs.Key]*service{}, timeouts: fakeTimeouts}
}

// ruleOps name the changes in errors, as the client does.
var ruleOps = map[ipvs.Command]string{
	ipvs.AddService: "create service", ipvs.EditService: "update service", ipvs.DeleteService: "delete service",
	ipvs.AddServer: "create destination", ipvs.EditServer: "update destination", ipvs.DeleteServer: "delete destination",
}

// ready reports, for a call named op, what stops it before the kernel would
// see it: the context, or Close (with mu held).
func (f *Fake) ready(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &ipvs.Error{Op: op, Err: err}
	}
	if f.closed {
		return &ipvs.Error{Op: op, Err: net.ErrClosed}
	}
	return nil
}

// changeErr is the error of a change of its own: a single-change method
// returns what a batch of one reports for its change.
func changeErr(err error) error {
	var be *ipvs.BatchError
	if errors.As(err, &be) {
		return be.Err
	}
	return err
}

// one validates the change queue puts on a batch, as the client does, and
// returns it as the kernel would receive it.
func one(queue func(*ipvs.Batch)) (ipvs.Rule, error) {
	var b ipvs.Batch
	queue(&b)
	rules, err := b.Rules()
	if err != nil {
		return ipvs.Rule{}, changeErr(err)
	}
	return rules[0], nil
}

// key validates the fields that identify svc, as the client does for every
// request naming a service (the check of a delete), and returns its key.
func key(svc ipvs.Service) (ipvs.Key, error) {
	r, err := one(func(b *ipvs.Batch) { b.DeleteService(svc) })
	if err != nil {
		return ipvs.Key{}, err
	}
	return r.Service.Key(), nil
}

// change applies a single change.
func (f *Fake) change(ctx context.Context, queue func(*ipvs.Batch)) error {
	r, err := one(queue)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, ruleOps[r.Command]); err != nil {
		return err
	}
	return f.apply(r)
}

// apply does what the kernel does with one change (with mu held).
func (f *Fake) apply(r ipvs.Rule) error {
	op := ruleOps[r.Command]
	k := r.Service.Key()
	fail := func(errno syscall.Errno) error {
		e := &ipvs.Error{Op: op, Service: k, Err: errno}
		if r.Command == ipvs.AddServer || r.Command == ipvs.EditServer || r.Command == ipvs.DeleteServer {
			e.Destination = r.Destination.Addr
		}
		return e
	}
	s := f.services[k]
	if r.Command == ipvs.AddService {
		if s != nil {
			return fail(syscall.EEXIST)
		}
		f.clock++
		f.services[k] = &service{svc: r.Service, added: f.clock, dests: map[netip.AddrPort]*dest{}}
		return nil
	}
	if s == nil {
		return fail(syscall.ESRCH)
	}
	addr := r.Destination.Addr
	d := s.dests[addr]
	switch r.Command {
	case ipvs.EditService:
		s.svc = r.Service
	case ipvs.DeleteService:
		delete(f.services, k)
	case ipvs.AddServer:
		if d != nil {
			return fail(syscall.EEXIST)
		}
		if refused(addr.Addr()) {
			return fail(syscall.EINVAL)
		}
		f.clock++
		s.dests[addr] = &dest{d: r.Destination, added: f.clock}
	case ipvs.EditServer:
		if d == nil {
			return fail(syscall.ENOENT)
		}
		d.d = r.Destination
	case ipvs.DeleteServer:
		if d == nil {
			return fail(syscall.ENOENT)
		}
		delete(s.dests, addr)
	}
	return nil
}

// refused reports whether the kernel refuses a as a destination in a
// namespace whose only interface is lo, up with 127.0.0.1/8 and ::1: it
// takes unicast and local addresses only, and an IPv6 link-local address
// only if it is local.
func refused(a netip.Addr) bool {
	if a.Is4() {
		return a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a == netip.AddrFrom4([4]byte{127, 255, 255, 255})
	}
	return a.IsLinkLocalUnicast()
}

// bucket is the kernel's hash bucket of s in f's table.
func (f *Fake) bucket(s ipvs.Service) uint32 { return bucket(s, uint32(f.salt)) }

// bucket is the kernel's hash of s in its table (ip_vs_svc_hashkey,
// ip_vs_svc_fwm_hashkey) for salt (see Config.HashSalt): 256 buckets. The
// conformance suite uses it too, to find salts whose orders it can tell
// apart; running the suite on the real kernel holds it to the kernel's.
func bucket(s ipvs.Service, salt uint32) uint32 {
	if s.FirewallMark != 0 {
		return (s.FirewallMark ^ salt) & 0xff
	}
	var fold uint32
	if a := s.Addr.Addr().Unmap(); a.Is4() {
		b := a.As4()
		fold = binary.BigEndian.Uint32(b[:])
	} else {
		b := a.As16()
		for i := 0; i < 16; i += 4 {
			fold ^= binary.BigEndian.Uint32(b[i:])
		}
	}
	port := uint32(s.Addr.Port())
	return (uint32(s.Protocol) ^ fold ^ salt ^ port>>8 ^ port) & 0xff
}

// list returns the services in the kernel's order (with mu held).
func (f *Fake) list() []*service {
	out := make([]*service, 0, len(f.services))
	for _, s := range f.services {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *service) int {
		if af, bf := a.svc.IsFirewallMark(), b.svc.IsFirewallMark(); af != bf {
			if af {
				return 1 // the table of address services is listed first
			}
			return -1
		}
		if ab, bb := f.bucket(a.svc), f.bucket(b.svc); ab != bb {
			return int(ab) - int(bb)
		}
		return cmpNewest(a.added, b.added)
	})
	return out
}

// list returns s's destinations in the kernel's order, newest first.
func (s *service) list() []ipvs.Destination {
	ds := make([]*dest, 0, len(s.dests))
	for _, d := range s.dests {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b *dest) int { return cmpNewest(a.added, b.added) })
	out := make([]ipvs.Destination, len(ds))
	for i, d := range ds {
		out[i] = d.d
	}
	return out
}

func cmpNewest(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// Close ends the Fake's use: every later call fails. Closing again does
// nothing.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// Info reports IPVS 1.2.1 with a connection table of 4096 entries.
func (f *Fake) Info(ctx context.Context) (ipvs.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "info"); err != nil {
		return ipvs.Info{}, err
	}
	return fakeInfo, nil
}

// Services lists every service, in the kernel's order.
func (f *Fake) Services(ctx context.Context) ([]ipvs.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "list services"); err != nil {
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
	k, err := key(svc)
	if err != nil {
		return ipvs.Service{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "get service"); err != nil {
		return ipvs.Service{}, err
	}
	s := f.services[k]
	if s == nil {
		return ipvs.Service{}, &ipvs.Error{Op: "get service", Service: k, Err: syscall.ESRCH}
	}
	return s.svc, nil
}

// CreateService adds svc, as Client.CreateService.
func (f *Fake) CreateService(ctx context.Context, svc ipvs.Service) error {
	return f.change(ctx, func(b *ipvs.Batch) { b.CreateService(svc) })
}

// UpdateService replaces every setting of svc, as Client.UpdateService.
func (f *Fake) UpdateService(ctx context.Context, svc ipvs.Service) error {
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateService(svc) })
}

// ModifyService reads svc, lets fn change it and writes it back, as
// Client.ModifyService.
func (f *Fake) ModifyService(ctx context.Context, svc ipvs.Service, fn func(*ipvs.Service) error) error {
	cur, err := f.Service(ctx, svc)
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
	return f.UpdateService(ctx, next)
}

// DeleteService removes svc and its destinations, as Client.DeleteService.
func (f *Fake) DeleteService(ctx context.Context, svc ipvs.Service) error {
	return f.change(ctx, func(b *ipvs.Batch) { b.DeleteService(svc) })
}

// Destinations lists svc's destinations, newest first, as
// Client.Destinations.
func (f *Fake) Destinations(ctx context.Context, svc ipvs.Service) ([]ipvs.Destination, error) {
	k, err := key(svc)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "list destinations"); err != nil {
		return nil, err
	}
	s := f.services[k]
	if s == nil {
		return nil, &ipvs.Error{Op: "list destinations", Service: k, Err: syscall.ESRCH}
	}
	return s.list(), nil
}

// Destination reads the destination addr of svc, as Client.Destination.
func (f *Fake) Destination(ctx context.Context, svc ipvs.Service, addr netip.AddrPort) (ipvs.Destination, error) {
	ds, err := f.Destinations(ctx, svc)
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
	return f.change(ctx, func(b *ipvs.Batch) { b.CreateDestination(svc, d) })
}

// UpdateDestination replaces every setting of d on svc, as
// Client.UpdateDestination.
func (f *Fake) UpdateDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error {
	return f.change(ctx, func(b *ipvs.Batch) { b.UpdateDestination(svc, d) })
}

// ModifyDestination reads the destination addr of svc, lets fn change it
// and writes it back, as Client.ModifyDestination.
func (f *Fake) ModifyDestination(ctx context.Context, svc ipvs.Service, addr netip.AddrPort, fn func(*ipvs.Destination) error) error {
	cur, err := f.Destination(ctx, svc, addr)
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
	return f.UpdateDestination(ctx, svc, next)
}

// DeleteDestination removes d from svc, as Client.DeleteDestination.
func (f *Fake) DeleteDestination(ctx context.Context, svc ipvs.Service, d ipvs.Destination) error {
	return f.change(ctx, func(b *ipvs.Batch) { b.DeleteDestination(svc, d) })
}

// Apply applies the batch's changes in order and reports one result per
// change, as Client.Apply: an invalid change stops the batch before any is
// applied, with the *ipvs.BatchError naming it; each other change succeeds
// or fails on its own.
func (f *Fake) Apply(ctx context.Context, b *ipvs.Batch) ([]error, error) {
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
		results[i] = f.apply(r)
	}
	return results, nil
}

// Table reads every service with its destinations, in the kernel's order,
// at one instant.
func (f *Fake) Table(ctx context.Context) (ipvs.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "info"); err != nil {
		return ipvs.Table{}, err
	}
	t := ipvs.Table{Info: fakeInfo, Services: make([]ipvs.TableService, 0, len(f.services))}
	for _, s := range f.list() {
		t.Services = append(t.Services, ipvs.TableService{Service: s.svc, Destinations: s.list()})
	}
	return t, nil
}

// Flush removes every service and its destinations; the timeouts stay.
func (f *Fake) Flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "flush"); err != nil {
		return err
	}
	clear(f.services)
	return nil
}

// ZeroAll resets every counter, which in a Fake are always zero.
func (f *Fake) ZeroAll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready(ctx, "zero")
}

// ZeroService resets svc's counters, which in a Fake are always zero; a
// missing service is an error as with Client.ZeroService.
func (f *Fake) ZeroService(ctx context.Context, svc ipvs.Service) error {
	k, err := key(svc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "zero"); err != nil {
		return err
	}
	if f.services[k] == nil {
		return &ipvs.Error{Op: "zero", Service: k, Err: syscall.ESRCH}
	}
	return nil
}

// Timeouts reads the connection timeouts: 900, 120 and 300 seconds until
// set.
func (f *Fake) Timeouts(ctx context.Context) (ipvs.Timeouts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "get timeouts"); err != nil {
		return ipvs.Timeouts{}, err
	}
	return f.timeouts, nil
}

// SetTimeouts sets the connection timeouts; zero fields are left
// unchanged, as with Client.SetTimeouts.
func (f *Fake) SetTimeouts(ctx context.Context, t ipvs.Timeouts) error {
	if err := ipvs.ValidateTimeouts(t); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ready(ctx, "set timeouts"); err != nil {
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
