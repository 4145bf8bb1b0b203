package realserver

import (
	"context"

	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: []string{"ip_vs", "ip_vs_wrr", "ip_vs_rr", "ipip", "fou", "ip_gre", "ip6_tunnel", "ip6_gre", "sit", "dummy", "veth", "bridge"}})
}

// TestDummyInterface: DR VIPs on a dummy device the role creates and
// deletes.
func TestDummyInterface(t *testing.T) {
	vmtest.Require(t, "dummy")
	ns := int(nstest.New(t))
	ctx := context.Background()
	before := capture(t, ns)
	cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip, vip6}, Interface: "vip0", Dummy: true, NetNS: ns}
	role, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(role) })
	t.Logf("Setup changed: %q", role.Changes())
	st := capture(t, ns, "vip0")
	for _, want := range []string{"vip0 10.0.0.100/32", "vip0 2001:db8::100/128", "vip0 flags u"} {
		if !slices.Contains(st.addrs, want) {
			t.Errorf("addresses %v lack %q", st.addrs, want)
		}
	}
	if s, err := Check(ctx, cfg); err != nil || !s.OK() {
		t.Errorf("Check: %+v, %v", s, err)
	}
	if err := role.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := capture(t, ns); !got.equal(before) {
		t.Errorf("after Teardown:\n%+v\nwant:\n%+v", got, before)
	}
}

// labDirector builds the note's DR topology, puts the VIP on the
// director's lo and creates the IPVS service with rs1 (weight 1) and rs2
// (weight 2) forwarded by fwd.
func labDirector(t *testing.T, fwd ipvs.ForwardMethod, sched ipvs.Scheduler, tun ...ipvs.Destination) (*lab.Lab, *ipvs.Client, ipvs.Service) {
	t.Helper()
	l := labtest.Build(t, lab.DR())
	director := labtest.Host(t, l, lab.Director)
	if err := director.AddAddr("lo", "10.0.0.100/32"); err != nil {
		t.Fatal(err)
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: sched}
	var b ipvs.Batch
	b.CreateService(svc)
	for i, rip := range []string{"10.0.0.110:80", "10.0.0.120:80"} {
		d := ipvs.Destination{Addr: netip.MustParseAddrPort(rip), Forward: fwd, Weight: i + 1}
		if len(tun) > 0 { // tunnel settings
			d.TunnelType, d.TunnelPort, d.TunnelFlags = tun[0].TunnelType, tun[0].TunnelPort, tun[0].TunnelFlags
		}
		b.CreateDestination(svc, d)
	}
	if res, err := c.Apply(context.Background(), &b); err != nil {
		t.Fatal(err)
	} else {
		for _, e := range res {
			if e != nil {
				t.Fatal(e)
			}
		}
	}
	return l, c, svc
}

func get(t *testing.T, l *lab.Lab, n int) []string {
	t.Helper()
	client := labtest.Host(t, l, lab.Client)
	var out []string
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		body, err := client.Get(ctx, "http://10.0.0.100/")
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		out = append(out, body)
	}
	return out
}

// TestDREndToEnd: real servers set up only through Setup answer the
// client's requests in wrr 1:2 proportion, and their replies bypass the
// director (it counts packets in, none out).
func TestDREndToEnd(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_wrr", "veth", "bridge")
	l, c, svc := labDirector(t, ipvs.DirectRoute, ipvs.WeightedRoundRobin)
	// Without the role the real servers drop packets for the VIP.
	client := labtest.Host(t, l, lab.Client)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if _, err := client.Get(ctx, "http://10.0.0.100/"); err == nil {
		t.Error("a request succeeded before the real servers had the VIP")
	}
	cancel()
	setupRS(t, l, Config{Mode: DR, VIPs: []netip.Addr{vip}})
	c.ZeroAll(context.Background())
	answers := get(t, l, 6)
	count := map[string]int{}
	for _, a := range answers {
		count[a]++
	}
	if count["rs1"] != 2 || count["rs2"] != 4 {
		t.Errorf("answers %v, want rs1:rs2 = 1:2", answers)
	}
	st := waitStats(t, c, svc, 6)
	if st.PacketsIn == 0 || st.PacketsOut != 0 {
		t.Errorf("director stats %+v: in DR replies bypass the director (want packets in, none out)", st)
	}
}

