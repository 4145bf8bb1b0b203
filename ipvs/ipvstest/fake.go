package ipvstest

import (
	"context"
	"encoding/binary"
	"errors"
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
	// Interfaces are the namespace's network interfaces besides lo (MTU
	// 65536), by name, with their MTU (zero means 1500): a sync daemon
	// starts only on one of them, and a backup's default MaxLength
	// follows the MTU. Naming lo sets its MTU. They are up, as a sync
	// daemon needs (the kernel refuses a master on an interface that is
	// down with ENETUNREACH).
	Interfaces map[string]int
}

// Fake is an in-memory IPVS with the kernel's semantics (as measured on
// Linux 6.1 by RunConformance):
//
//   - Input is validated exactly as by *ipvs.Client, by the same code (a
//     change is queued on an ipvs.Batch and read back with Batch.Rules, a
//     sync daemon read back with ipvs.SyncDaemonRequest), and what is
//     stored is what the kernel would receive: an empty Scheduler is wlc,
//     a nonzero Timeout sets FlagPersistent, a full Netmask reads back as
//     zero.
//   - Errors are the client's: *ipvs.Error values with the same Op, naming
//     the same service and destination, and the kernel's errno (ESRCH for a
//     missing service, ENOENT for a missing destination, EEXIST for a
//     duplicate, EINVAL for a refused address), so errors.Is with
//     fs.ErrNotExist, fs.ErrExist and ipvs.ErrInvalid works alike and the
//     messages read the same; invalid input is a *ipvs.ValidationError, a
//     batch with one a *ipvs.BatchError.
//   - UpdateService and UpdateDestination replace every setting; weight 0
//     and thresholds are kept; deleting a service deletes its
//     destinations; Flush leaves the timeouts and sync daemons as they
//     are.
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
//     addresses).
//   - One sync daemon of each role runs at a time (a second is EEXIST,
//     stopping one that is not running ESRCH), only on a known interface
//     (else ENODEV), and it reads back with the kernel's defaults filled
//     in: group 224.0.0.81, port 8848, TTL 1, and a MaxLength of the
//     largest payload of a 1500-byte packet for a master, of an
//     interface's MTU (1500 to 65535) for a backup, a given one brought
//     into 1..65507 (master) or 1024..65507 (backup); less 20 bytes with
//     an IPv6 group. A master on lo takes no IPv6 group (ENETUNREACH: lo
//     has no route to IPv6 multicast). The sync protocol has no room for a
//     destination of the other family than its service's (a cross-family
//     tunnel): while one exists a daemon does not start, and while a
//     daemon runs such a destination is neither created nor updated
//     (EINVAL).
//
// Where it differs: every scheduler and persistence engine the ipvs package
// knows is present (a kernel may lack a module: Debian's 6.1 has no twos,
// which it refuses with ENOENT), no kernel feature is too new, no traffic
// flows (stats and connection counts stay zero unless a test sets them:
// SetServiceStats, SetDestinationStats), and after Close every call fails
// with an *ipvs.Error wrapping net.ErrClosed (Apply with no results, as the
// client's when its socket fails before sending). A stop of a sync daemon
// always gets its answer: the kernel sends none when the stop comes before
// the daemon's thread first ran (within about a millisecond of the start),
// and the client's call then waits for its context. Inject adds failures
// the kernel has no reason for; Counts tells what the Fake was asked.
//
// A Fake is safe for concurrent use. ModifyService and ModifyDestination
// read and then write, as the client's do: a concurrent change between the
// two is overwritten.
type Fake struct {
	salt   uint8
	ifaces map[string]int // name: MTU

	mu       sync.Mutex
	closed   bool
	clock    uint64 // counts additions, so that newer objects list first
	services map[ipvs.Key]*service
	timeouts ipvs.Timeouts
	daemons  map[ipvs.SyncState]ipvs.SyncDaemon
	faults   []*fault
	counts   Counts
}

type service struct {
	svc   ipvs.Service // with its Stats
	added uint64
	dests map[netip.AddrPort]*dest
}

