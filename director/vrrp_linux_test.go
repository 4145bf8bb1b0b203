package director

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// realVRRP is a Director with the real VRRP sockets, links and sysctls
// of a lab host (IPVS in memory: the host tier has no ip_vs), running
// conf.
type realVRRP struct {
	d      *Director
	h      *lab.Host
	cancel context.CancelFunc
	done   chan error
}

func startRealVRRP(t *testing.T, h *lab.Host, conf string) *realVRRP {
	t.Helper()
	d, err := New(&Options{NetNS: int(h.NS()), IPVS: ipvstest.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	c, err := Parse([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &realVRRP{d: d, h: h, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- d.Run(ctx, c, nil, func(rep Report) { t.Logf("%s: %s %v", h.Name(), rep.VRRP, rep.Err) })
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *realVRRP) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

func (r *realVRRP) state() vrrp.State {
	for _, s := range r.d.Status().VRRP {
		return s.State
	}
	return vrrp.Initialize
}

// holds reports whether the host's eth0 has the VIP.
func (r *realVRRP) holds(t *testing.T) bool {
	t.Helper()
	addrs, err := r.d.links.Addrs(context.Background(), "eth0")
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(addrs, netip.MustParsePrefix("10.0.0.100/24"))
}

// setLink brings the host's eth0 up or down.
func setLink(t *testing.T, h *lab.Host, up bool) {
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
	if err := c.SetUp(l.Index, up); err != nil {
		t.Fatal(err)
	}
}

// TestVRRPRealSockets runs two Directors with real VRRP sockets in two
// namespaces joined by a veth pair: the higher priority is elected and
// alone holds the VIP; its link down, it goes to FAULT and the VIP moves;
// back up, it preempts; stopped, the VIP moves at once.
func TestVRRPRealSockets(t *testing.T) {
	vmtest.Require(t, "veth")
	l, err := lab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	h1, err := l.NewHost("d1")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := l.NewHost("d2")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Link(lab.Port{Host: h1, If: "eth0", CIDR: "10.0.0.1/24"}, lab.Port{Host: h2, If: "eth0", CIDR: "10.0.0.2/24"}); err != nil {
		t.Fatal(err)
	}
	conf := func(prio int) string {
		return "allowNoServices: true\nvrrp:\n  instances:\n  - {name: VI_1, interface: eth0, vrid: 51, version: 3, interval: 100ms, priority: " +
			strconv.Itoa(prio) + ", garp: {repeat: 1, delay: 1s}, vips: [10.0.0.100/24]}\n"
	}
	a := startRealVRRP(t, h1, conf(150))
	b := startRealVRRP(t, h2, conf(100))
	wait := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s: d1 %v holds %v, d2 %v holds %v", what, a.state(), a.holds(t), b.state(), b.holds(t))
	}
	isMaster := func(m, o *realVRRP) func() bool {
		return func() bool { return m.state() == vrrp.Master && m.holds(t) && o.state() != vrrp.Master && !o.holds(t) }
	}
	wait("d1 master", isMaster(a, b))
	// d1's first advertisement is sent as it becomes master: d2 counts
	// it a moment later (the packet is on its way when d1 reports).
	wait("d2 receiving d1's advertisements", func() bool {
		return a.d.Status().VRRP[0].Stats.AdvertsSent > 0 && b.d.Status().VRRP[0].Stats.AdvertsRecvd > 0
	})
	setLink(t, h1, false)
	wait("d1 in FAULT, d2 master", func() bool { return a.state() == vrrp.Fault && !a.holds(t) && b.state() == vrrp.Master && b.holds(t) })
	setLink(t, h1, true)
	wait("d1 master again", isMaster(a, b))
	start := time.Now()
	a.stop()
	if a.holds(t) {
		t.Error("d1 stopped still holds the VIP")
	}
	wait("d2 master", func() bool { return b.state() == vrrp.Master && b.holds(t) })
	t.Logf("takeover %v after the clean stop", time.Since(start).Round(time.Millisecond))
}
