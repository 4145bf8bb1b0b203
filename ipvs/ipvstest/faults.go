package ipvstest

import (
	"maps"
	"net/netip"
	"slices"
	"syscall"

	"github.com/lvs-go/lvs/ipvs"
)

// Call is one request a Fake receives, as a Fault sees it: what a method
// asks of the kernel (Table and the Modify methods ask several things, as
// the client's do), or one change of a batch. Its fields are as the kernel
// would receive them: validated, with defaults filled in.
type Call struct {
	// Op names the request as its errors do: "create service", "update
	// service", "delete service", "create destination", "update
	// destination", "delete destination", "get service", "list services",
	// "list destinations", "info", "flush", "zero", "get timeouts", "set
	// timeouts", "list sync daemons", "start sync daemon" or "stop sync
	// daemon".
	Op string
	// Service is the service the request names (a read names its key
	// alone); zero if it names none.
	Service ipvs.Service
	// Destination is the destination a change names (a delete names its
	// address alone); zero if it names none.
	Destination ipvs.Destination
	// SyncDaemon is the daemon a start names, or the role a stop names
	// (State alone).
	SyncDaemon ipvs.SyncDaemon
}

// A Fault makes requests of a Fake fail as the kernel fails them: a request
// the fault matches fails with an *ipvs.Error whose Op is the request's and
// whose Err is Errno, the shape of the client's errors (errors.Is(err,
// fs.ErrNotExist) holds for ESRCH, ENOENT and ENODEV, fs.ErrExist for
// EEXIST), and changes nothing. A batch's changes are requests of their
// own: a fault fails only those it matches, in their results, and the
// others are applied.
//
// A request meets the faults after what would stop it before the kernel
// saw it (invalid input, a done context, Close) and before the kernel's own
// refusals; the faults are tried in the order they were injected, and the
// first that fires decides. A zero Fault fails every request with EIO.
type Fault struct {
	// Op, if set, limits the fault to requests of that operation (see
	// Call.Op).
	Op string
	// Service, if set, limits the fault to requests naming the service of
	// that key (as Service.Key returns it).
	Service ipvs.Key
	// Destination, if valid, limits the fault to changes naming the
	// destination at that address.
	Destination netip.AddrPort
	// Match, if set, limits the fault to the requests it returns true for,
	// among those the fields above let through. It is called with the
	// Fake locked: it must not call the Fake.
	Match func(Call) bool
	// Nth, if positive, makes the fault fire once, on the Nth request it
	// matches (1 is the first), and let the others through. Zero fires on
	// every request it matches.
	Nth int
	// Errno is the error the kernel returns; zero means EIO.
	Errno syscall.Errno
}

// fault is an injected Fault and how many requests it has matched.
type fault struct {
	Fault
	seen int
}

// Inject adds ft to the Fake's faults, after those already there, and
// returns a function that removes it (calling it again does nothing).
func (f *Fake) Inject(ft Fault) (remove func()) {
	p := &fault{Fault: ft}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, p)
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.faults = slices.DeleteFunc(f.faults, func(q *fault) bool { return q == p })
	}
}

// fault returns the error of the first fault that fires on c, or nil (with
// mu held).
func (f *Fake) fault(c Call) error {
	for _, p := range f.faults {
		if !p.matches(c) {
			continue
		}
		p.seen++
		if p.Nth > 0 && p.seen != p.Nth {
			continue
		}
		errno := p.Errno
		if errno == 0 {
			errno = syscall.EIO
		}
		return &ipvs.Error{Op: c.Op, Service: c.Service.Key(), Destination: c.Destination.Addr, Err: errno}
	}
	return nil
}

func (p *fault) matches(c Call) bool {
	switch {
	case p.Op != "" && p.Op != c.Op:
		return false
	case p.Service != (ipvs.Key{}) && (c.Service == (ipvs.Service{}) || c.Service.Key() != p.Service):
		return false
	case p.Destination.IsValid() && (!c.Destination.Addr.IsValid() || !sameAddr(c.Destination.Addr, p.Destination)):
		return false
	}
	return p.Match == nil || p.Match(c)
}

// Counts are what a Fake was asked to do, for a test to assert on.
type Counts struct {
	// Calls counts the calls of each method of ipvs.API, by name
	// ("Apply", "CreateService", "Table", "StartSyncDaemon", ...),
	// whatever their outcome. A method calls no other: ModifyService
	// counts as ModifyService alone.
	Calls map[string]int
	// Changes counts the changes applied, by command (ipvs.CreateService for
	// a create of a service ... ipvs.DeleteDestination for a delete of a
	// destination), whether by a method of their own or in a batch.
	Changes map[ipvs.Command]int
	// Refused counts the changes that reached the kernel and failed, by
	// the kernel's refusal or an injected fault (invalid input never
	// reaches it).
	Refused int
}

// Applied is the number of changes applied, of every command.
func (c Counts) Applied() int {
	n := 0
	for _, v := range c.Changes {
		n += v
	}
	return n
}

// Counts returns what the Fake was asked to do since New: a copy, which
// later calls do not change.
func (f *Fake) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Counts{Calls: maps.Clone(f.counts.Calls), Changes: maps.Clone(f.counts.Changes), Refused: f.counts.Refused}
}
