package ipvs

import (
	"context"
	"time"
)

// Config configures a Client. The zero value (or a nil *Config) means the
// caller's network namespace.
type Config struct {
	// NetNS is an open file descriptor of the network namespace to manage
	// (for example from os.Open("/run/netns/NAME") or netns.Get). The
	// client's socket is opened in it; the caller's thread never changes
	// namespace. Zero means the namespace of the calling thread.
	NetNS int
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

// Close closes the client's socket.
func (c *Client) Close() error { return c.c.close() }

// Info reports the kernel's IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) { return c.c.info(ctx) }

// Services lists every service with its stats.
func (c *Client) Services(ctx context.Context) ([]Service, error) { return c.c.services(ctx) }

// Service reads one service, identified by svc's key fields (Protocol and
// Addr, or FirewallMark and Family). A missing service gives an error
// matching fs.ErrNotExist.
func (c *Client) Service(ctx context.Context, svc Service) (Service, error) {
	return c.c.service(ctx, svc)
}

// CreateService adds svc (ipvsadm -A). An existing service with the same key
// gives an error matching fs.ErrExist.
func (c *Client) CreateService(ctx context.Context, svc Service) error {
	return c.c.setService(ctx, cmdNewService, "create service", svc)
}

// UpdateService replaces the settings of an existing service (ipvsadm -E):
// every field is written, so a zero Scheduler resets it to wlc and a zero
// Timeout removes persistence, exactly as ipvsadm -E without -s or -p does.
func (c *Client) UpdateService(ctx context.Context, svc Service) error {
	return c.c.setService(ctx, cmdSetService, "update service", svc)
}

// DeleteService removes a service and its destinations (ipvsadm -D). A
// missing service gives an error matching fs.ErrNotExist.
func (c *Client) DeleteService(ctx context.Context, svc Service) error {
	return c.c.deleteService(ctx, svc)
}

// Destinations lists the destinations of a service, with connection counts
// and stats.
func (c *Client) Destinations(ctx context.Context, svc Service) ([]Destination, error) {
	return c.c.destinations(ctx, svc)
}

// CreateDestination adds d to svc (ipvsadm -a). The kernel refuses
// (EINVAL) an address it has no route to.
func (c *Client) CreateDestination(ctx context.Context, svc Service, d Destination) error {
	return c.c.setDestination(ctx, cmdNewDest, "create destination", svc, d)
}

// UpdateDestination replaces the settings of d on svc (ipvsadm -e).
func (c *Client) UpdateDestination(ctx context.Context, svc Service, d Destination) error {
	return c.c.setDestination(ctx, cmdSetDest, "update destination", svc, d)
}

// DeleteDestination removes d (matched by Addr) from svc (ipvsadm -d).
func (c *Client) DeleteDestination(ctx context.Context, svc Service, d Destination) error {
	return c.c.deleteDestination(ctx, svc, d)
}

// Flush removes every service (ipvsadm -C).
func (c *Client) Flush(ctx context.Context) error { return c.c.flush(ctx) }

// ZeroAll resets the counters of every service and destination (ipvsadm -Z).
func (c *Client) ZeroAll(ctx context.Context) error { return c.c.zero(ctx, nil) }

// ZeroService resets the counters of one service and its destinations.
func (c *Client) ZeroService(ctx context.Context, svc Service) error { return c.c.zero(ctx, &svc) }

// Timeouts reads the TCP, TCP FIN and UDP connection timeouts
// (ipvsadm -L --timeout).
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) { return c.c.timeouts(ctx) }

// SetTimeouts sets the connection timeouts (ipvsadm --set); zero fields are
// left unchanged.
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"TCP", t.TCP}, {"TCPFin", t.TCPFin}, {"UDP", t.UDP}} {
		if d.v < 0 || d.v%time.Second != 0 || d.v > (1<<31-1)*time.Second {
			return invalid("Timeouts."+d.name, "%v is not a whole number of seconds in range", d.v)
		}
	}
	return c.c.setTimeouts(ctx, t)
}
