package check

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Connect makes the tests' namespace Env a Connector, as the director's
// is: the socket is made in the namespace, the rest done from any
// thread.
func (e nsEnv) Connect(ctx context.Context, target netip.AddrPort) error {
	return ConnectTCP(ctx, target, func(create func() error) error { return nstest.Do(e.ns, create) })
}

// dialOnly is an Env that is not a Connector: the tcp check dials
// through it.
type dialOnly struct{ Env }

// silentNet adds to ns a veth whose peer, in ns too, has no address:
// 10.9.8.0/24 and fd00:9:8::/64 are on it, where nothing answers, so a
// connection to 10.9.8.2 or fd00:9:8::2 neither opens nor fails until
// neighbour discovery gives up (3 s).
func silentNet(t *testing.T, ns netns.NsHandle) {
	runIn(t, ns, "ip", "link", "add", "lvsc0", "type", "veth", "peer", "name", "lvsc1")
	runIn(t, ns, "ip", "link", "set", "lvsc1", "up")
	runIn(t, ns, "ip", "link", "set", "lvsc0", "up")
	runIn(t, ns, "ip", "addr", "add", "10.9.8.1/24", "dev", "lvsc0")
	runIn(t, ns, "ip", "addr", "add", "fd00:9:8::1/64", "dev", "lvsc0", "nodad")
}

// TestConnectTCP: the tcp check through a Connector opens and resets
// connections over IPv4 and IPv6, and fails as the same check through
// Dial does, with the same error text and chain.
func TestConnectTCP(t *testing.T) {
	ns, d := probeNS(t)
	runIn(t, ns, "ip", "route", "add", "unreachable", "10.9.7.0/24")
	runIn(t, ns, "ip", "-6", "route", "add", "unreachable", "fd00:9:7::/64")
	var l6 net.Listener
	if err := nstest.Do(ns, func() (err error) { l6, err = net.Listen("tcp", "[::1]:0"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l6.Close() })
	// fe80::2 is on lvsz1, reached from lvsz0, its peer: an address with
	// a zone, for which ConnectTCP dials.
	runIn(t, ns, "ip", "link", "add", "lvsz0", "type", "veth", "peer", "name", "lvsz1")
	runIn(t, ns, "ip", "addr", "add", "fe80::1/64", "dev", "lvsz0", "nodad")
	runIn(t, ns, "ip", "addr", "add", "fe80::2/64", "dev", "lvsz1", "nodad")
	runIn(t, ns, "ip", "link", "set", "lvsz0", "up")
	runIn(t, ns, "ip", "link", "set", "lvsz1", "up")
	var lz net.Listener
	if err := nstest.Do(ns, func() (err error) { lz, err = net.Listen("tcp", "[fe80::2%lvsz1]:0"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lz.Close() })
	zoned := netip.AddrPortFrom(netip.MustParseAddr("fe80::2").WithZone("lvsz0"), netip.MustParseAddrPort(lz.Addr().String()).Port())
	open4 := netip.MustParseAddrPort(listenTCP(t, ns).Addr().String())
	open6 := netip.MustParseAddrPort(l6.Addr().String())
	closed4 := closedPort(t, ns, "tcp")
	closed6 := netip.AddrPortFrom(netip.IPv6Loopback(), closed4.Port())
	for _, tc := range []struct {
		name   string
		target netip.AddrPort
		want   error // nil: healthy
	}{
		{"open", open4, nil},
		{"open v6", open6, nil},
		{"open v4-mapped", netip.AddrPortFrom(netip.AddrFrom16(open4.Addr().As16()), open4.Port()), nil},
		{"refused", closed4, syscall.ECONNREFUSED},
		{"refused v6", closed6, syscall.ECONNREFUSED},
		{"unreachable", netip.MustParseAddrPort("10.9.7.1:80"), syscall.EHOSTUNREACH},
		{"unreachable v6", netip.MustParseAddrPort("[fd00:9:7::1]:80"), syscall.EHOSTUNREACH},
		{"no route v6", netip.MustParseAddrPort("[2001:db8::1]:80"), syscall.ENETUNREACH},
		{"open, zone", zoned, nil},
		{"refused, zone", netip.AddrPortFrom(zoned.Addr(), closed4.Port()), syscall.ECONNREFUSED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCheck(t, d, TCP{}, tc.target)
			dialed := runCheck(t, dialOnly{d}, TCP{}, tc.target)
			if tc.want == nil {
				if err != nil || dialed != nil {
					t.Fatalf("connect: %v, dial: %v; want both healthy", err, dialed)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("connect: %v, want %v", err, tc.want)
			}
			if !errors.Is(dialed, tc.want) {
				t.Errorf("dial: %v, want %v", dialed, tc.want)
			}
			if err != nil && dialed != nil && err.Error() != dialed.Error() {
				t.Errorf("connect says %q, dial %q: want the same", err, dialed)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "dial" {
				t.Errorf("connect: %#v is not a dial *net.OpError", err)
			}
		})
	}
}

// TestConnectTCPTimeout: a connection that neither opens nor fails ends
// at the check's deadline, as a timeout matching context.DeadlineExceeded
// whose text is Dial's; a cancelled one ends at once, matching
// context.Canceled.
func TestConnectTCPTimeout(t *testing.T) {
	ns, d := probeNS(t)
	silentNet(t, ns)
	for _, target := range []netip.AddrPort{netip.MustParseAddrPort("10.9.8.2:80"), netip.MustParseAddrPort("[fd00:9:8::2]:80")} {
		t.Run(target.String(), func(t *testing.T) {
			var dialed error
			var wg sync.WaitGroup
			wg.Go(func() { dialed = runCheckWithin(t, dialOnly{d}, TCP{}, target, 300*time.Millisecond) })
			start := time.Now()
			err := runCheckWithin(t, d, TCP{}, target, 300*time.Millisecond)
			took := time.Since(start)
			wg.Wait()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not match context.DeadlineExceeded", err)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("%v is not a timeout", err)
			}
			if dialed == nil || err == nil || err.Error() != dialed.Error() {
				t.Errorf("connect says %v, dial %v: want the same", err, dialed)
			}
			if took < 250*time.Millisecond || took > 3*time.Second {
				t.Errorf("took %v, want about the 300ms timeout", took)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err := d.Connect(ctx, netip.MustParseAddrPort("10.9.8.2:80"))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not match context.Canceled", err)
		}
		if took := time.Since(start); took < 150*time.Millisecond || took > 2*time.Second {
			t.Errorf("took %v, want about the 200ms until the cancel", took)
		}
	})
	t.Run("ended before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Connect(ctx, netip.MustParseAddrPort("10.9.8.2:80")); !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not match context.Canceled", err)
		}
	})
	t.Run("neighbour unreachable", func(t *testing.T) {
		// Past the timeout neighbour discovery fails, in the poller.
		err := d.Connect(context.Background(), netip.MustParseAddrPort("10.9.8.3:80"))
		if !errors.Is(err, syscall.EHOSTUNREACH) {
			t.Errorf("%v, want no route to host", err)
		}
	})
}

