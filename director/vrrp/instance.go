package vrrp

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Conn sends and receives VRRP messages (the IP payload) on one
// interface; Listen opens the real one, a test may hand in its own.
type Conn interface {
	// Send sends b to dst (the multicast group or a unicast peer) from
	// Source, with TTL / hop limit 255.
	Send(b []byte, dst netip.Addr) error
	// Receive blocks for the next VRRP message and reports its IP
	// source, destination and TTL (-1 if unknown). It fails once Close is
	// called.
	Receive(b []byte) (n int, h Header, err error)
	// Source is the address adverts are sent from.
	Source() netip.Addr
	Close() error
}

// Header is what the IP layer says of a received message.
type Header struct {
	Src, Dst netip.Addr
	TTL      int
}

// Announcer tells the link that an address moved here: gratuitous ARP
// for IPv4, an unsolicited neighbour advertisement for IPv6.
type Announcer interface {
	Announce(addr netip.Addr) error
}

// Addrs adds and removes the virtual addresses; the director's Links
// has these methods.
type Addrs interface {
	// AddAddr adds p to the link; one it has already is an error
	// matching fs.ErrExist (and is not an error here).
	AddAddr(ctx context.Context, link string, p netip.Prefix) error
	// DelAddr removes p from the link; one it lacks is not an error.
	DelAddr(ctx context.Context, link string, p netip.Prefix) error
}

// Event is a state change (or an error while acting on one), for notify
// hooks and logs.
type Event struct {
	Instance string
	From, To State
	Time     time.Time
	// Priority is the effective priority at the time.
	Priority uint8
	// Err is set for an error while adding or removing addresses,
	// announcing or sending; the state machine goes on.
	Err error
}

// Options are an instance's sides. Conn, Addrs are required.
type Options struct {
	Conn      Conn
	Addrs     Addrs
	Announcer Announcer // nil: no GARP / NA
	// Events, if set, is called for each Event from the instance's
	// goroutine; it must not block for long.
	Events func(Event)
}

// Stats are an instance's counters.
type Stats struct {
	State State
	// Priority is the effective priority.
	Priority     uint8
	AdvertsSent  uint64
	AdvertsRecvd uint64
	// PriorityZeroSent and PriorityZeroRecvd count priority-0 adverts.
	PriorityZeroSent  uint64
	PriorityZeroRecvd uint64
	// Invalid counts refused packets by reason.
	Invalid map[Reason]uint64
	// OtherVRID counts adverts for other virtual routers (ignored).
	OtherVRID   uint64
	Transitions uint64
	// Announcements counts GARPs / NAs sent.
	Announcements uint64
	// LastMasterChange is when this instance last became or stopped
	// being master.
	LastMasterChange time.Time
	// Master is the last master seen (this instance's source if it is).
	Master netip.Addr
}

// Instance is a running VRRP instance.
type Instance struct {
	cfg  Config
	opts Options
	ctl  chan func(now time.Time) []action
	done chan struct{}
	// m is touched only by Run's goroutine.
	m *machine

	mu    sync.Mutex
	stats Stats
	group *Group
	ran   atomic.Bool
}

// New checks cfg and returns an instance to Run.
func New(cfg Config, opts Options) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Conn == nil || opts.Addrs == nil {
		return nil, invalidf("%s: Options need a Conn and Addrs", cfg.Name)
	}
	cfg = cfg.withDefaults()
	if !cfg.Source.IsValid() {
		cfg.Source = opts.Conn.Source()
	}
	for _, p := range cfg.Peers {
		if p == cfg.Source {
			return nil, invalidf("%s: unicast peer %s is the source address", cfg.Name, p)
		}
	}
	return &Instance{cfg: cfg, opts: opts, ctl: make(chan func(time.Time) []action, 16), done: make(chan struct{}),
		m: newMachine(cfg, cfg.Source), stats: Stats{Invalid: map[Reason]uint64{}, Priority: cfg.Priority}}, nil
}

// Stats returns a copy of the counters.
func (in *Instance) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.stats
	s.Invalid = make(map[Reason]uint64, len(in.stats.Invalid))
	for k, v := range in.stats.Invalid {
		s.Invalid[k] = v
	}
	return s
}

// State returns the current state.
func (in *Instance) State() State { return in.Stats().State }

// SetFault puts the instance in Fault (true) or takes it out (false), as
// keepalived's track_interface and track_script do.
func (in *Instance) SetFault(fault bool) {
	in.post(func(m *machine, now time.Time) []action { return m.setFault(now, fault) })
}

// SetPriority changes the effective priority (1-255; 0 restores the
// configured one).
func (in *Instance) SetPriority(p uint8) {
	in.post(func(m *machine, now time.Time) []action { return m.setPriority(now, p) })
}

func (in *Instance) force(s State) {
	in.post(func(m *machine, now time.Time) []action { return m.force(now, s) })
}

// post queues f for the run loop without blocking the caller on a
// full queue; after Run has returned it is dropped.
func (in *Instance) post(f func(*machine, time.Time) []action) {
	g := func(now time.Time) []action { return f(in.m, now) }
	select {
	case in.ctl <- g:
	default:
		go func() {
			select {
			case in.ctl <- g:
			case <-in.done:
			}
		}()
	}
}
