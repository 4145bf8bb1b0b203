package vrrp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/internal/vmtest"
	"golang.org/x/sys/unix"
)

var modules = []string{"veth", "bridge"}

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: modules, Programs: []string{keepalivedPath}})
}

// nsAddrs adds and removes addresses in a namespace, as the director's
// Links does.
type nsAddrs struct{ ns int }

func (a nsAddrs) change(link string, p netip.Prefix, add bool) error {
	c, err := rtnl.Dial(a.ns)
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := c.FindLink(link)
	if err != nil {
		return err
	}
	if l == nil {
		return fmt.Errorf("link %s: %w", link, fs.ErrNotExist)
	}
	if add {
		err = c.AddAddr(l.Index, p)
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s: %w", p, fs.ErrExist)
		}
		return err
	}
	return c.DelAddr(l.Index, p)
}

func (a nsAddrs) AddAddr(_ context.Context, link string, p netip.Prefix) error {
	return a.change(link, p, true)
}

func (a nsAddrs) DelAddr(_ context.Context, link string, p netip.Prefix) error {
	return a.change(link, p, false)
}

// hasAddr reports whether host's eth0 has addr.
func hasAddr(t *testing.T, h *lab.Host, addr netip.Addr) bool {
	t.Helper()
	c, err := rtnl.Dial(int(h.NS()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := c.FindLink("eth0")
	if err != nil || l == nil {
		t.Fatalf("eth0: %v", err)
	}
	ps, err := c.Addrs(l.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Addr() == addr {
			return true
		}
	}
	return false
}

// segment is a bridge with hosts d1, d2 (the VRRP nodes) and a client.
type segment struct {
	lab            *lab.Lab
	d1, d2, cl, br *lab.Host
}

func newSegment(t *testing.T) *segment {
	t.Helper()
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &segment{lab: l}
	if s.d1, err = l.NewHost("d1"); err != nil {
		t.Fatal(err)
	}
	if s.d2, err = l.NewHost("d2"); err != nil {
		t.Fatal(err)
	}
	if s.cl, err = l.NewHost("cl"); err != nil {
		t.Fatal(err)
	}
	if s.br, err = l.Bridge("br", lab.Port{Host: s.d1, If: "eth0", CIDR: "10.0.0.1/24"},
		lab.Port{Host: s.d2, If: "eth0", CIDR: "10.0.0.2/24"},
		lab.Port{Host: s.cl, If: "eth0", CIDR: "10.0.0.10/24"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// ours is one of our instances running in a host.
type ours struct {
	in     *Instance
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	events []Event
}

func startOurs(t *testing.T, h *lab.Host, cfg Config) *ours {
	t.Helper()
	conn, err := Listen(&cfg, int(h.NS()))
	if err != nil {
		t.Fatal(err)
	}
	ann, err := NewAnnouncer(cfg.Interface, cfg.Is6(), int(h.NS()))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	o := &ours{done: make(chan error, 1)}
	in, err := New(cfg, Options{Conn: conn, Addrs: nsAddrs{int(h.NS())}, Announcer: ann, Events: func(e Event) {
		o.mu.Lock()
		o.events = append(o.events, e)
		o.mu.Unlock()
	}})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	o.in = in
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go func() { o.done <- in.Run(ctx) }()
	t.Cleanup(func() {
		o.stop()
		ann.(interface{ Close() error }).Close()
	})
	return o
}

// stop stops the instance cleanly (priority 0).
func (o *ours) stop() {
	if o.cancel == nil {
		return
	}
	o.cancel()
	<-o.done
	o.cancel = nil
}

// waitState waits up to d for the state and returns when it came.
func waitState(t *testing.T, what string, d time.Duration, ok func() bool) time.Time {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok() {
			return time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
	return time.Time{}
}

func vrrpConfig(ver Version, prio uint8) Config {
	return Config{Name: "VI_1", Interface: "eth0", VRID: 51, Priority: prio, Version: ver, Interval: time.Second,
		VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
}

var vip = netip.MustParseAddr("10.0.0.100")

// TestOursOurs runs two of our instances on one bridge: election,
// failover when the master is killed, clean stop, preempt.
func TestOursOurs(t *testing.T) {
	vmtest.Require(t, modules...)
	for _, ver := range []Version{V2, V3} {
		t.Run(ver.String(), func(t *testing.T) {
			s := newSegment(t)
			a := startOurs(t, s.d1, vrrpConfig(ver, 150))
			b := startOurs(t, s.d2, vrrpConfig(ver, 100))
			start := time.Now()
			got := waitState(t, "d1 master", 6*time.Second, func() bool { return a.in.State() == Master })
			t.Logf("election: d1 master after %s", got.Sub(start).Round(time.Millisecond))
			time.Sleep(1500 * time.Millisecond)
			if b.in.State() != Backup || !hasAddr(t, s.d1, vip) || hasAddr(t, s.d2, vip) {
				t.Fatalf("d2 %s, VIP on d1 %v, on d2 %v", b.in.State(), hasAddr(t, s.d1, vip), hasAddr(t, s.d2, vip))
			}
			if st := b.in.Stats(); st.AdvertsRecvd == 0 || st.Master != netip.MustParseAddr("10.0.0.1") {
				t.Errorf("d2 stats %+v", st)
			}
			// Clean stop: priority 0, takeover after the skew.
			stopped := time.Now()
			a.stop()
			got = waitState(t, "d2 master", 2*time.Second, func() bool { return b.in.State() == Master })
			t.Logf("clean stop: d2 master after %s", got.Sub(stopped).Round(time.Millisecond))
			if hasAddr(t, s.d1, vip) || !hasAddr(t, s.d2, vip) {
				t.Errorf("after the stop: VIP on d1 %v, on d2 %v", hasAddr(t, s.d1, vip), hasAddr(t, s.d2, vip))
			}
			if st := a.in.Stats(); st.PriorityZeroSent != 1 {
				t.Errorf("d1 sent %d priority-0 adverts, want 1", st.PriorityZeroSent)
			}
			// Preempt: d1 back, master again after its down interval.
			a = startOurs(t, s.d1, vrrpConfig(ver, 150))
			back := time.Now()
			got = waitState(t, "d1 master again", 6*time.Second, func() bool { return a.in.State() == Master })
			t.Logf("preempt: d1 master after %s", got.Sub(back).Round(time.Millisecond))
			waitState(t, "d2 backup", time.Second, func() bool { return b.in.State() == Backup && !hasAddr(t, s.d2, vip) })
			// Killed: no priority 0 (the socket closed under it).
			a.in.opts.Conn.Close()
			killed := time.Now()
			got = waitState(t, "d2 master after kill", 6*time.Second, func() bool { return b.in.State() == Master })
			mdi := 3*time.Second + 156*time.Second/256
			t.Logf("kill: d2 master after %s (Master_Down_Interval %s)", got.Sub(killed).Round(time.Millisecond), mdi)
			if d := got.Sub(killed); d > mdi+500*time.Millisecond {
				t.Errorf("failover took %s, want within %s", d, mdi+500*time.Millisecond)
			}
		})
	}
}

// waitDAD waits until the hosts' IPv6 link-local addresses on eth0 have
// left duplicate address detection.
func waitDAD(t *testing.T, hosts ...*lab.Host) {
	t.Helper()
	for _, h := range hosts {
		waitState(t, h.Name()+"'s link-local address", 10*time.Second, func() bool {
			c, err := rtnl.Dial(int(h.NS()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			msgs, err := c.Address.List()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				a, ok := netip.AddrFromSlice(m.Attributes.Address)
				if ok && a.Is6() && a.IsLinkLocalUnicast() && m.Attributes.Flags&unix.IFA_F_TENTATIVE == 0 {
					return true
				}
			}
			return false
		})
	}
}

// stalls watches the test process's clock for freezes of the emulated
// guest (on a loaded host QEMU can stop the guest for a second): a ticker
// every 10 ms, each gap over 50 ms recorded. The timing assertions
// discount what the guest was frozen for, and log it, so that they judge
// the protocol, not the emulator.
type stalls struct {
	mu   sync.Mutex
	gaps [][2]time.Time
	stop chan struct{}
}

func watchStalls(t *testing.T) *stalls {
	s := &stalls{stop: make(chan struct{})}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-s.stop:
				return
			case now := <-tick.C:
				if now.Sub(last) > 50*time.Millisecond {
					s.mu.Lock()
					s.gaps = append(s.gaps, [2]time.Time{last, now})
					s.mu.Unlock()
				}
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(s.stop) })
	return s
}

// frozen is how long the guest stood still between from and to, past the
// ticker's own 10 ms.
func (s *stalls) frozen(from, to time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	for _, g := range s.gaps {
		a, b := max(g[0].UnixNano(), from.UnixNano()), min(g[1].UnixNano(), to.UnixNano())
		if b > a {
			d += time.Duration(b-a) - 10*time.Millisecond
		}
	}
	return max(d, 0)
}