// TestConnectTCPWaits: a connection whose handshake is not done within
// connect (its first SYN dropped, as a full accept queue drops it)
// opens when the SYN is sent again, a second later, and the check then
// says healthy.
func TestConnectTCPWaits(t *testing.T) {
	ns, d := probeNS(t)
	// A listener with room for one connection in its accept queue, taken
	// by the first connect.
	var lfd int
	err := nstest.Do(ns, func() (err error) {
		lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		return unix.Listen(lfd, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	rs := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*unix.SockaddrInet4).Port))
	if err := d.Connect(context.Background(), rs); err != nil {
		t.Fatalf("the first connection: %v", err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- d.Connect(ctx, rs)
	}()
	select {
	case err := <-done:
		t.Fatalf("the second connection ended with %v while the accept queue was full", err)
	case <-time.After(300 * time.Millisecond):
	}
	c, _, err := unix.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(c)
	if err := <-done; err != nil {
		t.Errorf("the second connection: %v, want it open once the queue had room", err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("took %v: the SYN was not dropped, the test tested nothing", took)
	}
}

// TestConnectTCPLeavesNoTimeWait: connections over IPv4 and IPv6 to a
// server that closes when the checker does leave no socket in TIME_WAIT
// (TestConnectChecksLeaveNoTimeWait checks the tcp check's, IPv4).
func TestConnectTCPLeavesNoTimeWait(t *testing.T) {
	const n = 20
	ns, d := probeNS(t)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		var l net.Listener
		if err := nstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", addr); return }); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ended := make(chan struct{}, n)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer func() { ended <- struct{}{} }()
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					io.Copy(io.Discard, c) // until the checker ends it
				}()
			}
		}()
		rs := netip.MustParseAddrPort(l.Addr().String())
		for i := range n {
			if err := d.Connect(context.Background(), rs); err != nil {
				t.Fatalf("%v, connection %d: %v", rs, i, err)
			}
		}
		for range n {
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatalf("%v: the server did not see every connection end", rs)
			}
		}
	}
	if tw := timeWait(t, ns); tw != 0 {
		t.Errorf("%d sockets in TIME_WAIT, want none", tw)
	}
}

// TestLocalConnect: Local is a Connector that makes its socket in the
// calling thread's namespace (here the test's, entered for the call).
func TestLocalConnect(t *testing.T) {
	ns, _ := probeNS(t)
	open := netip.MustParseAddrPort(listenTCP(t, ns).Addr().String())
	closed := closedPort(t, ns, "tcp")
	var _ Connector = Local{}
	var openErr, closedErr error
	err := nstest.Do(ns, func() error {
		openErr = runCheck(t, Local{}, TCP{}, open)
		closedErr = runCheck(t, Local{}, TCP{}, closed)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if openErr != nil {
		t.Errorf("open port: %v", openErr)
	}
	if want := "dial tcp " + closed.String() + ": connect: connection refused"; closedErr == nil || closedErr.Error() != want {
		t.Errorf("closed port: %v, want %q", closedErr, want)
	}
	if tw := timeWait(t, ns); tw != 0 {
		t.Errorf("%d sockets in TIME_WAIT, want none", tw)
	}
}
