package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"syscall"
	"testing"

	"github.com/mdlayher/netlink"
)

// tableTransport is a dumpTransport whose services have different
// numbers of destinations: the destination dumps are answered in turn
// from dests, as Table asks for them (in the services' order).
type tableTransport struct {
	*dumpTransport
	dests [][]byte
	next  int
	// one answers a request for one service (Table's for a service that
	// dumps no destination); nil refuses it, as for a missing service.
	one []byte
}

func (t *tableTransport) send(b []byte) error {
	seq := binary.NativeEndian.Uint32(b[8:])
	switch {
	case b[16] == cmdGetService && binary.NativeEndian.Uint16(b[6:])&uint16(netlink.Dump) == 0:
		if t.one != nil {
			stampAll(t.one, seq)
			t.queue = append(t.queue[:0], t.one)
			return nil
		}
		errno := -int32(syscall.ENOENT)
		payload := binary.NativeEndian.AppendUint32(nil, uint32(errno))
		m := hostMsg(nlmsgError, 0, append(payload, b[:16]...))
		stampAll(m, seq)
		t.queue = append(t.queue[:0], m)
		return nil
	case b[16] != cmdGetDest:
		return t.dumpTransport.send(b)
	}
	stampAll(t.dests[t.next], seq)
	t.queue = append(t.queue[:0], t.dests[t.next])
	t.next++
	return nil
}

// TestTableArrays: Table gives each service its own destinations, with
// no room to grow into another's, whatever their number (some outgrow
// the array they are read into); AppendServices and AppendDestinations
// append to the caller's slice and keep it on an error.
func TestTableArrays(t *testing.T) {
	const services = 300
	counts := func(i int) int { return []int{0, 1, 4, 70, 200}[i%5] }
	tr := &tableTransport{dumpTransport: &dumpTransport{}}
	var dg []byte
	for i := range services {
		svc := Service{Protocol: TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80)}
		w := &attrWriter{}
		w.b = append(w.b, cmdNewService, 1, 0, 0)
		w.Nested(cmdAttrService, func(nw *attrWriter) error { svc.encode(nw); return nil })
		dg = append(dg, hostMsg(30, uint16(netlink.Multi), w.b)...)
		if i == 0 {
			tr.one = hostMsg(30, 0, w.b)
		}
		var ds []byte
		for j := range counts(i) {
			d := Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(j), byte(i)}), 8080), Weight: i}
			w := &attrWriter{}
			w.b = append(w.b, cmdNewDest, 1, 0, 0)
			w.Nested(cmdAttrDest, func(nw *attrWriter) error { d.encode(nw, true); return nil })
			ds = append(ds, hostMsg(30, uint16(netlink.Multi), w.b)...)
		}
		tr.dests = append(tr.dests, append(ds, hostMsg(nlmsgDone, uint16(netlink.Multi), make([]byte, 4))...))
	}
	tr.svcs = [][]byte{append(dg, hostMsg(nlmsgDone, uint16(netlink.Multi), make([]byte, 4))...)}
	c := &Client{c: &client{t: tr, family: 30}}
	tb, err := c.Table(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Services) != services {
		t.Fatalf("%d services, want %d", len(tb.Services), services)
	}
	for i, ts := range tb.Services {
		if len(ts.Destinations) != counts(i) || cap(ts.Destinations) != len(ts.Destinations) {
			t.Fatalf("service %d: %d destinations (room for %d), want %d and no more room", i, len(ts.Destinations), cap(ts.Destinations), counts(i))
		}
		for _, d := range ts.Destinations {
			if d.Weight != i {
				t.Fatalf("service %d holds a destination of service %d", i, d.Weight)
			}
		}
	}

	// AppendServices appends to the slice given, and keeps it on an error.
	svcs := make([]Service, 1, 4)
	all, err := c.AppendServices(context.Background(), svcs)
	if err != nil || len(all) != 1+services || all[1].Key() != tb.Services[0].Key() || all[services].Key() != tb.Services[services-1].Key() {
		t.Fatalf("AppendServices: %d services, %v; want %d after the one given", len(all), err, services)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := c.AppendServices(cancelled, svcs); !errors.Is(err, context.Canceled) || len(got) != 1 || &got[0] != &svcs[0] {
		t.Errorf("AppendServices cancelled: %d services, %v; want the slice given and context.Canceled", len(got), err)
	}

	// The kernel dumps nothing for a missing service; the client then asks
	// for the service, which is refused.
	buf := make([]Destination, 1, 8)
	tr.dests = [][]byte{tr.dests[2], hostMsg(nlmsgDone, uint16(netlink.Multi), make([]byte, 4))}
	tr.next, tr.one = 0, nil
	svc := tb.Services[2].Service
	got, err := c.AppendDestinations(context.Background(), svc, buf)
	if err != nil || len(got) != 1+counts(2) || &got[0] != &buf[0] || got[1].Weight != 2 {
		t.Fatalf("AppendDestinations: %d destinations, %v; want %d after the one given, in its array", len(got), err, counts(2))
	}
	got, err = c.AppendDestinations(context.Background(), svc, buf)
	if !errors.Is(err, fs.ErrNotExist) || len(got) != 1 || &got[0] != &buf[0] {
		t.Errorf("AppendDestinations of a missing service: %d destinations, %v; want the slice given and fs.ErrNotExist", len(got), err)
	}
}
