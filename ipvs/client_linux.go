package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// client is the Linux implementation over a generic-netlink socket.
type client struct {
	mu     sync.Mutex // serialises request/response exchanges on c
	c      *netlink.Conn
	family uint16
	// netns is the client's own duplicate of Config.NetNS (0 for the
	// caller's namespace), for what IPVS shows only under /proc/net.
	netns int
	// kernel is the running kernel's release, for refusing features it
	// predates; zero (unknown) disables the checks.
	kernel kernelVersion
	// recvBuf is reused (under mu) to read replies and acknowledgements.
	recvBuf []byte
}

func newClient(cfg *Config) (*client, error) {
	c, err := netlink.Dial(unix.NETLINK_GENERIC, &netlink.Config{NetNS: cfg.NetNS})
	if err != nil {
		return nil, &Error{Op: "dial", Err: err}
	}
	cl, err := newClientConn(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		cl.kernel = parseRelease(unix.ByteSliceToString(uts.Release[:]))
	}
	if cl.netns, err = netnsx.Dup(cfg.NetNS); err != nil {
		c.Close()
		return nil, &Error{Op: "dial", Err: err}
	}
	return cl, nil
}

// newClientConn builds a client on an open generic-netlink connection,
// resolving the IPVS family; primarily useful for tests with nltest.
func newClientConn(c *netlink.Conn) (*client, error) {
	// Error acknowledgements need not echo the request back.
	_ = c.SetOption(netlink.CapAcknowledge, true)
	// Room for a batch's acknowledgements; the kernel caps it at rmem_max.
	_ = c.SetReadBuffer(1 << 20)
	f, err := genetlink.NewConn(c).GetFamily(familyName)
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

// execute sends one command and returns the attributes of each reply
// (copies, safe to keep). See executeEach.
func (c *client) execute(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, encode func(*netlink.AttributeEncoder)) ([][]byte, error) {
	var out [][]byte
	err := c.executeEach(ctx, op, cmd, flags, encode, func() { out = out[:0] }, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	return out, err
}

// executeEach sends one command and calls each with the attributes of every
// reply, which are valid only during the call. For a dump it receives every
// part, and starts over (calling begin first, each time) if the kernel flags
// the dump as interrupted or the socket lost messages, so a partial table is
// never passed off as complete.
func (c *client) executeEach(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags,
	encode func(*netlink.AttributeEncoder), begin func(), each func([]byte) error) error {
	var data []byte
	if encode != nil {
		ae := netlink.NewAttributeEncoder()
		encode(ae)
		b, err := ae.Encode()
		if err != nil {
			return &Error{Op: op, Err: err}
		}
		data = b
	}
	msg := c.message(cmd, flags, data)

	c.mu.Lock()
	defer c.mu.Unlock()
	stop, err := c.watch(ctx)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	defer stop()
	for try := 0; ; try++ {
		begin()
		intr, err := c.exchange(msg, each)
		if err != nil && flags&netlink.Dump != 0 && errors.Is(err, unix.ENOBUFS) && try < maxDumpRetries {
			// The socket's buffer overflowed and messages were lost:
			// throw away what is left of this dump and start over.
			c.drain()
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &Error{Op: op, Err: err}
		}
		if !intr {
			return nil
		}
		if try == maxDumpRetries {
			return &Error{Op: op, Err: errDumpInterrupted}
		}
	}
}

// message packs an IPVS command with its encoded attributes.
func (c *client) message(cmd uint8, flags netlink.HeaderFlags, attrs []byte) netlink.Message {
	b := make([]byte, 4, 4+len(attrs)) // struct genlmsghdr: cmd, version, reserved
	b[0], b[1] = cmd, familyVersion
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(c.family), Flags: flags | netlink.Request},
		Data:   append(b, attrs...),
	}
}

// drain discards whatever is queued on the socket (with c.mu held).
func (c *client) drain() {
	rc, err := c.c.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 64<<10)
	rc.Read(func(fd uintptr) bool {
		for {
			if _, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT); err != nil {
				return true
			}
		}
	})
}

// exchange does one request/response with c.mu held, calling each with
// the attributes of every IPVS reply, and reports whether the kernel
// flagged the dump as interrupted.
func (c *client) exchange(msg netlink.Message, each func([]byte) error) (bool, error) {
	req, err := c.c.Send(msg)
	if err != nil {
		return false, err
	}
	if rc, err := c.c.SyscallConn(); err == nil {
		return c.readReplies(rc, req.Header.Sequence, each)
	}
	msgs, err := c.c.Receive()
	if err != nil {
		return false, err
	}
	if err := netlink.Validate(req, msgs); err != nil {
		return false, err
	}
	intr := false
	for _, m := range msgs {
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			intr = true
		}
		if m.Header.Type != netlink.HeaderType(c.family) {
			continue // an acknowledgement
		}
		if len(m.Data) < 4 {
			return false, fmt.Errorf("short generic-netlink message of %d bytes", len(m.Data))
		}
		if err := each(m.Data[4:]); err != nil {
			return false, err
		}
	}
	return intr, nil
}

