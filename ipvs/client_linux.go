package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// client is the Linux implementation over a generic-netlink socket. Every
// request, a query or a batch of changes, goes through exchange, which
// reads and matches the replies itself; only sending and reading one
// datagram go through the transport, which the tests' fake kernels
// replace, so that they drive the same path as the kernel.
type client struct {
	mu     sync.Mutex // serialises exchanges on t
	t      transport
	family uint16
	// netns is the client's own duplicate of Config.NetNS (0 for the
	// caller's namespace), for what IPVS shows only under /proc/net.
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
	seq        uint32
	closeNetns sync.Once
	// requests, writes and reads are Counters.
	requests, writes, reads atomic.Uint64
	// one and oneResult are the batch and result of a single change (under mu).
	one       Batch
	oneResult [1]error
}

// transport sends requests and reads replies, one datagram at a time.
type transport interface {
	// send sends b, one or more complete netlink messages, in one system
	// call.
	send(b []byte) error
	// recv reads one datagram into buf, waiting until the deadline.
	recv(buf []byte) (int, error)
	setDeadline(t time.Time) error
	// drain discards whatever is queued, without waiting.
	drain(buf []byte)
	close() error
}

// recvBufferSize is the buffer one datagram is read into: larger than any
// datagram the kernel sends.
const recvBufferSize = 256 << 10

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
	if !cfg.SkipFeatureChecks {
		cl.kernel, _ = kernel.Running() // unknown: the release rule accepts every feature
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
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, &Error{Op: "dial", Err: err}
	}
	return &client{t: newSocket(c, rc), family: f.ID}, nil
}

func (c *client) close() error {
	// Once: a second Close must not close a descriptor reused since. (No
	// lock: Close interrupts a call blocked on the socket.)
	c.closeNetns.Do(func() {
		if c.netns != 0 {
			unix.Close(c.netns)
		}
	})
	return c.t.close()
}

// socket is the kernel's transport: requests are written and replies
// read straight on netlink.Conn's file descriptor, one system call per
// datagram with no peek and no allocation (what netlink.Conn's own send
// and receive cost more: see BENCHMARKS.md). The descriptor is
// non-blocking; a call that would block waits in the runtime's poller
// until the deadline.
type socket struct {
	c  *netlink.Conn
	rc syscall.RawConn
	// The functions rc runs, made once (a closure per call would be an
	// allocation per datagram), and their arguments and results.
	readFn, writeFn func(fd uintptr) bool
	buf             []byte
	n               int
	errno           unix.Errno
}

func newSocket(c *netlink.Conn, rc syscall.RawConn) *socket {
	s := &socket{c: c, rc: rc}
	s.readFn = func(fd uintptr) bool {
		// recvfrom without a source address; MSG_TRUNC returns the
		// datagram's real length, so a truncation is seen. It never
		// blocks and only copies a queued datagram out (or has the kernel
		// fill the next part of a dump), so it runs without telling the
		// scheduler, which costs more than the copy.
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)),
			unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // wait (until the deadline) for the socket to be readable
		}
		s.n, s.errno = int(n), e
		return true
	}
	s.writeFn = func(fd uintptr) bool {
		// A netlink socket's write goes to the kernel.
		n, _, e := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)))
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // wait until writable
		}
		s.n, s.errno = int(n), e
		return true
	}
	return s
}

func (s *socket) send(b []byte) error {
	s.buf = b
	err := s.rc.Write(s.writeFn)
	s.buf = nil
	switch {
	case err != nil:
		return err
	case s.errno != 0:
		return os.NewSyscallError("write", s.errno)
	case s.n != len(b):
		return fmt.Errorf("netlink write of %d bytes sent %d", len(b), s.n)
	}
	return nil
}

func (s *socket) setDeadline(t time.Time) error { return s.c.SetDeadline(t) }
func (s *socket) close() error                  { return s.c.Close() }

