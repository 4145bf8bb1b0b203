package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/mdlayher/netlink"
)

// client is the implementation behind Client, the same on every system:
// every request, a query or a batch of changes, is framed, numbered, sent
// and matched with its replies here (exchange). Only the socket is
// system-specific: a transport sends requests and reads datagrams
// (client_linux.go opens it; on other systems opening it fails), and the
// tests' fake kernels stand in for it, so that they drive the same path as
// the kernel.
type client struct {
	mu     sync.Mutex // serialises exchanges on t
	t      transport
	family uint16
	// netns is the client's own handle on Config.NetNS (0 for the
	// caller's namespace), for what IPVS shows only under /proc/net; the
	// transport owns it and closes it.
	netns int
	// kernel is the running kernel's release, for refusing features it
	// predates where its policy says nothing of them; zero (unknown)
	// accepts them.
	kernel kernel.Version
	// facts is what the kernel has of the feature table (under mu): nil
	// until the first change that uses a feature asks (probeLocked).
	facts *kernelFacts
	// dirty is set (under mu) when an exchange ended before its last reply
	// was read: what is left of it is discarded before the next one.
	dirty bool
	// buf is reused (under mu) to read datagrams, w to encode requests.
	buf []byte
	w   attrWriter
	// seq is the sequence number of the last request sent (under mu).
	seq uint32
	// requests, writes and reads are Counters.
	requests, writes, reads atomic.Uint64
	// one and oneResult are the batch and result of a single change (under mu).
	one       Batch
	oneResult [1]error
}

// transport is a generic-netlink socket: it sends requests and reads
// replies, one datagram at a time. A client uses one from one goroutine
// at a time (under its mu), except close, which may come at any time.
type transport interface {
	// send sends b, one or more complete netlink messages, in one system
	// call.
	send(b []byte) error
	// recv reads one datagram into buf, waiting until the deadline.
	recv(buf []byte) (int, error)
	setDeadline(t time.Time) error
	// drain discards whatever is queued, without waiting.
	drain(buf []byte)
	// close closes the socket and the namespace handle dial returned
	// with it; closing again does nothing.
	close() error
}

// recvBufferSize is the buffer one datagram is read into: larger than any
// datagram the kernel sends.
const recvBufferSize = 256 << 10

// Netlink message types and the generic-netlink controller's family
// lookup (linux/netlink.h, linux/genetlink.h).
const (
	nlmsgError         = 0x2 // NLMSG_ERROR
	nlmsgDone          = 0x3 // NLMSG_DONE
	ctrlCmdGetFamily   = 3   // CTRL_CMD_GETFAMILY
	ctrlAttrFamilyName = 2   // CTRL_ATTR_FAMILY_NAME
	genlHeaderLen      = 4   // struct genlmsghdr
)

func newClient(cfg *Config) (*client, error) {
	t, netns, err := dial(cfg.NetNS)
	if err != nil {
		return nil, &Error{Op: "dial", Err: err}
	}
	c, err := openClient(t)
	if err != nil {
		t.close()
		return nil, err
	}
	c.netns = netns
	if !cfg.SkipFeatureChecks {
		c.kernel, _ = kernel.Running() // unknown: the release rule accepts every feature
	}
	return c, nil
}

// openClient makes a client on an open transport: it asks the
// generic-netlink controller for the IPVS family (a kernel without it
// gives ErrNotAvailable). The lookup is not counted in Counters.
func openClient(t transport) (*client, error) {
	c := &client{t: t}
	var id uint16
	c.mu.Lock()
	err := c.queryLocked(context.Background(), "dial", subject{}, genlIDCtrl, ctrlCmdGetFamily, 0,
		func(ae *attrWriter) { ae.String(ctrlAttrFamilyName, familyName) },
		func() { id = 0 },
		func(b []byte) error {
			ad := newAttrReader(b)
			for ad.Next() {
				if ad.Type() == ctrlAttrFamilyID {
					id = ad.Uint16()
				}
			}
			return ad.Err()
		})
	c.mu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Error{Op: "dial", Err: ErrNotAvailable}
	case err != nil:
		return nil, err
	case id == 0:
		return nil, &Error{Op: "dial", Err: fmt.Errorf("the controller's answer for family %s has no id", familyName)}
	}
	c.family = id
	c.requests.Store(0)
	c.writes.Store(0)
	c.reads.Store(0)
	return c, nil
}

// close closes the transport. (No lock: Close interrupts a call blocked
// on the socket.)
func (c *client) close() error { return c.t.close() }

func (c *client) counters() Counters {
	return Counters{Requests: c.requests.Load(), Writes: c.writes.Load(), Reads: c.reads.Load()}
}

// maxDumpRetries bounds how often a dump interrupted by concurrent changes
// (NLM_F_DUMP_INTR) or by lost messages (ENOBUFS) is started over before the
// error is returned.
const maxDumpRetries = 10

// errDumpInterrupted is returned when a dump kept being interrupted.
var errDumpInterrupted = errors.New("dump interrupted by concurrent changes too often")

// frame encodes one request to family into the client's buffer, numbered
// with its next sequence number (under mu).
func (c *client) frame(family uint16, cmd uint8, flags netlink.HeaderFlags, encode func(*attrWriter)) []byte {
	c.w.b = c.w.b[:0]
	appendRequest(&c.w, cmd, uint16(flags), encode)
	c.seq++
	stamp(c.w.b, family, c.seq)
	return c.w.b
}

