package realserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

var vip6b = netip.MustParseAddr("2001:db8::101")

// capture6 is capture plus the IPv6 keys of "all", "default" and each of
// ifaces that an IPv6 role could touch.
func capture6(t *testing.T, ns int, ifaces ...string) state {
	t.Helper()
	st := capture(t, ns, ifaces...)
	sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var keys []sysctl.Key
	for _, i := range append([]string{"all", "default"}, ifaces...) {
		for _, k := range []string{"disable_ipv6", "forwarding", "accept_dad", "keep_addr_on_down"} {
			keys = append(keys, sysctl.ConfIPv6(i, k))
		}
	}
	more, err := sc.Snapshot(context.Background(), keys...)
	if err != nil {
		t.Fatal(err)
	}
	st.sysctls = append(st.sysctls, more...)
	return st
}

// tun6Cases are the IPv6 encapsulations: ip6ip6 on ip6tnl0, GUE (IPv6 in
// IPv6 in UDP over IPv6) also on ip6tnl0, GRE on ip6gre0.
var tun6Cases = []struct {
	encap   Encap
	port    uint16
	dev     string
	modules []string
	dest    ipvs.Destination
}{
	{IPIP, 0, "ip6tnl0", []string{"ip6_tunnel"}, ipvs.Destination{}},
	{GUE, 6080, "ip6tnl0", []string{"ip6_tunnel", "fou"}, ipvs.Destination{TunnelType: ipvs.TunnelGUE, TunnelPort: 6080}},
	{GRE, 0, "ip6gre0", []string{"ip6_gre"}, ipvs.Destination{TunnelType: ipvs.TunnelGRE}},
}

