package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// TestFamilyMissing: without the IPVS family (the controller answers
// ENOENT), opening a client fails with an error that says to load ip_vs
// and matches ErrNotAvailable and fs.ErrNotExist.
func TestFamilyMissing(t *testing.T) {
	var asked []string
	tr := &fakeTransport{fn: func(reqs []netlink.Message) ([]netlink.Message, error) {
		for _, req := range reqs {
			asked = append(asked, fmt.Sprintf("type %#x cmd %d % x", uint16(req.Header.Type), req.Data[0], req.Data[4:]))
		}
		return []netlink.Message{ack(reqs[0], syscall.ENOENT)}, nil
	}}
	_, err := openClient(tr)
	if !errors.Is(err, ErrNotAvailable) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotAvailable", err)
	}
	if want := "ipvs: dial: ipvs: the kernel has no IPVS generic-netlink family (load the ip_vs module: modprobe ip_vs)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// CTRL_CMD_GETFAMILY to the controller, CTRL_ATTR_FAMILY_NAME "IPVS\0".
	if want := []string{"type 0x10 cmd 3 09 00 02 00 49 50 56 53 00 00 00 00"}; !slices.Equal(asked, want) {
		t.Errorf("requests %q, want %q", asked, want)
	}
}

// TestFamilyFound: the controller's answer names the family's id, which
// every later request carries; the lookup is not counted.
func TestFamilyFound(t *testing.T) {
	var types []uint16
	tr := &fakeTransport{fn: func(reqs []netlink.Message) ([]netlink.Message, error) {
		req := reqs[0]
		types = append(types, uint16(req.Header.Type))
		if req.Header.Type == genlIDCtrl {
			w := newAttrWriter()
			w.String(ctrlAttrFamilyName, familyName)
			w.Uint16(ctrlAttrFamilyID, 0x2a)
			g, _ := (&genetlink.Message{Header: genetlink.Header{Command: 1, Version: 2}, Data: w.b}).MarshalBinary()
			return []netlink.Message{{Header: netlink.Header{Type: genlIDCtrl, Sequence: req.Header.Sequence}, Data: g}}, nil
		}
		return []netlink.Message{ack(req, 0)}, nil
	}}
	c, err := openClient(tr)
	if err != nil {
		t.Fatal(err)
	}
	if c.family != 0x2a || c.counters() != (Counters{}) {
		t.Fatalf("family %#x, counters %+v; want 0x2a and none counted", c.family, c.counters())
	}
	if err := (&Client{c: c}).Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []uint16{genlIDCtrl, 0x2a}; !slices.Equal(types, want) {
		t.Errorf("request types %#x, want %#x", types, want)
	}
}

// TestInvalidInputSendsNothing: validation errors come before any request.
func TestInvalidInputSendsNothing(t *testing.T) {
	sent := 0
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		sent++
		return nil, nil
	})}
	ctx := context.Background()
	bad := Service{Protocol: TCP}
	for name, err := range map[string]error{
		"create":             c.CreateService(ctx, bad),
		"update":             c.UpdateService(ctx, Service{Protocol: TCP, Addr: vip4test, Scheduler: "nope"}),
		"delete":             c.DeleteService(ctx, bad),
		"create destination": c.CreateDestination(ctx, Service{Protocol: TCP, Addr: vip4test}, Destination{Weight: -1}),
		"timeouts":           c.SetTimeouts(ctx, Timeouts{TCP: -1}),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests reached the kernel", sent)
	}
}

// fakeKernel is a client on a fake kernel that hands every IPVS request to
// fn (a failure of fn is what the socket reports when the client reads).
// The client's own receive path reads the replies, as from the kernel.
func fakeKernel(t *testing.T, fn func(req netlink.Message) ([]netlink.Message, error)) *client {
	return fakeBatchKernel(t, func(reqs []netlink.Message) ([]netlink.Message, error) {
		var out []netlink.Message
		for _, req := range reqs {
			msgs, err := fn(req)
			if err != nil {
				return out, err
			}
			out = append(out, msgs...)
		}
		return out, nil
	})
}

