package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// The client's own cost, on any machine and without a kernel: a batch of
// 10,000 services with 4 destinations each, acknowledged by a transport
// that answers at once, and Table over a transport that dumps 10,000
// services of 4 destinations each (and the same within a deadline, which
// the client watches on every request). What is measured is the client's
// framing, sequence numbers, matching of replies and decoding (and the
// fakes' few copies), which the kernel's share hides in the VM benchmarks
// (bench_linux_test.go). Run with:
//
//	LVS_VMTEST=host go test -run '^$' -bench Host -benchtime 100x ./ipvs

const hostBenchServices = 10000

// ackTransport acknowledges every message of a sendmsg that asks for it
// (NLM_F_ACK), one acknowledgement a datagram, as the kernel does (an
// nlmsgerr of 0 with the request's header).
type ackTransport struct {
	acks [][]byte // reused datagrams
	n, r int      // queued, read
}

func (a *ackTransport) send(b []byte) error {
	a.n, a.r = 0, 0
	for len(b) >= 16 {
		l := int(binary.NativeEndian.Uint32(b))
		if binary.NativeEndian.Uint16(b[6:])&nlmAck == 0 {
			b = b[min(len(b), (l+3)&^3):]
			continue
		}
		if a.n == len(a.acks) {
			a.acks = append(a.acks, make([]byte, 36))
		}
		ack := a.acks[a.n]
		binary.NativeEndian.PutUint32(ack, 36)
		binary.NativeEndian.PutUint16(ack[4:], nlmsgError)
		binary.NativeEndian.PutUint32(ack[8:], binary.NativeEndian.Uint32(b[8:]))
		binary.NativeEndian.PutUint32(ack[16:], 0)
		copy(ack[20:], b[:16])
		a.n++
		b = b[min(len(b), (l+3)&^3):]
	}
	return nil
}

func (a *ackTransport) recv(buf []byte) (int, error) {
	if a.r == a.n {
		return 0, errors.New("no reply pending")
	}
	a.r++
	return copy(buf, a.acks[a.r-1]), nil
}

func (a *ackTransport) drain([]byte)                {}
func (a *ackTransport) setDeadline(time.Time) error { return nil }
func (a *ackTransport) close() error                { return nil }

func BenchmarkHostBatchCreate(b *testing.B) {
	c := &Client{c: &client{t: &ackTransport{}, family: 30}}
	batch := batchOf(bigTable(hostBenchServices))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		results, err := c.Apply(ctx, batch)
		if err != nil || len(results) != batch.Len() {
			b.Fatal(err)
		}
	}
}

// dumpTransport answers a dump of services with svcs (several messages a
// datagram) and each dump of destinations with dests, all stamped with
// the request's sequence number.
type dumpTransport struct {
	svcs  [][]byte // datagrams of service messages, the last ending with NLMSG_DONE
	dests []byte   // one datagram: 4 destination messages and NLMSG_DONE
	queue [][]byte
}

// hostMsg is a netlink message of type typ around payload, sequence 0.
func hostMsg(typ uint16, flags uint16, payload []byte) []byte {
	m := make([]byte, 16, 16+len(payload)+3)
	binary.NativeEndian.PutUint32(m, uint32(16+len(payload)))
	binary.NativeEndian.PutUint16(m[4:], typ)
	binary.NativeEndian.PutUint16(m[6:], flags)
	m = append(m, payload...)
	for len(m)%4 != 0 {
		m = append(m, 0)
	}
	return m
}

func newDumpTransport() *dumpTransport {
	d := &dumpTransport{}
	var cur []byte
	for i, ts := range bigTable(hostBenchServices) {
		w := &attrWriter{}
		w.b = append(w.b, cmdNewService, 1, 0, 0)
		w.Nested(cmdAttrService, func(nw *attrWriter) error { ts.Service.encode(nw); return nil })
		cur = append(cur, hostMsg(30, uint16(netlink.Multi), w.b)...)
		if len(cur) > 16<<10 || i == hostBenchServices-1 {
			if i == hostBenchServices-1 {
				cur = append(cur, hostMsg(nlmsgDone, uint16(netlink.Multi), make([]byte, 4))...)
			}
			d.svcs = append(d.svcs, cur)
			cur = nil
		}
	}
	for _, dst := range bigTable(1)[0].Destinations {
		w := &attrWriter{}
		w.b = append(w.b, cmdNewDest, 1, 0, 0)
		w.Nested(cmdAttrDest, func(nw *attrWriter) error { dst.encode(nw, true); return nil })
		d.dests = append(d.dests, hostMsg(30, uint16(netlink.Multi), w.b)...)
	}
	d.dests = append(d.dests, hostMsg(nlmsgDone, uint16(netlink.Multi), make([]byte, 4))...)
	return d
}

// stampAll sets the sequence number of every message of a datagram.
func stampAll(dg []byte, seq uint32) {
	for b := dg; len(b) >= 16; {
		l := int(binary.NativeEndian.Uint32(b))
		binary.NativeEndian.PutUint32(b[8:], seq)
		b = b[min(len(b), (l+3)&^3):]
	}
}

func (d *dumpTransport) send(b []byte) error {
	seq := binary.NativeEndian.Uint32(b[8:])
	d.queue = d.queue[:0]
	switch b[16] {
	case cmdGetService:
		for _, dg := range d.svcs {
			stampAll(dg, seq)
			d.queue = append(d.queue, dg)
		}
	case cmdGetDest:
		stampAll(d.dests, seq)
		d.queue = append(d.queue, d.dests)
	case cmdGetInfo:
		w := &attrWriter{}
		w.b = append(w.b, cmdSetInfo, 1, 0, 0)
		w.Uint32(infoAttrVersion, 0x010201)
		w.Uint32(infoAttrConnTabSize, 4096)
		m := hostMsg(30, 0, w.b)
		binary.NativeEndian.PutUint32(m[8:], seq)
		d.queue = append(d.queue, m)
	default:
		return errors.New("unexpected request")
	}
	return nil
}

func (d *dumpTransport) recv(buf []byte) (int, error) {
	if len(d.queue) == 0 {
		return 0, errors.New("no reply pending")
	}
	n := copy(buf, d.queue[0])
	d.queue = d.queue[1:]
	return n, nil
}

func (d *dumpTransport) drain([]byte)                { d.queue = d.queue[:0] }
func (d *dumpTransport) setDeadline(time.Time) error { return nil }
func (d *dumpTransport) close() error                { return nil }

func BenchmarkHostTable(b *testing.B) {
	c := &Client{c: &client{t: newDumpTransport(), family: 30}}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t, err := c.Table(ctx)
		if err != nil || len(t.Services) != hostBenchServices || len(t.Services[0].Destinations) != 4 {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostTableDeadline is BenchmarkHostTable within a deadline, as
// a program's step reads it: the deadline is watched on every request.
func BenchmarkHostTableDeadline(b *testing.B) {
	c := &Client{c: &client{t: newDumpTransport(), family: 30}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		t, err := c.Table(ctx)
		if err != nil || len(t.Services) != hostBenchServices || len(t.Services[0].Destinations) != 4 {
			b.Fatal(err)
		}
	}
}
