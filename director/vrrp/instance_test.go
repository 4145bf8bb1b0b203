package vrrp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// hub is an in-memory segment: what one fakeConn sends, the others
// receive with TTL 255.
type hub struct {
	mu    sync.Mutex
	conns []*fakeConn
}

type fakePkt struct {
	b []byte
	h Header
}

type fakeConn struct {
	hub    *hub
	src    netip.Addr
	in     chan fakePkt
	closed chan struct{}
	once   sync.Once
}

func (h *hub) conn(src string) *fakeConn {
	c := &fakeConn{hub: h, src: netip.MustParseAddr(src), in: make(chan fakePkt, 64), closed: make(chan struct{})}
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	return c
}

func (c *fakeConn) Send(b []byte, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	for _, o := range c.hub.conns {
		if o != c && (dst.IsMulticast() || dst == o.src) {
			select {
			case o.in <- fakePkt{append([]byte(nil), b...), Header{Src: c.src, Dst: dst, TTL: TTL}}:
			default:
			}
		}
	}
	return nil
}

func (c *fakeConn) Receive(b []byte) (int, Header, error) {
	select {
	case p := <-c.in:
		return copy(b, p.b), p.h, nil
	case <-c.closed:
		return 0, Header{}, net.ErrClosed
	}
}

func (c *fakeConn) Source() netip.Addr { return c.src }
func (c *fakeConn) Close() error       { c.once.Do(func() { close(c.closed) }); return nil }

// memAddrs holds addresses in memory.
type memAddrs struct {
	mu sync.Mutex
	m  map[netip.Prefix]bool
}

func (a *memAddrs) AddAddr(_ context.Context, _ string, p netip.Prefix) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[netip.Prefix]bool{}
	}
	a.m[p] = true
	return nil
}

func (a *memAddrs) DelAddr(_ context.Context, _ string, p netip.Prefix) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, p)
	return nil
}

func (a *memAddrs) holds() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m) > 0
}

type countAnnouncer struct {
	mu sync.Mutex
	n  int
}

func (c *countAnnouncer) Announce(netip.Addr) error {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return nil
}

