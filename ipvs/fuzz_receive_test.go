package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// rawTransport hands out fixed datagrams whatever is sent (a new client's
// first request has sequence number 1).
type rawTransport struct {
	datagrams [][]byte
}

func (r *rawTransport) send([]byte) error { return nil }

func (r *rawTransport) recv(buf []byte) (int, error) {
	if len(r.datagrams) == 0 {
		return 0, errors.New("no more datagrams")
	}
	n := copy(buf, r.datagrams[0])
	r.datagrams = r.datagrams[1:]
	return n, nil
}

func (r *rawTransport) drain([]byte)                { r.datagrams = nil }
func (r *rawTransport) setDeadline(time.Time) error { return nil }
func (r *rawTransport) close() error                { return nil }

// frame is a netlink message of type typ and sequence seq around payload.
func frame(typ uint16, flags netlink.HeaderFlags, seq uint32, payload []byte) []byte {
	b := make([]byte, nlmsgHeaderLen, nlmsgHeaderLen+len(payload)+3)
	binary.NativeEndian.PutUint32(b[0:], uint32(nlmsgHeaderLen+len(payload)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], uint16(flags))
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// FuzzReceive: whatever datagrams answer a dump and a batch, the client's
// receive path returns (a result or an error) without panicking, and a
// dump it reports complete holds only what the datagrams carried. Seeds:
// the kernel's replies framed as a dump, an acknowledgement, an error.
func FuzzReceive(f *testing.F) {
	var dump []byte
	for _, m := range loadFixtures(f).replies {
		if m[0] == cmdNewService {
			dump = append(dump, frame(30, netlink.Multi, 1, m)...)
		}
	}
	done := frame(nlmsgDone, netlink.Multi, 1, make([]byte, 4))
	f.Add(append(dump, done...), frame(nlmsgError, 0, 2, make([]byte, 4)))
	f.Add(done, frame(nlmsgError, 0, 2, []byte{0xef, 0xff, 0xff, 0xff}))
	f.Add([]byte{1, 2, 3}, []byte{0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, dumpReply, ackReply []byte) {
		tr := &rawTransport{datagrams: [][]byte{dumpReply, ackReply}}
		c := &Client{c: &client{t: tr, family: 30}}
		ctx := context.Background()
		svcs, err := c.Services(ctx)
		if err == nil && len(svcs) > len(dumpReply)/nlmsgHeaderLen {
			t.Fatalf("%d services from %d bytes", len(svcs), len(dumpReply))
		}
		var b Batch
		b.DeleteService(Service{Protocol: TCP, Addr: vip4test})
		c.Apply(ctx, &b)
	})
}