// fakeBatchKernel is fakeKernel for tests that answer a whole sendmsg at
// once.
func fakeBatchKernel(t *testing.T, fn func(reqs []netlink.Message) ([]netlink.Message, error)) *client {
	t.Helper()
	c := &client{t: &fakeTransport{fn: fn}, family: 30}
	t.Cleanup(func() { c.close() })
	return c
}

// fakeTransport answers each sendmsg with fn at once and queues the
// replies as the kernel would send them: an acknowledgement a datagram,
// other messages two to a datagram (so that replies span datagrams); an
// error from fn is returned by the read that reaches it. As the kernel, it
// sends an acknowledgement of success (an NLMSG_ERROR of 0) only for a
// request that asks for one (NLM_F_ACK); fn may answer every request.
type fakeTransport struct {
	fn    func(reqs []netlink.Message) ([]netlink.Message, error)
	queue []fakeDatagram
}

type fakeDatagram struct {
	b   []byte
	err error
}

func (f *fakeTransport) send(b []byte) error {
	out, err := splitMessages(b)
	if err != nil {
		return err
	}
	replies, err := f.fn(out)
	replies = kernelAcks(out, replies)
	var cur []byte
	inCur := 0
	flush := func() {
		if cur != nil {
			f.queue = append(f.queue, fakeDatagram{b: cur})
			cur, inCur = nil, 0
		}
	}
	for _, r := range replies {
		r.Header.Length = uint32(nlmsgHeaderLen + len(r.Data))
		b, merr := r.MarshalBinary()
		if merr != nil {
			return merr
		}
		if r.Header.Type == netlink.Error || inCur == 2 {
			flush()
		}
		cur = append(cur, b...)
		inCur++
		if r.Header.Type == netlink.Error {
			flush()
		}
	}
	flush()
	if err != nil {
		f.queue = append(f.queue, fakeDatagram{err: err})
	}
	return nil
}

// kernelAcks drops from replies every acknowledgement of success to a
// request of reqs that did not ask for one, as the kernel never sends it
// (netlink_rcv_skb acknowledges a request with NLM_F_ACK, or one that
// failed).
func kernelAcks(reqs, replies []netlink.Message) []netlink.Message {
	unasked := map[uint32]bool{}
	for _, r := range reqs {
		if r.Header.Flags&netlink.Acknowledge == 0 {
			unasked[r.Header.Sequence] = true
		}
	}
	return slices.DeleteFunc(replies, func(m netlink.Message) bool {
		return m.Header.Type == netlink.Error && unasked[m.Header.Sequence] &&
			len(m.Data) >= 4 && binary.NativeEndian.Uint32(m.Data) == 0
	})
}

// splitMessages reads the netlink messages a sendmsg carried.
func splitMessages(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) > 0 {
		if len(b) < nlmsgHeaderLen {
			return nil, fmt.Errorf("fake kernel: %d bytes left, less than a header", len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHeaderLen || l > len(b) {
			return nil, fmt.Errorf("fake kernel: message length %d in %d bytes", l, len(b))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:l]); err != nil {
			return nil, err
		}
		out = append(out, m)
		b = b[min(len(b), (l+3)&^3):]
	}
	return out, nil
}

func (f *fakeTransport) recv(buf []byte) (int, error) {
	if len(f.queue) == 0 {
		return 0, errors.New("fake kernel: no reply pending (the kernel would make the client wait)")
	}
	d := f.queue[0]
	f.queue = f.queue[1:]
	if d.err != nil {
		return 0, d.err
	}
	return copy(buf, d.b), nil
}

func (f *fakeTransport) drain([]byte)                { f.queue = nil }
func (f *fakeTransport) setDeadline(time.Time) error { return nil }
func (f *fakeTransport) close() error                { return nil }

