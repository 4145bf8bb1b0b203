package ipvs

import (
	"context"
	"net/netip"
	"syscall"
)

// Config configures a Client. The zero value (or a nil *Config) means the
// caller's network namespace.
type Config struct {
	// NetNS is an open file descriptor of the network namespace to manage
	// (for example from os.Open("/run/netns/NAME") or netns.Get). The
	// client's socket is opened in it; the caller's thread never changes
	// namespace. Zero means the namespace of the calling thread.
	NetNS int
	// SkipFeatureChecks sends the attributes of features newer than the
	// oldest kernels (GUE and GRE tunnels, tunnel checksums, sync-daemon
	// parameters) whatever the kernel's release says, where its policy
	// does not tell (see "Kernel features" in the package documentation):
	// for a distribution kernel that has them backported. A kernel without
	// one ignores its attributes silently (an IPIP tunnel instead of GUE),
	// so read the destinations back once to be sure.
	SkipFeatureChecks bool
}

// Client talks to the kernel's IPVS in one network namespace. It is safe for
// concurrent use; requests are serialised on its socket.
type Client struct {
	c *client
}

// New opens a client. If the kernel has no IPVS, the error matches
// ErrNotAvailable.
func New(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Counters are what a Client has sent and read since it was made, for
// metrics and for seeing that a batch took as few system calls as it
// should.
type Counters struct {
	Requests uint64 // netlink requests sent: one per change or query (a dump started over counts again)
	Writes   uint64 // system calls that sent them
	Reads    uint64 // datagrams read: acknowledgements (a batch: one per Write, and one per failed change), replies and dump parts
}

// Counters returns the client's counters; safe to call at any time,
// also while other calls run.
func (c *Client) Counters() Counters { return c.c.counters() }

// Close closes the client's socket.
func (c *Client) Close() error { return c.c.close() }

// Info reports the kernel's IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) { return c.c.info(ctx) }

// Services lists every service with its stats.
func (c *Client) Services(ctx context.Context) ([]Service, error) { return c.c.services(ctx) }

// AppendServices appends every service, as Services lists them, to dst
// and returns the extended slice; on an error it returns dst. A program
// listing the services again and again reuses one slice.
func (c *Client) AppendServices(ctx context.Context, dst []Service) ([]Service, error) {
	out := dst
	err := c.c.eachService(ctx, func() { out = out[:len(dst)] }, func(s Service) { out = append(out, s) })
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Service reads one service, identified by svc's key fields (Protocol and
// Addr, or FirewallMark and Family). A missing service gives an error
// matching fs.ErrNotExist.
func (c *Client) Service(ctx context.Context, svc Service) (Service, error) {
	return c.c.service(ctx, svc)
}

// CreateService adds svc (ipvsadm -A). An existing service with the same key
// gives an error matching fs.ErrExist.
func (c *Client) CreateService(ctx context.Context, svc Service) error {
	return c.do(ctx, change{cmd: cmdNewService, svc: svc})
}

// UpdateService replaces the settings of an existing service (ipvsadm -E).
// It is a full replace: every field is written, so a zero Scheduler resets
// it to wlc and a zero Timeout removes persistence, exactly as ipvsadm -E
// without -s or -p does. To change some settings and keep the others, use
// ModifyService.
func (c *Client) UpdateService(ctx context.Context, svc Service) error {
	return c.do(ctx, change{cmd: cmdSetService, svc: svc})
}

// ModifyService reads the service identified by svc's key, lets fn change
// it, and writes it back (ipvsadm -E with every current setting), so that
// fields fn leaves alone keep their values. fn must not change the key
// (Protocol, Addr, FirewallMark, Family): that is an error matching
// ErrInvalid, and nothing is written. An error from fn is returned as it is,
// and nothing is written. A missing service gives an error matching
// fs.ErrNotExist. The read and the write are two requests: a concurrent
// writer's change in between is overwritten.
func (c *Client) ModifyService(ctx context.Context, svc Service, fn func(*Service) error) error {
	cur, err := c.Service(ctx, svc)
	if err != nil {
		return err
	}
	next := cur
	if err := fn(&next); err != nil {
		return err
	}
	if next.Key() != cur.Key() {
		return invalid("Service", "ModifyService cannot change the key %v into %v", cur.Key(), next.Key())
	}
	return c.UpdateService(ctx, next)
}

// DeleteService removes a service and its destinations (ipvsadm -D). A
// missing service gives an error matching fs.ErrNotExist.
func (c *Client) DeleteService(ctx context.Context, svc Service) error {
	return c.do(ctx, change{cmd: cmdDelService, svc: svc})
}

// Destinations lists the destinations of a service, with connection counts
// and stats. A missing service gives an error matching fs.ErrNotExist.
func (c *Client) Destinations(ctx context.Context, svc Service) ([]Destination, error) {
	return c.c.destinations(ctx, svc)
}

// AppendDestinations appends the destinations of a service to dst, as
// Destinations lists them, and returns the extended slice; on an error it
// returns dst. A program reading many services' destinations (a whole
// table, again and again) reuses one slice and allocates nothing for them.
func (c *Client) AppendDestinations(ctx context.Context, svc Service, dst []Destination) ([]Destination, error) {
	out, err := c.c.appendDestinations(ctx, svc, dst)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Destination reads the destination addr of svc. A missing service or
// destination gives an error matching fs.ErrNotExist. (The kernel has no
// request for one destination: this lists the service's.)
func (c *Client) Destination(ctx context.Context, svc Service, addr netip.AddrPort) (Destination, error) {
	ds, err := c.Destinations(ctx, svc)
	if err != nil {
		return Destination{}, err
	}
	for _, d := range ds {
		if sameAddr(d.Addr, addr) {
			return d, nil
		}
	}
	return Destination{}, &Error{Op: "get destination", Service: svc.Key(), Destination: addr, Err: syscall.ENOENT}
}

// sameAddr compares real-server addresses with an IPv4-mapped IPv6 address
// equal to its IPv4 form: a lookup by the mapped form finds the IPv4
// destination (a change naming it is refused: see "IPv4-mapped addresses"
// in the package documentation).
func sameAddr(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// CreateDestination adds d to svc (ipvsadm -a). The kernel refuses
// (EINVAL) an address it has no route to. Mind the zero values: Weight 0
// quiesces the destination and the zero Forward is Masquerade (see
// Destination).
func (c *Client) CreateDestination(ctx context.Context, svc Service, d Destination) error {
	return c.do(ctx, change{cmd: cmdNewDest, svc: svc, dest: d})
}

// UpdateDestination replaces the settings of d on svc (ipvsadm -e). It is a
// full replace: a zero Forward makes the destination masqueraded and a
// zero Weight quiesces it, whatever they were. To change some settings and
// keep the others, use ModifyDestination.
func (c *Client) UpdateDestination(ctx context.Context, svc Service, d Destination) error {
	return c.do(ctx, change{cmd: cmdSetDest, svc: svc, dest: d})
}

// ModifyDestination reads the destination addr of svc, lets fn change it,
// and writes it back with every setting fn left alone unchanged: the way to
// set a weight without touching the forwarding method or thresholds. fn
// must not change Addr (an error matching ErrInvalid; nothing is written);
// an error from fn is returned as it is and nothing is written. A missing
// service or destination gives an error matching fs.ErrNotExist. The read
// and the write are two requests: a concurrent writer's change in between
// is overwritten.
func (c *Client) ModifyDestination(ctx context.Context, svc Service, addr netip.AddrPort, fn func(*Destination) error) error {
	cur, err := c.Destination(ctx, svc, addr)
	if err != nil {
		return err
	}
	next := cur
	if err := fn(&next); err != nil {
		return err
	}
	if !sameAddr(next.Addr, cur.Addr) {
		return invalid("Destination.Addr", "ModifyDestination cannot change the address %v into %v", cur.Addr, next.Addr)
	}
	return c.UpdateDestination(ctx, svc, next)
}

// DeleteDestination removes d (matched by Addr) from svc (ipvsadm -d).
func (c *Client) DeleteDestination(ctx context.Context, svc Service, d Destination) error {
	return c.do(ctx, change{cmd: cmdDelDest, svc: svc, dest: d})
}

// Flush removes every service (ipvsadm -C).
func (c *Client) Flush(ctx context.Context) error { return c.do(ctx, change{cmd: cmdFlush}) }

// ZeroAll resets the counters of every service and destination (ipvsadm -Z).
func (c *Client) ZeroAll(ctx context.Context) error {
	return c.do(ctx, change{cmd: cmdZero, all: true})
}

// ZeroService resets the counters of one service and its destinations.
func (c *Client) ZeroService(ctx context.Context, svc Service) error {
	return c.do(ctx, change{cmd: cmdZero, svc: svc})
}

// Timeouts reads the TCP, TCP FIN and UDP connection timeouts
// (ipvsadm -L --timeout).
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) { return c.c.timeouts(ctx) }

// SetTimeouts sets the connection timeouts (ipvsadm --set); zero fields are
// left unchanged.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	return c.do(ctx, change{cmd: cmdSetConfig, timeouts: t})
}
