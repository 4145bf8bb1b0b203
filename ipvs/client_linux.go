package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// client is the Linux implementation over a generic-netlink socket.
type client struct {
	mu     sync.Mutex // serialises request/response exchanges on c
	c      *genetlink.Conn
	family uint16
	// netns is the client's own duplicate of Config.NetNS (0 for the
	// caller's namespace), for what IPVS shows only under /proc/net.
	netns int
}

func newClient(cfg *Config) (*client, error) {
	c, err := genetlink.Dial(&netlink.Config{NetNS: cfg.NetNS})
	if err != nil {
		return nil, &Error{Op: "dial", Err: err}
	}
	cl, err := newClientConn(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	if cfg.NetNS != 0 {
		fd, err := unix.FcntlInt(uintptr(cfg.NetNS), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			c.Close()
			return nil, &Error{Op: "dial", Err: err}
		}
		cl.netns = fd
	}
	return cl, nil
}

// newClientConn builds a client on an open connection, resolving the IPVS
// family; primarily useful for tests with genltest.
func newClientConn(c *genetlink.Conn) (*client, error) {
	f, err := c.GetFamily(familyName)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Op: "dial", Err: ErrNotAvailable}
		}
		return nil, &Error{Op: "dial", Err: err}
	}
	return &client{c: c, family: f.ID}, nil
}

func (c *client) close() error {
	if c.netns != 0 {
		unix.Close(c.netns)
	}
	return c.c.Close()
}

// maxDumpRetries bounds how often a dump interrupted by concurrent changes
// (NLM_F_DUMP_INTR) is started over before the error is returned.
const maxDumpRetries = 10

// errDumpInterrupted is returned when a dump kept being interrupted.
var errDumpInterrupted = errors.New("dump interrupted by concurrent changes too often")

// execute sends one command and returns the attributes of each reply. For a
// dump it receives every part, and starts over if the kernel flags the dump
// as interrupted, so a partial table is never returned as complete.
func (c *client) execute(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, encode func(*netlink.AttributeEncoder)) ([][]byte, error) {
	var data []byte
	if encode != nil {
		ae := netlink.NewAttributeEncoder()
		encode(ae)
		b, err := ae.Encode()
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		data = b
	}
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: familyVersion}, Data: data}
	flags |= netlink.Request

	c.mu.Lock()
	defer c.mu.Unlock()
	stop, err := c.watch(ctx)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	defer stop()
	for try := 0; ; try++ {
		out, intr, err := c.exchange(msg, flags)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, &Error{Op: op, Err: err}
		}
		if !intr {
			return out, nil
		}
		if try == maxDumpRetries {
			return nil, &Error{Op: op, Err: errDumpInterrupted}
		}
	}
}

// exchange does one request/response with c.mu held.
func (c *client) exchange(msg genetlink.Message, flags netlink.HeaderFlags) ([][]byte, bool, error) {
	req, err := c.c.Send(msg, c.family, flags)
	if err != nil {
		return nil, false, err
	}
	gmsgs, nmsgs, err := c.c.Receive()
	if err != nil {
		return nil, false, err
	}
	if err := netlink.Validate(req, nmsgs); err != nil {
		return nil, false, err
	}
	intr := false
	for _, m := range nmsgs {
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			intr = true
		}
	}
	out := make([][]byte, 0, len(gmsgs))
	for _, m := range gmsgs {
		out = append(out, m.Data)
	}
	return out, intr, nil
}

// watch applies ctx's deadline to the socket and interrupts a blocked
// receive when ctx is cancelled. The returned func undoes both.
func (c *client) watch(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() == nil { // never cancelled, no deadline: nothing to watch
		return func() {}, nil
	}
	d, _ := ctx.Deadline()
	if err := c.c.SetDeadline(d); err != nil {
		return nil, err
	}
	stopAfter := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stopAfter()
		c.c.SetDeadline(time.Time{})
	}, nil
}

// nested returns the payload of the top-level attribute typ in a reply.
func nested(b []byte, typ uint16) ([]byte, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, err
	}
	var out []byte
	for ad.Next() {
		if ad.Type() == typ {
			out = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("reply lacks attribute %d", typ)
	}
	return out, nil
}

func (c *client) info(ctx context.Context) (Info, error) {
	msgs, err := c.execute(ctx, "info", cmdGetInfo, 0, nil)
	if err != nil {
		return Info{}, err
	}
	var in Info
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m)
		if err != nil {
			return Info{}, &Error{Op: "info", Err: err}
		}
		for ad.Next() {
			switch ad.Type() {
			case infoAttrVersion:
				in.Version = Version(ad.Uint32())
			case infoAttrConnTabSize:
				in.ConnTableSize = ad.Uint32()
			}
		}
		if err := ad.Err(); err != nil {
			return Info{}, &Error{Op: "info", Err: err}
		}
	}
	return in, nil
}