func (s *socket) recv(buf []byte) (int, error) {
	s.buf = buf
	err := s.rc.Read(s.readFn)
	s.buf = nil
	switch {
	case err != nil:
		return 0, err
	case s.errno != 0:
		return 0, os.NewSyscallError("recvfrom", s.errno)
	case s.n > len(buf):
		return 0, fmt.Errorf("netlink datagram of %d bytes truncated to %d", s.n, len(buf))
	}
	return s.n, nil
}

// drain reads without waiting until nothing is left. A dump the kernel was
// still sending is sent to its end while this reads (the kernel adds the
// next part on each read), so a new dump is not refused with EBUSY.
func (s *socket) drain(buf []byte) {
	s.rc.Read(func(fd uintptr) bool {
		for {
			if _, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT); err != nil {
				return true
			}
		}
	})
}

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
// partial table is never passed off as complete.
func (c *client) query(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags,
	encode func(*attrWriter), begin func(), each func([]byte) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queryLocked(ctx, op, c.family, cmd, flags, encode, begin, each)
}

// queryLocked is query to any generic-netlink family (with mu held).
func (c *client) queryLocked(ctx context.Context, op string, family uint16, cmd uint8, flags netlink.HeaderFlags,
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
		err := c.exchange(req, first, 1, dump,
			func(_ int, f netlink.HeaderFlags, data []byte) {
				intr = intr || f&netlink.DumpInterrupted != 0
				if eachErr == nil {
					eachErr = each(data)
				}
			},
			func(_ int, err error) { status = err })
		if err != nil && dump && errors.Is(err, unix.ENOBUFS) && try < maxDumpRetries {
			continue // messages were lost: what is left is discarded, start over
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &Error{Op: op, Err: err}
		}
		if status != nil {
			return &Error{Op: op, Err: status}
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
func (c *client) exchange(b []byte, first uint32, count int, dump bool,
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
		for b := c.buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("malformed netlink message of length %d in %d bytes", l, len(b))
			}
			typ := binary.NativeEndian.Uint16(b[4:6])
			flags := netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:8]))
			seq := binary.NativeEndian.Uint32(b[8:12])
			payload := b[unix.NLMSG_HDRLEN:l]
			b = b[min((l+3)&^3, len(b)):]
			i := int(seq - first)
			if i < 0 || i >= count || finished[i] {
				continue // a reply to an earlier exchange
			}
			switch typ {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				finished[i] = true
				pending--
				done(i, errnoOf(payload))
			case family:
				if len(payload) < 4 {
					return fmt.Errorf("short generic-netlink message of %d bytes", len(payload))
				}
				reply(i, flags, payload[4:])
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

// Batches are cut into chunks small enough that one sendmsg fits the
// socket's send buffer and the acknowledgements, which the kernel queues
// while it processes the whole sendmsg, fit the receive buffer (each ack
// costs about 1 KiB of it; the default buffer is 208 KiB, doubled by the
// kernel when set).
const (
	batchMaxMessages = 128
	batchMaxBytes    = 96 << 10
)

// ErrUnacknowledged is matched by the result of a change that was sent but
// never acknowledged, because the socket failed or the context ended: it
// may or may not have been applied.
var ErrUnacknowledged = errors.New("ipvs: change sent, not acknowledged")

// send checks the batch and sends it in chunks, returning one result per
// change.
func (c *client) send(ctx context.Context, batch *Batch) ([]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(ctx, batch); err != nil {
		return nil, err
	}
	return c.sendLocked(ctx, batch, make([]error, batch.Len()))
}

// do applies one change through the batch path, with the client's own
// batch of one.
func (c *client) do(ctx context.Context, ch change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.one.Reset()
	c.one.add(ch)
	if err := c.checkLocked(ctx, &c.one); err != nil {
		return changeError(err)
	}
	results, err := c.sendLocked(ctx, &c.one, c.oneResult[:])
	if err != nil {
		return err
	}
	return results[0]
}

// checkLocked validates the batch and, if a change uses a feature newer
// than the oldest kernels, checks the kernel has it (with mu held): the
// first time, the kernel is asked (probeLocked).
func (c *client) checkLocked(ctx context.Context, batch *Batch) error {
	if err := batch.check(nil); err != nil || !batch.usesFeatures() {
		return err
	}
	if c.facts == nil {
		facts, err := c.probeLocked(ctx)
		if err != nil {
			return err
		}
		c.facts = facts
	}
	return batch.check(c.facts)
}

// probeLocked asks the generic-netlink controller for the IPVS family's
// policy (CTRL_CMD_GETPOLICY, a dump, on the client's own socket) and
// learns from it which attributes of the feature table the kernel parses.
// A kernel without the command (before 5.7: EOPNOTSUPP; EINVAL, ENODATA)
// leaves every feature to the release rule, as does a policy that
// describes a nest's attribute without its nested policy; other errors
// (ctx ended, the socket failed) are returned and the next change asks
// again.
func (c *client) probeLocked(ctx context.Context) (*kernelFacts, error) {
	var p policyDump
	// Every policy of the family, not one command's (CTRL_ATTR_OP is
	// 5.10+, and refused by the 5.7 to 5.9 kernels that have the dump).
	err := c.queryLocked(ctx, "read kernel policy", genlIDCtrl, ctrlCmdGetPolicy, netlink.Dump,
		func(ae *attrWriter) { ae.Uint16(ctrlAttrFamilyID, c.family) },
		func() { p = policyDump{} },
		p.add)
	var errno syscall.Errno
	switch {
	case err == nil:
		return p.facts(c.kernel), nil
	case errors.As(err, &errno) && (errno == unix.EOPNOTSUPP || errno == unix.EINVAL || errno == unix.ENODATA):
		return &kernelFacts{release: c.kernel, noPolicy: fmt.Sprintf("the kernel answers no IPVS policy: %v", errno)}, nil
	}
	return nil, err
}

// sendLocked sends batch (with mu held) and fills results, one per change.
func (c *client) sendLocked(ctx context.Context, batch *Batch, results []error) ([]error, error) {
	n := batch.Len()
	clear(results)
	op := "apply batch"
	if n == 1 {
		op = batch.op(0)
	}
	stop, err := c.watch(ctx)
	if err != nil {
		return nil, &Error{Op: op, Err: err} // nothing was sent
	}
	defer stop()
	var ackedBuf [batchMaxMessages]bool
	from := 0 // where the chunk's requests start
	for start := 0; start < n; {
		first := c.seq + 1
		end := start
		for off := from; end < n && end-start < batchMaxMessages && off-from < batchMaxBytes; end++ {
			c.seq++
			stamp(batch.requests.b[off:], c.family, c.seq)
			off = int(batch.entries[end].end)
		}
		to := int(batch.entries[end-1].end)
		acked := ackedBuf[:end-start]
		clear(acked)
		err := c.exchange(batch.requests.b[from:to], first, end-start, false, func(int, netlink.HeaderFlags, []byte) {}, func(i int, err error) {
			acked[i] = true
			if err != nil {
				results[start+i] = batch.kernelError(start+i, err)
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			for i := start; i < n; i++ {
				if i >= end || !acked[i-start] {
					results[i] = &Error{Op: batch.op(i), Err: ErrUnacknowledged}
				}
			}
			return results, &Error{Op: op, Err: err}
		}
		start, from = end, to
	}
	return results, nil
}

// execute sends one query and returns the attributes of each reply
// (copies, safe to keep).
func (c *client) execute(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, encode func(*attrWriter)) ([][]byte, error) {
	var out [][]byte
	err := c.query(ctx, op, cmd, flags, encode, func() { out = out[:0] }, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	return out, err
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
	err := c.query(ctx, "list services", cmdGetService, netlink.Dump, nil,
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
	msgs, err := c.execute(ctx, "get service", cmdGetService, 0, func(ae *attrWriter) {
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
	err := c.query(ctx, "list destinations", cmdGetDest, netlink.Dump,
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
