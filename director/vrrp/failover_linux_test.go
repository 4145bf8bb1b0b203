package vrrp

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/rtnl"
	"golang.org/x/sys/unix"
)

// failoverSteps runs, on a segment where d1 (v2, priority 150) is master
// and d2 (100) backup, and the client has resolved the VIP to d1:
// failover when d1's link goes down, preempt when it comes back, a
// partition (d2's bridge port detached: both master) and its heal (one
// master within three intervals), a clean stop, d1 restarted with
// nopreempt (it stays backup) and with preempt_delay (it takes over only
// after the delay). The client's neighbour entry for the VIP must follow
// the gratuitous ARPs. It returns d1 (master again) and how long the
// link-down failover took from d1's last advert.
func failoverSteps(t *testing.T, st *stalls, s *segment, d1, d2 *node, c1 Config, adverts *advertWatch) (*node, time.Duration) {
	mdi := 3*time.Second + 156*time.Second/256 // d2's Master_Down_Interval

	// Link down: d2 takes over within Master_Down_Interval + 0.5 s of
	// d1's last advert, and the client's entry moves to d2's MAC.
	down := time.Now()
	setLinkUp(t, s.d1, "eth0", false)
	if d1.o != nil {
		// As the director's interface tracking does (keepalived watches
		// its interface itself): the instance to FAULT while its link is
		// down.
		d1.o.in.SetFault(true)
	}
	got := waitState(t, "d2 holds the VIP after d1's link went down", 8*time.Second, func() bool { return d2.holds(t) })
	from, what := down, "the link went down"
	if last := adverts.lastFrom(c1.Priority); !last.IsZero() && last.Before(down) {
		from, what = last, "d1's last advert"
	}
	t.Logf("link down: d2 (%s) holds the VIP %s after %s, %s after the link went down (Master_Down_Interval %s)",
		d2.name, got.Sub(from).Round(time.Millisecond), what, got.Sub(down).Round(time.Millisecond), mdi)
	linkDown := got.Sub(from)
	if d, frozen := got.Sub(from), st.frozen(from, got); d-frozen > mdi+500*time.Millisecond {
		t.Errorf("failover on link down took %s after %s (%s of it with the guest frozen), want within %s", d, what, frozen, mdi+500*time.Millisecond)
	}
	moved := waitNeighbour(t, s.cl, vip, d2.mac, 2*time.Second)
	t.Logf("link down: the client's neighbour entry for %s moved to d2's %s %s after d2 took the VIP", vip, d2.mac, moved.Sub(got).Round(time.Millisecond))
	if d1.holds(t) {
		t.Errorf("d1 (%s) kept the VIP on its down link", d1.name)
	}

	// Link up: d1 takes the VIP back (it preempts).
	up := time.Now()
	setLinkUp(t, s.d1, "eth0", true)
	if d1.o != nil {
		d1.o.in.SetFault(false)
	}
	got = waitState(t, "d1 alone holds the VIP after its link came back", 10*time.Second, func() bool { return d1.holds(t) && !d2.holds(t) })
	t.Logf("link up: d1 (%s) alone holds the VIP %s after its link came back", d1.name, got.Sub(up).Round(time.Millisecond))
	waitNeighbour(t, s.cl, vip, d1.mac, 2*time.Second)

	// Partition: d2's bridge port detached (both links stay up), so both
	// are master; healed, d2 hears the higher priority and yields within
	// three intervals.
	cut := time.Now()
	setBridged(t, s, "d2-eth0", false)
	got = waitState(t, "both hold the VIP in the partition", 8*time.Second, func() bool { return d2.holds(t) })
	t.Logf("partition: d2 (%s) master too %s after the cut", d2.name, got.Sub(cut).Round(time.Millisecond))
	if !d1.holds(t) {
		t.Fatal("d1 dropped the VIP in the partition")
	}
	heal := time.Now()
	setBridged(t, s, "d2-eth0", true)
	got = waitState(t, "one master after the heal", 6*time.Second, func() bool { return !d2.holds(t) })
	d, frozen := got.Sub(heal), st.frozen(heal, got)
	t.Logf("partition heal: d2 (%s) dropped the VIP %s after the heal (%s of it frozen); d1 (%s) holds it: %v",
		d2.name, d.Round(time.Millisecond), frozen, d1.name, d1.holds(t))
	if d-frozen > 3*c1.Interval {
		t.Errorf("the partition healed to one master in %s, want within three intervals (%s)", d-frozen, 3*c1.Interval)
	}
	time.Sleep(time.Second)
	if !d1.holds(t) || d2.holds(t) {
		t.Fatalf("after the heal: VIP on d1 %v, on d2 %v; want d1 alone", d1.holds(t), d2.holds(t))
	}
	if d2.o != nil && d2.o.in.State() != Backup {
		t.Errorf("d2 (ours) is %s after the heal", d2.o.in.State())
	}
	waitNeighbour(t, s.cl, vip, d1.mac, 2*time.Second)

	// Clean stop: priority 0, d2 takes over in about the skew.
	stopped := time.Now()
	wait := d1.stop()
	got = waitState(t, "d2 holds the VIP after a clean stop", 3*time.Second, func() bool { return d2.holds(t) })
	wait()
	t.Logf("clean stop: d2 (%s) holds the VIP %s after the stop", d2.name, got.Sub(stopped).Round(time.Millisecond))
	if d, frozen := got.Sub(stopped), st.frozen(stopped, got); d-frozen > 1500*time.Millisecond {
		t.Errorf("takeover after a clean stop took %s (%s of it frozen), want about one interval", d, frozen)
	}
	waitNeighbour(t, s.cl, vip, d2.mac, 2*time.Second)

	// nopreempt: d1 back at the higher priority stays backup.
	np := c1
	np.NoPreempt = true
	d1 = startNode(t, d1.name, s.d1, np)
	began := d1.backup(t)
	time.Sleep(mdi + time.Second) // past when it would preempt
	t.Logf("nopreempt: d1 (%s) %s after it entered backup: holds the VIP %v; d2 (%s) holds it %v",
		d1.name, time.Since(began).Round(time.Millisecond), d1.holds(t), d2.name, d2.holds(t))
	if d1.holds(t) || !d2.holds(t) {
		t.Errorf("nopreempt: VIP on d1 %v, on d2 %v; want d2 alone", d1.holds(t), d2.holds(t))
	}
	if d1.o != nil && d1.o.in.State() != Backup {
		t.Errorf("nopreempt: d1 (ours) is %s", d1.o.in.State())
	}
	d1.stop()()

	// preempt_delay: d1 takes over only after the delay. keepalived
	// starts the delay at the first lower-priority advert after it
	// entered backup and accepts adverts until it ends: it becomes master
	// Master_Down_Interval after the last one it accepted.
	const delay = 3 * time.Second
	pd := c1
	pd.PreemptDelay = delay
	d1 = startNode(t, d1.name, s.d1, pd)
	began = d1.backup(t)
	got = waitState(t, "d1 holds the VIP after its preempt delay", 15*time.Second, func() bool { return d1.holds(t) })
	waitState(t, "d2 drops the VIP", 2*time.Second, func() bool { return !d2.holds(t) })
	d1mdi := 3*time.Second + 106*time.Second/256
	d, frozen = got.Sub(began), st.frozen(began, got)
	lo, hi := delay-c1.Interval+d1mdi-200*time.Millisecond, delay+c1.Interval+d1mdi+500*time.Millisecond
	t.Logf("preempt_delay %s: d1 (%s) master %s after it entered backup (%s of it frozen; without the delay it would be %s)",
		delay, d1.name, d.Round(time.Millisecond), frozen, d1mdi)
	if d < lo || d-frozen > hi {
		t.Errorf("preempt_delay: d1 master after %s, want %s to %s", d, lo, hi)
	}

	waitNeighbour(t, s.cl, vip, d1.mac, 2*time.Second)
	return d1, linkDown
}