func (c *client) services(ctx context.Context) ([]Service, error) {
	msgs, err := c.execute(ctx, "list services", cmdGetService, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(msgs))
	for _, m := range msgs {
		b, err := nested(m, cmdAttrService)
		if err != nil {
			return nil, &Error{Op: "list services", Err: err}
		}
		s, err := parseService(b)
		if err != nil {
			return nil, &Error{Op: "list services", Err: err}
		}
		out = append(out, s)
	}
	return out, nil
}

func (c *client) service(ctx context.Context, svc Service) (Service, error) {
	if err := svc.validateKey(); err != nil {
		return Service{}, err
	}
	msgs, err := c.execute(ctx, "get service", cmdGetService, 0, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
	})
	if err != nil {
		return Service{}, err
	}
	if len(msgs) != 1 {
		return Service{}, &Error{Op: "get service", Err: fmt.Errorf("%d replies, want 1", len(msgs))}
	}
	b, err := nested(msgs[0], cmdAttrService)
	if err != nil {
		return Service{}, &Error{Op: "get service", Err: err}
	}
	s, err := parseService(b)
	if err != nil {
		return Service{}, &Error{Op: "get service", Err: err}
	}
	return s, nil
}

func (c *client) setService(ctx context.Context, cmd uint8, op string, svc Service) error {
	if err := svc.validate(); err != nil {
		return err
	}
	_, err := c.execute(ctx, op, cmd, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encode(nae); return nil })
	})
	return err
}

func (c *client) deleteService(ctx context.Context, svc Service) error {
	if err := svc.validateKey(); err != nil {
		return err
	}
	_, err := c.execute(ctx, "delete service", cmdDelService, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
	})
	return err
}

func (c *client) destinations(ctx context.Context, svc Service) ([]Destination, error) {
	if err := svc.validateKey(); err != nil {
		return nil, err
	}
	msgs, err := c.execute(ctx, "list destinations", cmdGetDest, netlink.Dump, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
	})
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		// The kernel dumps nothing, rather than failing, for a missing
		// service: tell the two apart.
		if _, err := c.service(ctx, svc); err != nil {
			if e, ok := err.(*Error); ok {
				e.Op = "list destinations"
			}
			return nil, err
		}
	}
	out := make([]Destination, 0, len(msgs))
	for _, m := range msgs {
		b, err := nested(m, cmdAttrDest)
		if err != nil {
			return nil, &Error{Op: "list destinations", Err: err}
		}
		d, err := parseDest(b, svc.AddressFamily())
		if err != nil {
			return nil, &Error{Op: "list destinations", Err: err}
		}
		out = append(out, d)
	}
	return out, nil
}

func (c *client) setDestination(ctx context.Context, cmd uint8, op string, svc Service, d Destination) error {
	if err := svc.validateKey(); err != nil {
		return err
	}
	if err := d.validate(svc); err != nil {
		return err
	}
	_, err := c.execute(ctx, op, cmd, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
		ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error { d.encode(nae, true); return nil })
	})
	return err
}

func (c *client) deleteDestination(ctx context.Context, svc Service, d Destination) error {
	if err := svc.validateKey(); err != nil {
		return err
	}
	if !d.Addr.Addr().IsValid() {
		return invalid("Destination.Addr", "no address")
	}
	_, err := c.execute(ctx, "delete destination", cmdDelDest, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
		ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error { d.encode(nae, false); return nil })
	})
	return err
}

func (c *client) flush(ctx context.Context) error {
	_, err := c.execute(ctx, "flush", cmdFlush, netlink.Acknowledge, nil)
	return err
}

func (c *client) zero(ctx context.Context, svc *Service) error {
	if svc == nil {
		_, err := c.execute(ctx, "zero", cmdZero, netlink.Acknowledge, nil)
		return err
	}
	if err := svc.validateKey(); err != nil {
		return err
	}
	_, err := c.execute(ctx, "zero service", cmdZero, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
	})
	return err
}

func (c *client) timeouts(ctx context.Context) (Timeouts, error) {
	msgs, err := c.execute(ctx, "get timeouts", cmdGetConfig, 0, nil)
	if err != nil {
		return Timeouts{}, err
	}
	var t Timeouts
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m)
		if err != nil {
			return Timeouts{}, &Error{Op: "get timeouts", Err: err}
		}
		for ad.Next() {
			v := time.Duration(ad.Uint32()) * time.Second
			switch ad.Type() {
			case cmdAttrTimeoutTCP:
				t.TCP = v
			case cmdAttrTimeoutFin:
				t.TCPFin = v
			case cmdAttrTimeoutUDP:
				t.UDP = v
			}
		}
		if err := ad.Err(); err != nil {
			return Timeouts{}, &Error{Op: "get timeouts", Err: err}
		}
	}
	return t, nil
}

func (c *client) setTimeouts(ctx context.Context, t Timeouts) error {
	_, err := c.execute(ctx, "set timeouts", cmdSetConfig, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		for _, a := range []struct {
			typ uint16
			v   time.Duration
		}{{cmdAttrTimeoutTCP, t.TCP}, {cmdAttrTimeoutFin, t.TCPFin}, {cmdAttrTimeoutUDP, t.UDP}} {
			if a.v > 0 {
				ae.Uint32(a.typ, uint32(a.v/time.Second))
			}
		}
	})
	return err
}