// TestTUNEndToEnd: the same over each tunnel encapsulation, with the real
// servers' VIP on the tunnel device and rp_filter off, all set by Setup.
func TestTUNEndToEnd(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "ipip", "fou", "ip_gre", "veth", "bridge")
	for _, tc := range []struct {
		encap Encap
		port  uint16
		dest  ipvs.Destination
	}{
		{IPIP, 0, ipvs.Destination{}},
		{GUE, 6080, ipvs.Destination{TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
		{GRE, 0, ipvs.Destination{TunnelType: ipvs.TunnelGRE}},
	} {
		t.Run(tc.encap.String(), func(t *testing.T) {
			l, c, svc := labDirector(t, ipvs.Tunnel, ipvs.RoundRobin, tc.dest)
			// Strict reverse-path filtering, as some distributions ship it:
			// the role must turn it off where it matters.
			for _, rs := range []string{lab.RS1, lab.RS2} {
				if err := labtest.Host(t, l, rs).Sysctl("net.ipv4.conf.all.rp_filter", "1"); err != nil {
					t.Fatal(err)
				}
			}
			roles := setupRS(t, l, Config{Mode: TUN, VIPs: []netip.Addr{vip}, Encap: tc.encap, GUEPort: tc.port})
			t.Logf("%v Setup changed: %q", tc.encap, roles[0].Changes())
			client := labtest.Host(t, l, lab.Client)
			tunnelTraffic(t, client, "http://10.0.0.100/", c, svc)
			// Teardown takes the servers out: requests stop working.
			teardownRoles(t, roles, client, "http://10.0.0.100/")
			if tc.encap == GUE {
				f, err := dialFOU(int(labtest.Host(t, l, lab.RS1).NS()), false)
				if err != nil {
					t.Fatal(err)
				}
				defer f.close()
				if open, err := f.hasGUE(tc.port); err != nil || open {
					t.Errorf("GUE port %d still open after Teardown (%v)", tc.port, err)
				}
			}
		})
	}
}

func setupRS(t *testing.T, l *lab.Lab, cfg Config) []*Role {
	t.Helper()
	var roles []*Role
	for _, rs := range []string{lab.RS1, lab.RS2} {
		cfg.NetNS = int(labtest.Host(t, l, rs).NS())
		r, err := Setup(context.Background(), &cfg)
		if err != nil {
			t.Fatalf("%s: %v", rs, err)
		}
		t.Cleanup(func() { release(r) })
		roles = append(roles, r)
	}
	return roles
}

func waitStats(t *testing.T, c *ipvs.Client, svc ipvs.Service, conns uint64) ipvs.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := c.Service(context.Background(), svc)
		if err != nil {
			t.Fatal(err)
		}
		if s.Stats.Connections >= conns || time.Now().After(deadline) {
			if s.Stats.Connections < conns {
				t.Fatalf("stats %+v never reached %d connections", s.Stats, conns)
			}
			return s.Stats
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tunnelTraffic zeroes the director's counters, makes four requests of url
// from client and checks they alternate (rr) and that the director saw
// requests but sent no reply: with tunnels, replies bypass it.
func tunnelTraffic(t *testing.T, client *lab.Host, url string, c *ipvs.Client, svc ipvs.Service) {
	t.Helper()
	if err := c.ZeroAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var answers []string
	for i := 0; i < 4; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := client.Get(ctx, url)
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		answers = append(answers, body)
	}
	t.Logf("answers %v", answers)
	if answers[0] == answers[1] || answers[0] != answers[2] || answers[1] != answers[3] {
		t.Errorf("rr answers %v, want alternating", answers)
	}
	st := waitStats(t, c, svc, 4)
	t.Logf("director stats: %+v", st)
	if st.PacketsIn == 0 || st.PacketsOut != 0 {
		t.Errorf("director stats %+v: with tunnels replies bypass the director (want packets in, none out)", st)
	}
}

// teardownRoles tears the roles down and checks that url no longer
// answers.
func teardownRoles(t *testing.T, roles []*Role, client *lab.Host, url string) {
	t.Helper()
	for _, r := range roles {
		if err := r.Teardown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := client.Get(ctx, url); err == nil {
		t.Error("a request succeeded after the real servers left the role")
	}
}