// serviceReplies is a dump of n firewall-mark services answering req, the
// last part flagged interrupted if intr.
func serviceReplies(t *testing.T, req netlink.Message, n int, intr bool) []netlink.Message {
	var out []netlink.Message
	for i := 1; i <= n; i++ {
		ae := newAttrWriter()
		ae.Nested(cmdAttrService, func(nae *attrWriter) error {
			Service{FirewallMark: uint32(i)}.encode(nae)
			return nil
		})
		b, err := ae.Encode()
		if err != nil {
			t.Fatal(err)
		}
		g, _ := (&genetlink.Message{Header: genetlink.Header{Command: cmdNewService, Version: 1}, Data: b}).MarshalBinary()
		h := netlink.Header{Type: 30, Sequence: req.Header.Sequence, PID: req.Header.PID}
		if intr && i == n {
			h.Flags |= netlink.DumpInterrupted
		}
		out = append(out, netlink.Message{Header: h, Data: g})
	}
	out = append(out, netlink.Message{Header: netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}})
	msgs, err := nltest.Multipart(out)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestDumpInterruptedIsRetried: a dump the kernel flags NLM_F_DUMP_INTR is
// started over; one that never completes cleanly is an error, never a
// partial table.
func TestDumpInterruptedIsRetried(t *testing.T) {
	calls := 0
	c := fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		calls++
		// The first answer is interrupted (and short); the second is whole.
		if calls == 1 {
			return serviceReplies(t, req, 2, true), nil
		}
		return serviceReplies(t, req, 3, false), nil
	})
	svcs, err := c.services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 3 || calls != 2 {
		t.Errorf("got %d services after %d dumps, want 3 after 2", len(svcs), calls)
	}

	c = fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		return serviceReplies(t, req, 2, true), nil
	})
	if svcs, err := c.services(context.Background()); !errors.Is(err, errDumpInterrupted) || svcs != nil {
		t.Errorf("always interrupted: %v, %v; want errDumpInterrupted and no services", svcs, err)
	}
}

// TestDumpRetriedAfterENOBUFS: a dump that lost messages to a full socket
// buffer is started over, not returned short.
func TestDumpRetriedAfterENOBUFS(t *testing.T) {
	calls := 0
	c := fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		calls++
		if calls == 1 {
			return nil, syscall.ENOBUFS
		}
		return serviceReplies(t, req, 3, false), nil
	})
	svcs, err := c.services(context.Background())
	if err != nil || len(svcs) != 3 || calls != 2 {
		t.Errorf("got %d services, %v after %d dumps; want 3 after 2", len(svcs), err, calls)
	}
}

// ack is the kernel's acknowledgement of req: errno 0 for success.
func ack(req netlink.Message, errno syscall.Errno) netlink.Message {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(-int32(errno)))
	return netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: b}
}

// TestBatchResultsBySequence: each error reply goes to the change it
// answers by sequence number, and the last request's acknowledgement says
// the others succeeded. (The kernel answers a sendmsg's requests in order;
// acknowledgements of requests that did not ask for one are dropped, as
// the kernel never sends them.)
func TestBatchResultsBySequence(t *testing.T) {
	c := &Client{c: fakeBatchKernel(t, func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) != 3 {
			return []netlink.Message{ack(reqs[0], 0)}, nil
		}
		return []netlink.Message{ack(reqs[0], 0), ack(reqs[1], syscall.EEXIST), ack(reqs[2], 0)}, nil
	})}
	var b Batch
	for _, port := range []uint16{80, 81, 82} {
		b.CreateService(Service{Protocol: TCP, Addr: netip.AddrPortFrom(vip4test.Addr(), port)})
	}
	results, err := c.Apply(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 || results[0] != nil || !errors.Is(results[1], fs.ErrExist) || results[2] != nil {
		t.Fatalf("results %v, want [nil, exists, nil]", results)
	}
	if want := "ipvs: create service tcp 10.0.0.100:81: service already exists"; results[1].Error() != want {
		t.Errorf("error %q, want %q", results[1], want)
	}
	// The single-change path is the same: its error is the change's own.
	if err := c.CreateService(context.Background(), Service{Protocol: TCP, Addr: vip4test}); err != nil {
		t.Errorf("single change: %v", err)
	}
}