type dest struct {
	d     ipvs.Destination // with its connection counts and Stats
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
	ifaces := map[string]int{"lo": 65536}
	for name, mtu := range cfg.Interfaces {
		if mtu == 0 {
			mtu = 1500
		}
		ifaces[name] = mtu
	}
	return &Fake{salt: cfg.HashSalt, ifaces: ifaces, services: map[ipvs.Key]*service{}, timeouts: fakeTimeouts,
		daemons: map[ipvs.SyncState]ipvs.SyncDaemon{}, counts: Counts{Calls: map[string]int{}, Changes: map[ipvs.Command]int{}}}
}

// ruleOps name the changes in errors, as the client does.
var ruleOps = map[ipvs.Command]string{
	ipvs.CreateService: "create service", ipvs.UpdateService: "update service", ipvs.DeleteService: "delete service",
	ipvs.CreateDestination: "create destination", ipvs.UpdateDestination: "update destination", ipvs.DeleteDestination: "delete destination",
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

// request reports what stops the request c (with mu held): the context,
// Close, or an injected fault, in the order the client and the kernel would
// meet them.
func (f *Fake) request(ctx context.Context, c Call) error {
	if err := f.ready(ctx, c.Op); err != nil {
		return err
	}
	return f.fault(c)
}

// called counts a call of the method name.
func (f *Fake) called(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts.Calls[name]++
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

// keyed validates the fields that identify svc, as the client does for
// every request naming a service (the check of a delete), and returns the
// service as such a request names it: its key alone.
func keyed(svc ipvs.Service) (ipvs.Service, error) {
	r, err := one(func(b *ipvs.Batch) { b.DeleteService(svc) })
	if err != nil {
		return ipvs.Service{}, err
	}
	return r.Service, nil
}

// ruleCall is the request of a change.
func ruleCall(r ipvs.Rule) Call {
	return Call{Op: ruleOps[r.Command], Service: r.Service, Destination: r.Destination}
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
	return f.applyChange(r)
}

// applyChange applies a change the kernel has received, unless a fault
// fails it, and counts it (with mu held).
func (f *Fake) applyChange(r ipvs.Rule) error {
	err := f.fault(ruleCall(r))
	if err == nil {
		err = f.apply(r)
	}
	if err != nil {
		f.counts.Refused++
		return err
	}
	f.counts.Changes[r.Command]++
	return nil
}

// apply does what the kernel does with one change (with mu held).
func (f *Fake) apply(r ipvs.Rule) error {
	op := ruleOps[r.Command]
	k := r.Service.Key()
	fail := func(errno syscall.Errno) error {
		e := &ipvs.Error{Op: op, Service: k, Err: errno}
		if r.Command == ipvs.CreateDestination || r.Command == ipvs.UpdateDestination || r.Command == ipvs.DeleteDestination {
			e.Destination = r.Destination.Addr
		}
		return e
	}
	s := f.services[k]
	if r.Command == ipvs.CreateService {
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
	if (r.Command == ipvs.CreateDestination || r.Command == ipvs.UpdateDestination) && len(f.daemons) > 0 && crossFamily(r.Service, r.Destination) {
		return fail(syscall.EINVAL) // the sync protocol has no room for it
	}
	switch r.Command {
	case ipvs.UpdateService:
		r.Service.Stats = s.svc.Stats
		s.svc = r.Service
	case ipvs.DeleteService:
		delete(f.services, k)
	case ipvs.CreateDestination:
		if d != nil {
			return fail(syscall.EEXIST)
		}
		if refused(addr.Addr()) {
			return fail(syscall.EINVAL)
		}
		f.clock++
		s.dests[addr] = &dest{d: r.Destination, added: f.clock}
	case ipvs.UpdateDestination:
		if d == nil {
			return fail(syscall.ENOENT)
		}
		next := r.Destination
		next.ActiveConns, next.InactiveConns, next.PersistentConns, next.Stats = d.d.ActiveConns, d.d.InactiveConns, d.d.PersistentConns, d.d.Stats
		d.d = next
	case ipvs.DeleteDestination:
		if d == nil {
			return fail(syscall.ENOENT)
		}
		delete(s.dests, addr)
	}
	return nil
}

// crossFamily reports whether d is of the other family than svc (a
// tunnel, the only forwarding that takes one).
func crossFamily(svc ipvs.Service, d ipvs.Destination) bool { return d.Family() != svc.AddressFamily() }

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
