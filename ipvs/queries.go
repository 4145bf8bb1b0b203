package ipvs

import (
	"context"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
)

// The client's queries: each a request (a dump, or a single reply) and the
// decoding of its replies.

// execute sends one query and returns the attributes of each reply
// (copies, safe to keep).
func (c *client) execute(ctx context.Context, op string, subj subject, cmd uint8, flags netlink.HeaderFlags, encode func(*attrWriter)) ([][]byte, error) {
	var out [][]byte
	err := c.query(ctx, op, subj, cmd, flags, encode, func() { out = out[:0] }, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	return out, err
}

func (c *client) info(ctx context.Context) (Info, error) {
	msgs, err := c.execute(ctx, "info", subject{}, cmdGetInfo, 0, nil)
	if err != nil {
		return Info{}, err
	}
	var in Info
	for _, m := range msgs {
		ad := newAttrReader(m)
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
	var out []Service
	err := c.eachService(ctx, func() { out = out[:0] }, func(s Service) { out = append(out, s) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Service{}
	}
	return out, nil
}

// eachService dumps the services, calling each with every one; begin is
// called first, and again if the dump starts over.
func (c *client) eachService(ctx context.Context, begin func(), each func(Service)) error {
	return c.query(ctx, "list services", subject{}, cmdGetService, netlink.Dump, nil, begin,
		func(m []byte) error {
			b, err := nested(m, cmdAttrService)
			if err != nil {
				return err
			}
			s, err := parseService(b)
			if err != nil {
				return err
			}
			each(s)
			return nil
		})
}

func (c *client) service(ctx context.Context, svc Service) (Service, error) {
	if err := svc.validateKey(); err != nil {
		return Service{}, err
	}
	msgs, err := c.execute(ctx, "get service", subject{svc: svc.Key()}, cmdGetService, 0, func(ae *attrWriter) {
		ae.Nested(cmdAttrService, func(nae *attrWriter) error { svc.encodeKey(nae); return nil })
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

func (c *client) destinations(ctx context.Context, svc Service) ([]Destination, error) {
	out, err := c.appendDestinations(ctx, svc, nil)
	if err == nil && out == nil {
		out = []Destination{}
	}
	return out, err
}

// appendDestinations appends svc's destinations to out.
func (c *client) appendDestinations(ctx context.Context, svc Service, out []Destination) ([]Destination, error) {
	if err := svc.validateKey(); err != nil {
		return nil, err
	}
	from := len(out)
	err := c.query(ctx, "list destinations", subject{svc: svc.Key()}, cmdGetDest, netlink.Dump,
		func(ae *attrWriter) {
			ae.Nested(cmdAttrService, func(nae *attrWriter) error { svc.encodeKey(nae); return nil })
		},
		func() { out = out[:from] },
		func(m []byte) error {
			b, err := nested(m, cmdAttrDest)
			if err != nil {
				return err
			}
			d, err := parseDest(b, svc.AddressFamily())
			if err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if len(out) == from {
		// The kernel dumps nothing, rather than failing, for a missing
		// service: tell the two apart.
		if _, err := c.service(ctx, svc); err != nil {
			if e, ok := err.(*Error); ok {
				e.Op = "list destinations"
			}
			return nil, err
		}
	}
	return out, nil
}

func (c *client) timeouts(ctx context.Context) (Timeouts, error) {
	msgs, err := c.execute(ctx, "get timeouts", subject{}, cmdGetConfig, 0, nil)
	if err != nil {
		return Timeouts{}, err
	}
	var t Timeouts
	for _, m := range msgs {
		ad := newAttrReader(m)
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

func (c *client) daemons(ctx context.Context) ([]SyncDaemon, error) {
	msgs, err := c.execute(ctx, "list sync daemons", subject{}, cmdGetDaemon, netlink.Dump, nil)
	if err != nil {
		return nil, err
	}
	var out []SyncDaemon
	for _, m := range msgs {
		b, err := nested(m, cmdAttrDaemon)
		if err != nil {
			return nil, &Error{Op: "list sync daemons", Err: err}
		}
		d, err := parseDaemon(b)
		if err != nil {
			return nil, &Error{Op: "list sync daemons", Err: err}
		}
		out = append(out, d)
	}
	return out, nil
}