// TestLargeBatchIsChunked: a batch larger than one sendmsg's share goes
// out in chunks of at most batchMaxMessages requests, numbered in one
// ascending sequence, only each chunk's last request asks for an
// acknowledgement, and every reply (one per datagram, as the kernel sends
// them) reaches its change.
func TestLargeBatchIsChunked(t *testing.T) {
	const n = 3*batchMaxMessages + 5
	var sizes []int
	var seqs []uint32
	var acked []int // the requests asking for an acknowledgement
	c := &Client{c: fakeBatchKernel(t, func(reqs []netlink.Message) ([]netlink.Message, error) {
		sizes = append(sizes, len(reqs))
		var out []netlink.Message
		for _, r := range reqs {
			if r.Header.Flags&netlink.Acknowledge != 0 {
				acked = append(acked, len(seqs))
			}
			seqs = append(seqs, r.Header.Sequence)
			errno := syscall.Errno(0)
			if len(seqs) == n { // the last change fails
				errno = syscall.EEXIST
			}
			out = append(out, ack(r, errno))
		}
		return out, nil
	})}
	var b Batch
	for _, ts := range bigTable(n) {
		b.CreateService(ts.Service)
	}
	results, err := c.Apply(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{batchMaxMessages, batchMaxMessages, batchMaxMessages, 5}; !slices.Equal(sizes, want) {
		t.Errorf("sendmsg sizes %v, want %v", sizes, want)
	}
	if want := []int{batchMaxMessages - 1, 2*batchMaxMessages - 1, 3*batchMaxMessages - 1, n - 1}; !slices.Equal(acked, want) {
		t.Errorf("requests with NLM_F_ACK %v, want %v (each chunk's last)", acked, want)
	}
	// One read per chunk: its last request's answer.
	if got, want := c.Counters(), (Counters{Requests: n, Writes: 4, Reads: 4}); got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("sequence %d after %d", seqs[i], seqs[i-1])
		}
	}
	for i, r := range results {
		if (r != nil) != (i == n-1) {
			t.Errorf("change %d: %v", i, r)
		}
	}
}

// TestStaleRepliesAreSkipped: replies to a request of an earlier exchange
// (one whose caller gave up before reading them) never answer a later one.
func TestStaleRepliesAreSkipped(t *testing.T) {
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		stale := req
		stale.Header.Sequence--
		if req.Header.Flags&netlink.Dump != 0 {
			// A stale error, a stale dump's service, then the real dump.
			old := serviceReplies(t, stale, 1, false)[0]
			old.Header.Flags &^= netlink.Multi
			out := []netlink.Message{ack(stale, syscall.EPERM), old}
			return append(out, serviceReplies(t, req, 2, false)...), nil
		}
		return []netlink.Message{ack(stale, 0), ack(req, syscall.EEXIST)}, nil
	})}
	ctx := context.Background()
	if err := c.CreateService(ctx, Service{Protocol: TCP, Addr: vip4test}); !errors.Is(err, fs.ErrExist) {
		t.Errorf("create: %v, want the request's own acknowledgement (exists), not the stale success", err)
	}
	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != 2 {
		t.Errorf("services: %v, %v; want 2 and no error", svcs, err)
	}
}

// TestUnacknowledgedChanges: when the socket fails after sending, the
// changes without an acknowledgement say so, rather than looking applied.
func TestUnacknowledgedChanges(t *testing.T) {
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		return nil, syscall.EIO
	})}
	var b Batch
	b.CreateService(Service{Protocol: TCP, Addr: vip4test})
	b.DeleteService(Service{Protocol: TCP, Addr: vip4test})
	results, err := c.Apply(context.Background(), &b)
	if err == nil {
		t.Fatal("no error from a failing socket")
	}
	for i, r := range results {
		if !errors.Is(r, ErrUnacknowledged) {
			t.Errorf("result %d = %v, want ErrUnacknowledged", i, r)
		}
	}
}