// backup waits for a node to have entered backup (keepalived logs it; a
// keepalived takes a second or more to start in the emulated guest) and
// returns when it did.
func (n *node) backup(t *testing.T) time.Time {
	t.Helper()
	if n.o != nil {
		return waitState(t, n.h.Name()+" backup", 2*time.Second, func() bool { return n.o.in.State() == Backup })
	}
	return waitState(t, n.h.Name()+"'s keepalived in backup", 10*time.Second, func() bool {
		return strings.Contains(n.k.output(), "Entering BACKUP STATE")
	})
}

// setLinkUp sets a host's link up or down.
func setLinkUp(t *testing.T, h *lab.Host, name string, up bool) {
	t.Helper()
	c, err := rtnl.Dial(int(h.NS()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := c.FindLink(name)
	if err != nil || l == nil {
		t.Fatalf("%s in %s: %v", name, h.Name(), err)
	}
	if err := c.SetUp(l.Index, up); err != nil {
		t.Fatal(err)
	}
}

// setBridged attaches a bridge port to the segment's bridge or detaches
// it; both ends of the port stay up, so neither side sees its link go
// down.
func setBridged(t *testing.T, s *segment, port string, attached bool) {
	t.Helper()
	c, err := rtnl.Dial(int(s.br.NS()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.FindLink(port)
	if err != nil || p == nil {
		t.Fatalf("bridge port %s: %v", port, err)
	}
	var master uint32
	if attached {
		br, err := c.FindLink("br")
		if err != nil || br == nil {
			t.Fatalf("bridge br: %v", err)
		}
		master = br.Index
	}
	err = c.Link.Set(&rtnetlink.LinkMessage{Family: unix.AF_UNSPEC, Index: p.Index,
		Attributes: &rtnetlink.LinkAttributes{Master: &master}})
	if err != nil {
		t.Fatalf("bridge port %s attached %v: %v", port, attached, err)
	}
}

// primeNeighbour sends one datagram from h to addr so that h resolves it
// (a gratuitous ARP only updates an entry that exists).
func primeNeighbour(t *testing.T, h *lab.Host, addr netip.Addr) {
	t.Helper()
	err := netnsx.Do(int(h.NS()), func() error {
		c, err := net.Dial("udp", netip.AddrPortFrom(addr, 9).String())
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("vrrp test"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// neighbour is h's neighbour entry for addr (nil if none), read from the
// kernel: the test never flushes it.
func neighbour(t *testing.T, h *lab.Host, addr netip.Addr) net.HardwareAddr {
	t.Helper()
	c, err := rtnl.Dial(int(h.NS()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ns, err := c.Neigh.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Attributes == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(n.Attributes.Address); ok && a.Unmap() == addr {
			return n.Attributes.LLAddress
		}
	}
	return nil
}

// waitNeighbour waits until h's entry for addr is mac and returns when.
func waitNeighbour(t *testing.T, h *lab.Host, addr netip.Addr, mac net.HardwareAddr, d time.Duration) time.Time {
	t.Helper()
	var last net.HardwareAddr
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if last = neighbour(t, h, addr); bytes.Equal(last, mac) {
			return time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s's neighbour entry for %s is %v after %s, want %v", h.Name(), addr, last, d, mac)
	return time.Time{}
}