type runningInstance struct {
	in     *Instance
	addrs  *memAddrs
	ann    *countAnnouncer
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, h *hub, src string, cfg Config) *runningInstance {
	t.Helper()
	r := &runningInstance{addrs: &memAddrs{}, ann: &countAnnouncer{}, done: make(chan error, 1)}
	var err error
	r.in, err = New(cfg, Options{Conn: h.conn(src), Addrs: r.addrs, Announcer: r.ann})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.in.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func fast(prio uint8) Config {
	c := vrrpTestConfig(prio)
	c.Version, c.Interval = V3, 20*time.Millisecond
	c.GARP = GARP{Repeat: 2, Delay: 100 * time.Millisecond}
	return c
}

func vrrpTestConfig(prio uint8) Config {
	return Config{Name: "VI_1", Interface: "eth0", VRID: 51, Priority: prio,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestInstanceOnFakeNetwork runs two instances over an in-memory segment
// with 20ms adverts: election, clean stop, return and preempt.
func TestInstanceOnFakeNetwork(t *testing.T) {
	h := &hub{}
	a := run(t, h, "10.0.0.1", fast(150))
	b := run(t, h, "10.0.0.2", fast(100))
	eventually(t, "a master", func() bool { return a.in.State() == Master && b.in.State() == Backup })
	eventually(t, "two GARP bursts", func() bool { a.ann.mu.Lock(); defer a.ann.mu.Unlock(); return a.ann.n == 4 })
	if !a.addrs.holds() || b.addrs.holds() {
		t.Fatalf("holders: a %v b %v", a.addrs.holds(), b.addrs.holds())
	}
	a.cancel()
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	a.done <- nil // for the cleanup
	if a.addrs.holds() || a.in.State() != Stopped {
		t.Errorf("stopped instance: holds %v, %s", a.addrs.holds(), a.in.State())
	}
	if st := a.in.Stats(); st.PriorityZeroSent != 1 || st.AdvertsSent < 2 {
		t.Errorf("a's stats %+v", st)
	}
	eventually(t, "b master", func() bool { return b.in.State() == Master && b.addrs.holds() })
	if st := b.in.Stats(); st.PriorityZeroRecvd != 1 || st.Master != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("b's stats %+v", st)
	}
	c := run(t, h, "10.0.0.3", fast(200))
	eventually(t, "c preempts", func() bool { return c.in.State() == Master && b.in.State() == Backup && !b.addrs.holds() })
	// Fault on the master: priority 0, b takes over.
	c.in.SetFault(true)
	eventually(t, "b master after c's fault", func() bool { return b.in.State() == Master && c.in.State() == Fault && !c.addrs.holds() })
	c.in.SetFault(false)
	eventually(t, "c master again", func() bool { return c.in.State() == Master && b.in.State() == Backup })
	// A lowered priority lets b preempt.
	c.in.SetPriority(50)
	eventually(t, "b preempts the lowered c", func() bool { return b.in.State() == Master && c.in.State() == Backup })
}

// TestInstanceCountsInvalid: refused packets are counted by reason, the
// state unchanged.
func TestInstanceCountsInvalid(t *testing.T) {
	h := &hub{}
	cfg := fast(100)
	cfg.Interval = 500 * time.Millisecond
	r := run(t, h, "10.0.0.2", cfg)
	raw := h.conn("10.0.0.9")
	bad := Advert{Version: V3, VRID: 51, Priority: 200, Interval: 500 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}}
	b, _ := bad.Marshal(Addressing{Src: raw.src, Dst: Group4})
	other := Advert{Version: V3, VRID: 52, Priority: 200, Interval: 500 * time.Millisecond, Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	o, _ := other.Marshal(Addressing{Src: raw.src, Dst: Group4})
	for range 3 {
		raw.Send(b, Group4)
		raw.Send([]byte{0x31, 0, 0}, Group4)
		raw.Send(o, Group4)
		b2 := append([]byte(nil), o...)
		b2[1] = 51
		raw.Send(b2, Group4) // checksum now wrong
	}
	eventually(t, "counted", func() bool {
		st := r.in.Stats()
		return st.Invalid[ReasonAddrList] == 3 && st.Invalid[ReasonLength] == 3 && st.OtherVRID == 3 && st.Invalid[ReasonChecksum] == 3
	})
	if st := r.in.Stats(); st.State != Backup || st.AdvertsRecvd != 0 {
		t.Errorf("after bad packets: %+v", st)
	}
}

func TestNewRefuses(t *testing.T) {
	h := &hub{}
	cfg := vrrpTestConfig(100)
	cfg.Peers = []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	// The peer is the conn's own source address.
	if _, err := New(cfg, Options{Conn: h.conn("10.0.0.1"), Addrs: &memAddrs{}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("peer = source: %v", err)
	}
	if _, err := New(vrrpTestConfig(100), Options{Addrs: &memAddrs{}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no conn: %v", err)
	}
	bad := vrrpTestConfig(100)
	bad.VRID = 0
	if _, err := New(bad, Options{Conn: h.conn("10.0.0.2"), Addrs: &memAddrs{}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("VRID 0: %v", err)
	}
}

func TestStatsPriority(t *testing.T) {
	h := &hub{}
	r := run(t, h, "10.0.0.2", fast(100))
	r.in.SetPriority(90)
	eventually(t, "priority 90 in the stats", func() bool { return r.in.Stats().Priority == 90 })
	r.in.SetPriority(0)
	eventually(t, "configured priority back", func() bool { return r.in.Stats().Priority == 100 })
}

// TestExcluded holds the excluded addresses (of either family) with the
// VIPs while master, lists only the VIPs in adverts, and announces those
// of the instance's family.
func TestExcluded(t *testing.T) {
	h := &hub{}
	cfg := fast(200)
	cfg.Excluded = []VIP{{Prefix: netip.MustParsePrefix("10.0.1.100/32")}, {Prefix: netip.MustParsePrefix("2001:db8::100/128")}}
	listener := h.conn("10.0.0.9")
	m := run(t, h, "10.0.0.1", cfg)
	eventually(t, "master holding three addresses", func() bool {
		m.addrs.mu.Lock()
		defer m.addrs.mu.Unlock()
		return len(m.addrs.m) == 3
	})
	b := make([]byte, 1500)
	n, hd, err := listener.Receive(b)
	if err != nil {
		t.Fatal(err)
	}
	ad, err := Unmarshal(b[:n], Addressing{Src: hd.Src, Dst: hd.Dst})
	if err != nil {
		t.Fatal(err)
	}
	if len(ad.Addrs) != 1 || ad.Addrs[0] != netip.MustParseAddr("10.0.0.100") {
		t.Errorf("advert lists %v, want the VIP only", ad.Addrs)
	}
	eventually(t, "announcements of the two IPv4 addresses", func() bool {
		m.ann.mu.Lock()
		defer m.ann.mu.Unlock()
		return m.ann.n >= 2*cfg.GARP.Repeat
	})
	m.cancel()
	eventually(t, "the stopped master holding nothing", func() bool { return !m.addrs.holds() })
	bad := fast(200)
	bad.Excluded = []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/32")}}
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("an excluded address equal to a VIP: %v", err)
	}
}