// query sends one request and calls each with the attributes of every
// reply (valid only during the call). A dump (flags with netlink.Dump) is
// read to its end, and started over (calling begin first, each time) if the
// kernel flags it as interrupted or the socket lost messages, so that a
// partial table is never passed off as complete. The kernel's refusal is
// an *Error of op about subj.
func (c *client) query(ctx context.Context, op string, subj subject, cmd uint8, flags netlink.HeaderFlags,
	encode func(*attrWriter), begin func(), each func([]byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queryLocked(ctx, op, subj, c.family, cmd, flags, encode, begin, each)
}

// queryLocked is query to any generic-netlink family (with mu held).
func (c *client) queryLocked(ctx context.Context, op string, subj subject, family uint16, cmd uint8, flags netlink.HeaderFlags,
	encode func(*attrWriter), begin func(), each func([]byte) error) error {
	dump := flags&netlink.Dump != 0
	req := c.frame(family, cmd, flags, encode)
	first := c.seq
	stop, err := c.watch(ctx)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	defer stop()
	for try := 0; ; try++ {
		begin()
		var status, eachErr error
		intr := false
		err := c.exchange(req, first, 1, dump, false,
			func(_ int, f netlink.HeaderFlags, data []byte) {
				intr = intr || f&netlink.DumpInterrupted != 0
				if eachErr == nil {
					eachErr = each(data)
				}
			},
			func(_ int, err error) { status = err })
		if err != nil && dump && errors.Is(err, syscall.ENOBUFS) && try < maxDumpRetries {
			continue // messages were lost: what is left is discarded, start over
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &Error{Op: op, Err: err}
		}
		if status != nil {
			return subj.err(op, status)
		}
		if eachErr != nil {
			return &Error{Op: op, Err: eachErr}
		}
		if !intr {
			return nil
		}
		if try == maxDumpRetries {
			return &Error{Op: op, Err: errDumpInterrupted}
		}
	}
}

// exchange sends the count requests in b, numbered from first, in one sendmsg
// and reads until each has its last
// reply (with c.mu held): reply gets every message of the requests' family
// (the IPVS family's, or the controller's for the policy probe; the index of its
// request, its header flags and its payload after the generic-netlink
// header, valid during the call); done gets each request's status once: nil
// for an acknowledgement, a single reply or the end of a dump, else the
// kernel's errno. With dump, msgs is one dump request, ended by
// NLMSG_DONE. Replies left by an earlier exchange that ended early (a
// cancelled context) are discarded first, and any reply whose sequence
// number is not one of msgs' is skipped, so an abandoned call never
// confuses a later one.
//
// With lastAck, only the last request asks for an acknowledgement
// (NLM_F_ACK): the kernel answers the others only if they fail, with an
// NLMSG_ERROR, and it processes a sendmsg's requests in order, so the last
// one's acknowledgement (an error or not) ends the exchange, and every
// earlier request without an error reply by then succeeded.
func (c *client) exchange(b []byte, first uint32, count int, dump, lastAck bool,
	reply func(i int, flags netlink.HeaderFlags, data []byte), done func(i int, err error)) error {
	if c.buf == nil {
		c.buf = make([]byte, recvBufferSize)
	}
	if c.dirty {
		c.t.drain(c.buf)
	}
	// The replies are of the requests' family.
	family := binary.NativeEndian.Uint16(b[4:6])
	c.dirty = true // until every reply is read
	if err := c.t.send(b); err != nil {
		return err
	}
	c.writes.Add(1)
	c.requests.Add(uint64(count))
	var finishedBuf [batchMaxMessages]bool
	finished := finishedBuf[:]
	if count > len(finished) {
		finished = make([]bool, count)
	}
	pending := count
	for pending > 0 {
		n, err := c.t.recv(c.buf)
		if err != nil {
			return err
		}
		c.reads.Add(1)
		for b := c.buf[:n]; len(b) >= nlmsgHeaderLen; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < nlmsgHeaderLen || l > len(b) {
				return fmt.Errorf("malformed netlink message of length %d in %d bytes", l, len(b))
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			flags := netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:8]))
			seq := binary.NativeEndian.Uint32(b[8:12])
			payload := b[nlmsgHeaderLen:l]
			b = b[min((l+3)&^3, len(b)):]
			i := int(seq - first)
			if i < 0 || i >= count || finished[i] {
				continue // a reply to an earlier exchange
			}
			switch typ {
			case nlmsgError, nlmsgDone:
				if lastAck && i == count-1 {
					for j := range i { // no error reply: applied
						if !finished[j] {
							finished[j] = true
							pending--
							done(j, nil)
						}
					}
				}
				finished[i] = true
				pending--
				done(i, errnoOf(payload))
			case family:
				if len(payload) < genlHeaderLen {
					return fmt.Errorf("short generic-netlink message of %d bytes", len(payload))
				}
				reply(i, flags, payload[genlHeaderLen:])
				if !dump && flags&netlink.Multi == 0 {
					finished[i] = true // a single reply
					pending--
					done(i, nil)
				}
			}
		}
	}
	c.dirty = false
	return nil
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
	if err := c.t.setDeadline(d); err != nil {
		return nil, err
	}
	// The interrupt may fire while the call ends: the lock and flag make
	// sure a late one never sets a past deadline after the reset, where it
	// would fail the next call.
	var mu sync.Mutex
	stopped := false
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			c.t.setDeadline(time.Unix(1, 0))
		}
	})
	return func() {
		stopAfter()
		mu.Lock()
		stopped = true
		mu.Unlock()
		c.t.setDeadline(time.Time{})
	}, nil
}
