package realserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// tunxCase is a cross-family TUN role: VIPs of one family, tunnelled in
// packets of the other.
type tunxCase struct {
	vip6    bool        // IPv6 VIPs in IPv4 packets; else IPv4 VIPs in IPv6
	outer   ipvs.Family // the tunnel's (outer) family
	encap   Encap
	port    uint16
	dev     string
	modules []string
	dest    ipvs.Destination
}

func (tc tunxCase) name() string {
	if tc.vip6 {
		return "6in4/" + tc.encap.String()
	}
	return "4in6/" + tc.encap.String()
}

var tunxCases = []tunxCase{
	{false, ipvs.IPv6, IPIP, 0, "ip6tnl0", []string{"ip6_tunnel"}, ipvs.Destination{}},
	{false, ipvs.IPv6, GUE, 6080, "ip6tnl0", []string{"ip6_tunnel", "fou"}, ipvs.Destination{TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
	{false, ipvs.IPv6, GRE, 0, "ip6gre0", []string{"ip6_gre"}, ipvs.Destination{TunnelType: ipvs.TunnelGRE}},
	{true, ipvs.IPv4, IPIP, 0, "sit0", []string{"sit"}, ipvs.Destination{}},
	{true, ipvs.IPv4, GUE, 6080, "sit0", []string{"sit", "fou"}, ipvs.Destination{TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
	{true, ipvs.IPv4, GRE, 0, "gre0", []string{"ip_gre"}, ipvs.Destination{TunnelType: ipvs.TunnelGRE}},
}

// tunnelMode is ip6tnl0's tunnel protocol as ip -6 tunnel names it
// ("absent" without the device).
func tunnelMode(t *testing.T, ns int) string {
	t.Helper()
	rt, err := rtnl.Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	l, err := rt.FindLink("ip6tnl0")
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		return "absent"
	}
	_, p, err := ip6tnlData(rt, l.Index)
	if err != nil {
		t.Fatal(err)
	}
	return tunnelProtoName(p)
}

// ensureIPv6Conf makes the kernel create dev's IPv6 configuration if it
// has none yet, by setting dev up and down again: gre0 gets one only when
// first up, and keeps it (an inet6_dev lives as long as its device), so
// that part of a role over gre0 cannot be undone. Tests that compare a
// namespace before and after a role start from there.
func ensureIPv6Conf(t *testing.T, ns int, dev string) {
	t.Helper()
	sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Get(context.Background(), sysctl.ConfIPv6(dev, "disable_ipv6")); err == nil {
		return
	}
	rt, err := rtnl.Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	l, err := rt.FindLink(dev)
	if err != nil || l == nil {
		t.Fatalf("%s: %v, %v", dev, l, err)
	}
	if err := rt.SetUp(l.Index, true); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetUp(l.Index, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Get(context.Background(), sysctl.ConfIPv6(dev, "disable_ipv6")); err != nil {
		t.Fatalf("%s has no IPv6 configuration after it was up: %v", dev, err)
	}
	t.Logf("%s had no IPv6 configuration until it was first up", dev)
}

// logNetlinkMode logs whether this kernel lets rtnetlink set ip6tnl0's
// parameters (as read, unchanged), or setTunnelProto needs the ioctl.
func logNetlinkMode(t *testing.T, ns int) {
	t.Helper()
	rt, err := rtnl.Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	l, err := rt.FindLink("ip6tnl0")
	if err != nil || l == nil {
		t.Fatalf("ip6tnl0: %v, %v", l, err)
	}
	data, _, err := ip6tnlData(rt, l.Index)
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Link.Set(&rtnetlink.LinkMessage{Index: l.Index, Attributes: &rtnetlink.LinkAttributes{Info: &rtnetlink.LinkInfo{
		Kind: "ip6tnl", Data: &rtnetlink.LinkData{Name: "ip6tnl", Data: data}}}})
	t.Logf("rtnetlink change of ip6tnl0 on this kernel: %v", err)
}

// TestTUNCrossSetupTeardown: the cross-family TUN roles in a fresh
// namespace with hostile prior values (strict rp_filter for IPv4 VIPs,
// IPv6 disabled on the device for IPv6 VIPs): Check names what is
// missing, Setup fixes it (ip6tnl0 in mode any for IPv4 VIPs over IPv6
// ipip or GUE, the GUE port of the outer family), a second Setup changes
// nothing, and Teardown restores everything exactly, ip6tnl0's mode
// included.
func TestTUNCrossSetupTeardown(t *testing.T) {
	for _, tc := range tunxCases {
		t.Run(tc.name(), func(t *testing.T) {
			modules := tc.modules
			if !slices.Contains(modules, "ip6_tunnel") {
				modules = append([]string{"ip6_tunnel"}, modules...) // tunnelMode reads ip6tnl0
			}
			vmtest.Require(t, modules...)
			ns := int(nstest.New(t))
			ctx := context.Background()
			cfg := &Config{Mode: TUN, VIPs: []netip.Addr{vip, vip2}, OuterFamily: tc.outer, Encap: tc.encap, GUEPort: tc.port, NetNS: ns}
			var want []string
			if tc.vip6 {
				cfg.VIPs = []netip.Addr{vip6, vip6b}
				// Before gre0 was ever up it has no IPv6 keys: Check says
				// it is down, not that a key is missing.
				if st, err := Check(ctx, cfg); err != nil || !slices.Contains(st.Problems, "interface "+tc.dev+" is down") || strings.Contains(strings.Join(st.Problems, "\n"), "no such file") {
					t.Errorf("Check in a fresh namespace: %+v, %v", st, err)
				}
				ensureIPv6Conf(t, ns, tc.dev)
				setSysctls(t, ns, sysctl.Setting{Key: sysctl.ConfIPv6(tc.dev, "disable_ipv6"), Value: "1"})
				want = []string{
					"interface " + tc.dev + " is down",
					"VIP 2001:db8::100 is not on " + tc.dev,
					"VIP 2001:db8::101 is not on " + tc.dev,
					"net.ipv6.conf." + tc.dev + ".disable_ipv6 is 1, want 0",
				}
			} else {
				setSysctls(t, ns, sysctl.Setting{Key: sysctl.RPFilter("all"), Value: "1"})
				want = []string{
					"interface " + tc.dev + " is down",
					"VIP 10.0.0.100 is not on " + tc.dev,
					"VIP 172.16.0.100 is not on " + tc.dev,
					"effective rp_filter on " + tc.dev + " is strict: max(all=1, " + tc.dev + "=0) = 1 drops decapsulated packets; want 0 (or 2)",
				}
				if tc.dev == "ip6tnl0" {
					want = append(want, "ip6tnl0 decapsulates only IPv6 in IPv6 (tunnel mode ip6ip6), not the IPv4 VIPs' packets; want mode any")
				}
			}
			if tc.encap == GUE {
				want = append(want, fmt.Sprintf("GUE receive port %d is not open", tc.port))
			}
			before := capture6(t, ns, tc.dev)
			mode := tunnelMode(t, ns)
			if mode != "ip6ip6" {
				t.Fatalf("ip6tnl0 in a fresh namespace is in mode %s, want ip6ip6", mode)
			}
			if !slices.Contains(before.addrs, tc.dev+" flags ") {
				t.Fatalf("%s is not down in a fresh namespace: %v", tc.dev, before.addrs)
			}
			if tc.dev == "ip6tnl0" && tc.encap == IPIP {
				logNetlinkMode(t, ns)
			}

			st, err := Check(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				if !slices.Contains(st.Problems, w) {
					t.Errorf("Check before Setup lacks %q; it found:\n%q", w, st.Problems)
				}
			}

			role, err := Setup(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { release(role) })
			t.Logf("Setup changed: %q", role.Changes())
			if st, err := Check(ctx, cfg); err != nil || !st.OK() {
				t.Errorf("Check after Setup: %+v, %v", st, err)
			}
			after := capture6(t, ns, tc.dev)
			wantAddrs := []string{tc.dev + " 10.0.0.100/32", tc.dev + " 172.16.0.100/32", tc.dev + " flags u"}
			if tc.vip6 {
				wantAddrs = []string{tc.dev + " 2001:db8::100/128", tc.dev + " 2001:db8::101/128", tc.dev + " flags u"}
			}
			for _, w := range wantAddrs {
				if !slices.Contains(after.addrs, w) {
					t.Errorf("after Setup, %v lacks %q", after.addrs, w)
				}
			}
			wantMode := "ip6ip6"
			if tc.dev == "ip6tnl0" {
				wantMode = "any"
			}
			if got := tunnelMode(t, ns); got != wantMode {
				t.Errorf("ip6tnl0 in mode %s after Setup, want %s", got, wantMode)
			}
			for _, c := range role.Changes() {
				if tc.vip6 && strings.Contains(c, "net.ipv4") {
					t.Errorf("a role for IPv6 VIPs changed an IPv4 key: %q", c)
				}
			}
			if tc.encap == GUE {
				if open, err := hasGUEPort(ns, tc.port, tc.outer == ipvs.IPv6); err != nil || !open {
					t.Errorf("GUE port %d of the outer family %v not open after Setup: %v, %v", tc.port, tc.outer, open, err)
				}
				if open, err := hasGUEPort(ns, tc.port, tc.outer != ipvs.IPv6); err != nil || open {
					t.Errorf("a GUE port %d of the VIPs' family was opened: %v, %v", tc.port, open, err)
				}
			}

			again, err := Setup(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { release(again) })
			if c := again.Changes(); len(c) != 0 {
				t.Errorf("second Setup changed %q", c)
			}

			if err := role.Teardown(ctx); err != nil {
				t.Fatal(err)
			}
			if got := capture6(t, ns, tc.dev); !got.equal(before) {
				t.Errorf("after Teardown:\n%+v\nwant exactly:\n%+v", got, before)
			}
			if got := tunnelMode(t, ns); got != mode {
				t.Errorf("ip6tnl0 in mode %s after Teardown, want %s", got, mode)
			}
			if tc.encap == GUE {
				if open, err := hasGUEPort(ns, tc.port, tc.outer == ipvs.IPv6); err != nil || open {
					t.Errorf("GUE port %d open after Teardown: %v, %v", tc.port, open, err)
				}
			}
		})
	}
}

// labCross builds a dual-stack LAN for a service of one family whose real
// servers are tunnelled to in the other: for IPv4 VIPs lab.DR() with
// fd00:1::8, fd00:1::110 and fd00:1::120 added on the LAN, the IPv4 VIP on
// the director's lo and the service 10.0.0.100:80 (rr) with the real
// servers' IPv6 addresses as Tunnel destinations; for IPv6 VIPs lab.DR6()
// with 10.0.0.8, 10.0.0.110 and 10.0.0.120 added, vip6 on the director's lo
// (routed to by the router) and [2001:db8::100]:80 with IPv4 destinations.
// It returns the lab, the director's client, the service and its URL.
func labCross(t *testing.T, tc tunxCase) (*lab.Lab, *ipvs.Client, ipvs.Service, string) {
	t.Helper()
	spec, v, url, dips, rips := lab.DR(), vip, "http://10.0.0.100/",
		[]string{"fd00:1::8/64", "fd00:1::110/64", "fd00:1::120/64"}, []string{"[fd00:1::110]:80", "[fd00:1::120]:80"}
	if tc.vip6 {
		spec, v, url, dips, rips = lab.DR6(), vip6, url6,
			[]string{"10.0.0.8/24", "10.0.0.110/24", "10.0.0.120/24"}, []string{"10.0.0.110:80", "10.0.0.120:80"}
	}
	l := labtest.Build(t, spec)
	for i, h := range []string{lab.Director, lab.RS1, lab.RS2} {
		if err := labtest.Host(t, l, h).AddAddr("eth0", dips[i]); err != nil {
			t.Fatal(err)
		}
	}
	director := labtest.Host(t, l, lab.Director)
	if err := director.AddAddr("lo", netip.PrefixFrom(v, v.BitLen()).String()); err != nil {
		t.Fatal(err)
	}
	if tc.vip6 {
		if err := labtest.Host(t, l, lab.Router).Route(vip6.String()+"/128", "fd00:1::8"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(v, 80), Scheduler: ipvs.RoundRobin}
	var b ipvs.Batch
	b.CreateService(svc)
	for _, rip := range rips {
		d := tc.dest
		d.Addr, d.Forward, d.Weight = netip.MustParseAddrPort(rip), ipvs.Tunnel, 1
		b.CreateDestination(svc, d)
	}
	res, err := c.Apply(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res {
		if e != nil {
			t.Fatal(e)
		}
	}
	return l, c, svc, url
}

// TestTUNCrossEndToEnd: an IPv4 service whose real servers are IPv6
// addresses (IPv4 in IPv6: ipip and GUE on ip6tnl0, GRE on ip6gre0) and an
// IPv6 service whose real servers are IPv4 addresses (IPv6 in IPv4: ipip
// and GUE on sit0, GRE on gre0), the real servers set up only through
// Setup with OuterFamily: requests alternate (rr), replies bypass the
// director (it counts packets in, none out), and after Teardown requests
// fail again and each real server reads back exactly as before (devices,
// addresses, sysctls, ip6tnl0's tunnel mode).
func TestTUNCrossEndToEnd(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "ip6_tunnel", "ip6_gre", "ip_gre", "sit", "fou", "veth", "bridge")
	for _, tc := range tunxCases {
		t.Run(tc.name(), func(t *testing.T) {
			l, c, svc, url := labCross(t, tc)
			client := labtest.Host(t, l, lab.Client)
			rss := []*lab.Host{labtest.Host(t, l, lab.RS1), labtest.Host(t, l, lab.RS2)}
			// Strict reverse-path filtering on the real servers: a role for
			// IPv4 VIPs must turn it off where the inner packets arrive.
			if !tc.vip6 {
				for _, rs := range rss {
					if err := rs.Sysctl("net.ipv4.conf.all.rp_filter", "1"); err != nil {
						t.Fatal(err)
					}
				}
			}
			var before []state
			var modes []string
			for _, rs := range rss {
				ensureIPv6Conf(t, int(rs.NS()), tc.dev)
				before = append(before, capture6(t, int(rs.NS()), tc.dev))
				modes = append(modes, tunnelMode(t, int(rs.NS())))
			}
			// Without the role the real servers drop the tunnelled packets
			// (and these requests warm the neighbour caches).
			for i := 0; i < 2; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				if _, err := client.Get(ctx, url); err == nil {
					t.Error("a request succeeded before the real servers were in the role")
				}
				cancel()
			}
			vips := []netip.Addr{vip}
			if tc.vip6 {
				vips = []netip.Addr{vip6}
			}
			roles := setupRS(t, l, Config{Mode: TUN, VIPs: vips, OuterFamily: tc.outer, Encap: tc.encap, GUEPort: tc.port})
			t.Logf("%s Setup changed: %q", tc.name(), roles[0].Changes())
			tunnelTraffic(t, client, url, c, svc)
			teardownRoles(t, roles, client, url)
			for i, rs := range rss {
				got := capture6(t, int(rs.NS()), tc.dev)
				if !got.equal(before[i]) {
					t.Errorf("%s after Teardown:\n%+v\nwant exactly:\n%+v", rs.Name(), got, before[i])
				}
				if m := tunnelMode(t, int(rs.NS())); m != modes[i] {
					t.Errorf("%s: ip6tnl0 in mode %s after Teardown, want %s", rs.Name(), m, modes[i])
				}
			}
			if tc.encap == GUE {
				if open, err := hasGUEPort(int(rss[0].NS()), tc.port, tc.outer == ipvs.IPv6); err != nil || open {
					t.Errorf("GUE port %d still open after Teardown (%v)", tc.port, err)
				}
			}
		})
	}
}