// TestTUN6SetupTeardown: the IPv6 TUN role for each encapsulation in a
// fresh namespace, once with IPv6 disabled on the tunnel device (the
// decapsulated packets would be dropped there, and the VIPs refused):
// Check names what is missing, Setup fixes it without touching any IPv4
// key, a second Setup changes nothing, Teardown restores everything
// exactly (the device down, its addresses gone, disable_ipv6 back).
func TestTUN6SetupTeardown(t *testing.T) {
	for _, tc := range tun6Cases {
		for _, disabled := range []bool{false, true} {
			name := tc.encap.String()
			if disabled {
				name += "/disable_ipv6"
			}
			t.Run(name, func(t *testing.T) {
				vmtest.Require(t, tc.modules...)
				ns := int(nstest.New(t))
				ctx := context.Background()
				cfg := &Config{Mode: TUN, VIPs: []netip.Addr{vip6, vip6b}, Encap: tc.encap, GUEPort: tc.port, NetNS: ns}
				if disabled {
					setSysctls(t, ns, sysctl.Setting{Key: sysctl.ConfIPv6(tc.dev, "disable_ipv6"), Value: "1"})
				}
				before := capture6(t, ns, tc.dev)
				if !slices.Contains(before.addrs, tc.dev+" flags ") {
					t.Fatalf("%s is not down in a fresh namespace: %v", tc.dev, before.addrs)
				}

				st, err := Check(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{
					"interface " + tc.dev + " is down",
					"VIP 2001:db8::100 is not on " + tc.dev,
					"VIP 2001:db8::101 is not on " + tc.dev,
				}
				if disabled {
					want = append(want, "net.ipv6.conf."+tc.dev+".disable_ipv6 is 1, want 0")
				}
				if tc.encap == GUE {
					want = append(want, fmt.Sprintf("GUE receive port %d is not open", tc.port))
				}
				if !slices.Equal(st.Problems, want) {
					t.Errorf("Check before Setup:\n%q\nwant\n%q", st.Problems, want)
				}

				role, err := Setup(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { release(role) })
				t.Logf("Setup changed: %q", role.Changes())
				for _, c := range role.Changes() {
					if strings.Contains(c, "net.ipv4") {
						t.Errorf("an IPv6 TUN role changed an IPv4 key: %q", c)
					}
				}
				if st, err := Check(ctx, cfg); err != nil || !st.OK() {
					t.Errorf("Check after Setup: %+v, %v", st, err)
				}
				after := capture6(t, ns, tc.dev)
				for _, w := range []string{tc.dev + " 2001:db8::100/128", tc.dev + " 2001:db8::101/128", tc.dev + " flags u"} {
					if !slices.Contains(after.addrs, w) {
						t.Errorf("after Setup, %v lacks %q", after.addrs, w)
					}
				}
				if !slices.Contains(after.sysctls, sysctl.Setting{Key: sysctl.ConfIPv6(tc.dev, "disable_ipv6"), Value: "0"}) {
					t.Errorf("disable_ipv6 on %s is not 0 after Setup: %v", tc.dev, after.sysctls)
				}
				if tc.encap == GUE {
					if open, err := hasGUEPort(ns, tc.port, true); err != nil || !open {
						t.Errorf("IPv6 GUE port %d not open after Setup: %v, %v", tc.port, open, err)
					}
					if open, err := hasGUEPort(ns, tc.port, false); err != nil || open {
						t.Errorf("an IPv4 GUE port %d was opened: %v, %v", tc.port, open, err)
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
				if tc.encap == GUE {
					if open, err := hasGUEPort(ns, tc.port, true); err != nil || open {
						t.Errorf("GUE port %d open after Teardown: %v, %v", tc.port, open, err)
					}
				}
			})
		}
	}
}

// lab6Director builds the IPv6 DR lab (lab.DR6), puts vip6 on the
// director's lo with a route to it on the router, and creates the IPv6
// service [vip6]:80 (rr) with rs1 and rs2 as Tunnel destinations of the
// given tunnel type.
func lab6Director(t *testing.T, tun ipvs.Destination) (*lab.Lab, *ipvs.Client, ipvs.Service) {
	t.Helper()
	l := labtest.Build(t, lab.DR6())
	director := labtest.Host(t, l, lab.Director)
	if err := director.AddAddr("lo", vip6.String()+"/128"); err != nil {
		t.Fatal(err)
	}
	if err := labtest.Host(t, l, lab.Router).Route(vip6.String()+"/128", "fd00:1::8"); err != nil {
		t.Fatal(err)
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip6, 80), Scheduler: ipvs.RoundRobin}
	var b ipvs.Batch
	b.CreateService(svc)
	for _, rip := range []string{"[fd00:1::110]:80", "[fd00:1::120]:80"} {
		d := tun
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
	return l, c, svc
}

const url6 = "http://[2001:db8::100]/"

// TestTUN6EndToEnd: an IPv6 service tunnelled (ip6ip6, GUE, GRE) to two
// IPv6 real servers set up only through Setup: requests alternate (rr),
// replies bypass the director (it counts packets in, none out), and after
// Teardown requests fail again and each real server is read back exactly
// as before (tunnel device down without addresses, sysctls as they were).
func TestTUN6EndToEnd(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "ip6_tunnel", "ip6_gre", "fou", "veth", "bridge")
	for _, tc := range tun6Cases {
		t.Run(tc.encap.String(), func(t *testing.T) {
			l, c, svc := lab6Director(t, tc.dest)
			client := labtest.Host(t, l, lab.Client)
			rss := []*lab.Host{labtest.Host(t, l, lab.RS1), labtest.Host(t, l, lab.RS2)}
			var before []state
			for _, rs := range rss {
				before = append(before, capture6(t, int(rs.NS()), tc.dev))
			}
			// Without the role the real servers drop the tunnelled packets
			// (and these requests warm the neighbour caches).
			for i := 0; i < 2; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				if _, err := client.Get(ctx, url6); err == nil {
					t.Error("a request succeeded before the real servers had the VIP")
				}
				cancel()
			}
			roles := setupRS(t, l, Config{Mode: TUN, VIPs: []netip.Addr{vip6}, Encap: tc.encap, GUEPort: tc.port})
			t.Logf("%v Setup changed: %q", tc.encap, roles[0].Changes())
			tunnelTraffic(t, client, url6, c, svc)
			teardownRoles(t, roles, client, url6)
			for i, rs := range rss {
				got := capture6(t, int(rs.NS()), tc.dev)
				if !got.equal(before[i]) {
					t.Errorf("%s after Teardown:\n%+v\nwant exactly:\n%+v", rs.Name(), got, before[i])
				}
				for _, a := range got.addrs {
					if strings.HasPrefix(a, tc.dev+" ") && !strings.HasPrefix(a, tc.dev+" flags") {
						t.Errorf("%s: %s still has %s", rs.Name(), tc.dev, a)
					}
				}
			}
			if tc.encap == GUE {
				if open, err := hasGUEPort(int(rss[0].NS()), tc.port, true); err != nil || open {
					t.Errorf("GUE port %d still open after Teardown (%v)", tc.port, err)
				}
			}
		})
	}
}