// readReplies reads the replies to request seq up to the dump's end, the
// acknowledgement or the single reply, calling each with the attributes of
// every IPVS message. An error from each is returned after the replies are
// read to their end, so that none is left for the next request.
func (c *client) readReplies(rc syscall.RawConn, seq uint32, each func([]byte) error) (intr bool, err error) {
	var eachErr error
	err = c.recvMessages(rc, func(typ uint16, flags netlink.HeaderFlags, s uint32, payload []byte) (bool, error) {
		if s != seq {
			return true, fmt.Errorf("netlink reply for sequence %d, want %d", s, seq)
		}
		if flags&netlink.DumpInterrupted != 0 {
			intr = true
		}
		switch {
		case typ == unix.NLMSG_DONE || typ == unix.NLMSG_ERROR:
			return true, errnoOf(payload)
		case typ == c.family:
			if len(payload) < 4 {
				return true, fmt.Errorf("short generic-netlink message of %d bytes", len(payload))
			}
			if eachErr == nil {
				eachErr = each(payload[4:])
			}
			return flags&netlink.Multi == 0, nil // a single reply ends here
		}
		return false, nil
	})
	if err != nil {
		return intr, err
	}
	return intr, eachErr
}

// errnoOf reads the error code that starts an NLMSG_ERROR or NLMSG_DONE
// payload; nil for 0 (an acknowledgement, or the end of a dump).
func errnoOf(payload []byte) error {
	if len(payload) >= 4 {
		if code := int32(binary.NativeEndian.Uint32(payload)); code != 0 {
			return syscall.Errno(-code)
		}
	}
	return nil
}

