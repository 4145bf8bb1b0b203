package ipvs

import (
	"context"
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// TestFamilyMissing: without the IPVS family, New's error says to load
// ip_vs and matches ErrNotAvailable and fs.ErrNotExist.
func TestFamilyMissing(t *testing.T) {
	conn := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		return nltest.Error(int(syscall.ENOENT), reqs)
	})
	_, err := newClientConn(conn)
	if !errors.Is(err, ErrNotAvailable) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotAvailable", err)
	}
	if want := "ipvs: dial: ipvs: the kernel has no IPVS generic-netlink family (load the ip_vs module: modprobe ip_vs)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
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

// fakeKernel serves the generic-netlink controller's family lookup for
// IPVS (id 30) and hands every IPVS request to fn, at the netlink level so
// that replies can carry header flags.
func fakeKernel(t *testing.T, fn func(req netlink.Message) ([]netlink.Message, error)) *client {
	t.Helper()
	nc := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		req := reqs[0]
		if req.Header.Type == 0x10 { // GENL_ID_CTRL: CTRL_CMD_GETFAMILY
			ae := netlink.NewAttributeEncoder()
			ae.Uint16(1, 30)         // CTRL_ATTR_FAMILY_ID
			ae.String(2, familyName) // CTRL_ATTR_FAMILY_NAME
			ae.Uint32(3, 1)          // CTRL_ATTR_VERSION
			b, err := ae.Encode()
			if err != nil {
				return nil, err
			}
			g, _ := (&genetlink.Message{Header: genetlink.Header{Command: 1, Version: 2}, Data: b}).MarshalBinary()
			return []netlink.Message{{Header: netlink.Header{Type: 0x10, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: g}}, nil
		}
		var out []netlink.Message
		for _, req := range reqs {
			msgs, err := fn(req)
			if err != nil {
				return nil, err
			}
			out = append(out, msgs...)
		}
		return out, nil
	})
	c, err := newClientConn(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close() })
	return c
}

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