// recvMessages reads netlink messages straight from the socket into one
// reused buffer, one system call per datagram with no peek and no
// allocation per message, and calls fn with each message's header fields
// and payload (valid during the call) until fn reports done or an error.
// The deadline set on the connection applies.
func (c *client) recvMessages(rc syscall.RawConn, fn func(typ uint16, flags netlink.HeaderFlags, seq uint32, payload []byte) (done bool, err error)) error {
	if c.recvBuf == nil {
		c.recvBuf = make([]byte, 256<<10)
	}
	buf := c.recvBuf
	var ferr error
	done := false
	for !done && ferr == nil {
		err := rc.Read(func(fd uintptr) bool {
			for !done && ferr == nil {
				n, _, e := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
				if e == unix.EAGAIN || e == unix.EWOULDBLOCK {
					return false // wait for more
				}
				if e != nil {
					ferr = e
					return true
				}
				if n > len(buf) {
					ferr = fmt.Errorf("netlink message of %d bytes truncated to %d", n, len(buf))
					return true
				}
				for b := buf[:n]; len(b) >= 16 && !done && ferr == nil; {
					l := int(binary.NativeEndian.Uint32(b[0:4]))
					if l < 16 || l > len(b) {
						ferr = fmt.Errorf("malformed netlink message of length %d", l)
						return true
					}
					done, ferr = fn(binary.NativeEndian.Uint16(b[4:6]), netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:8])),
						binary.NativeEndian.Uint32(b[8:12]), b[16:l])
					b = b[min((l+3)&^3, len(b)):]
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return ferr
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
	ad := newAttrReader(b)
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
	err := c.executeEach(ctx, "list services", cmdGetService, netlink.Dump, nil,
		func() { out = out[:0] },
		func(m []byte) error {
			b, err := nested(m, cmdAttrService)
			if err != nil {
				return err
			}
			s, err := parseService(b)
			if err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Service{}
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
	if err := c.kernel.unsupported(svc.features()...); err != nil {
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
	var out []Destination
	err := c.executeEach(ctx, "list destinations", cmdGetDest, netlink.Dump,
		func(ae *netlink.AttributeEncoder) {
			ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error { svc.encodeKey(nae); return nil })
		},
		func() { out = out[:0] },
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
	if len(out) == 0 {
		// The kernel dumps nothing, rather than failing, for a missing
		// service: tell the two apart.
		if _, err := c.service(ctx, svc); err != nil {
			if e, ok := err.(*Error); ok {
				e.Op = "list destinations"
			}
			return nil, err
		}
	}
	if out == nil {
		out = []Destination{}
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
	if err := c.kernel.unsupported(d.features()...); err != nil {
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

// Batches are cut into chunks small enough that one sendmsg fits the
// socket's send buffer and the acknowledgements, which the kernel queues
// while it processes the whole sendmsg, fit the receive buffer (each ack
// costs about 1 KiB of it; the default buffer is 208 KiB, doubled by the
// kernel when set).
const (
	batchMaxMessages = 128
	batchMaxBytes    = 96 << 10
)

// encodeChange encodes one change's attributes.
func encodeChange(ch change) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(nae *netlink.AttributeEncoder) error {
		if ch.cmd == cmdNewService || ch.cmd == cmdSetService {
			ch.svc.encode(nae)
		} else {
			ch.svc.encodeKey(nae)
		}
		return nil
	})
	switch ch.cmd {
	case cmdNewDest, cmdSetDest, cmdDelDest:
		ae.Nested(cmdAttrDest, func(nae *netlink.AttributeEncoder) error {
			ch.dest.encode(nae, ch.cmd != cmdDelDest)
			return nil
		})
	}
	return ae.Encode()
}

func (c *client) apply(ctx context.Context, changes []change) ([]error, error) {
	for i, ch := range changes {
		if err := c.kernel.unsupported(append(ch.svc.features(), ch.dest.features()...)...); err != nil && ch.cmd != cmdDelService && ch.cmd != cmdDelDest {
			return nil, &BatchError{Index: i, Err: err}
		}
	}
	results := make([]error, len(changes))
	c.mu.Lock()
	defer c.mu.Unlock()
	stop, err := c.watch(ctx)
	if err != nil {
		return results, &Error{Op: "apply batch", Err: err}
	}
	defer stop()
	msgs := make([]netlink.Message, 0, batchMaxMessages)
	for start := 0; start < len(changes); {
		msgs, size := msgs[:0], 0
		end := start
		for end < len(changes) && len(msgs) < batchMaxMessages && size < batchMaxBytes {
			data, err := encodeChange(changes[end])
			if err != nil {
				return results, &Error{Op: changes[end].op, Err: err}
			}
			m := c.message(changes[end].cmd, netlink.Acknowledge, data)
			msgs = append(msgs, m)
			size += 16 + len(m.Data)
			end++
		}
		if err := c.sendChunk(msgs, changes[start:end], results[start:end]); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return results, &Error{Op: "apply batch", Err: err}
		}
		start = end
	}
	return results, nil
}

// sendChunk sends msgs in one sendmsg and collects one acknowledgement per
// message, matched by sequence number, into results.
func (c *client) sendChunk(msgs []netlink.Message, changes []change, results []error) error {
	sent, err := c.c.SendMessages(msgs)
	if err != nil {
		return err
	}
	index := make(map[uint32]int, len(sent))
	for i, m := range sent {
		index[m.Header.Sequence] = i
	}
	ack := func(seq uint32, err error) error {
		i, ok := index[seq]
		if !ok {
			return fmt.Errorf("acknowledgement for unknown sequence %d", seq)
		}
		delete(index, seq)
		if err != nil {
			results[i] = &Error{Op: changes[i].op, Err: err}
		}
		return nil
	}
	if rc, err := c.c.SyscallConn(); err == nil {
		return c.readAcks(rc, len(sent), ack)
	}
	for acked := 0; acked < len(sent); {
		replies, err := c.c.Receive()
		var oerr *netlink.OpError
		switch {
		case errors.As(err, &oerr) && oerr.Sequence != 0:
			if err := ack(oerr.Sequence, err); err != nil {
				return err
			}
			acked++
			continue
		case err != nil:
			return err
		}
		for _, r := range replies {
			if err := ack(r.Header.Sequence, nil); err != nil {
				return err
			}
			acked++
		}
	}
	return nil
}

// readAcks reads n acknowledgements, calling ack with each one's sequence
// number and error (nil for success).
func (c *client) readAcks(rc syscall.RawConn, n int, ack func(seq uint32, err error) error) error {
	acked := 0
	return c.recvMessages(rc, func(typ uint16, _ netlink.HeaderFlags, seq uint32, payload []byte) (bool, error) {
		if typ != unix.NLMSG_ERROR || len(payload) < 4 {
			return true, fmt.Errorf("unexpected netlink message type %d while reading acknowledgements", typ)
		}
		if err := ack(seq, errnoOf(payload)); err != nil {
			return true, err
		}
		acked++
		return acked == n, nil
	})
}

func (c *client) daemons(ctx context.Context) ([]SyncDaemon, error) {
	msgs, err := c.execute(ctx, "list sync daemons", cmdGetDaemon, netlink.Dump, nil)
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

func (c *client) startDaemon(ctx context.Context, d SyncDaemon) error {
	if err := c.kernel.unsupported(d.features()...); err != nil {
		return err
	}
	_, err := c.execute(ctx, "start sync daemon", cmdNewDaemon, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error { d.encode(nae); return nil })
	})
	return err
}

func (c *client) stopDaemon(ctx context.Context, state SyncState) error {
	_, err := c.execute(ctx, "stop sync daemon", cmdDelDaemon, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		ae.Nested(cmdAttrDaemon, func(nae *netlink.AttributeEncoder) error {
			nae.Uint32(daemonAttrState, uint32(state))
			return nil
		})
	})
	return err
}
