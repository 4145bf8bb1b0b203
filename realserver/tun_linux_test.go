package realserver

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/sysctl"
)

// TestTUNSetupTeardown: the TUN role for each encapsulation in a fresh
// namespace with hostile prior values (strict rp_filter, odd ARP values,
// the tunnel device down): Check names what is missing, Setup fixes it,
// a second Setup changes nothing, Teardown restores everything exactly.
func TestTUNSetupTeardown(t *testing.T) {
	for _, tc := range []struct {
		encap   Encap
		port    uint16
		dev     string
		modules []string
	}{
		{IPIP, 0, "tunl0", []string{"ipip"}},
		{GUE, 6080, "tunl0", []string{"ipip", "fou"}},
		{GRE, 0, "gre0", []string{"ip_gre"}},
	} {
		t.Run(tc.encap.String(), func(t *testing.T) {
			vmtest.Require(t, tc.modules...)
			ns := int(nstest.New(t))
			ctx := context.Background()
			cfg := &Config{Mode: TUN, VIPs: []netip.Addr{vip, vip2}, Encap: tc.encap, GUEPort: tc.port, NetNS: ns}
			setSysctls(t, ns,
				sysctl.Setting{Key: sysctl.RPFilter("all"), Value: "1"},
				sysctl.Setting{Key: sysctl.ArpIgnore("all"), Value: "2"},
				sysctl.Setting{Key: sysctl.ArpAnnounce(tc.dev), Value: "1"},
			)
			before := capture(t, ns, tc.dev)
			if !slices.Contains(before.addrs, tc.dev+" flags ") {
				t.Fatalf("%s is not down in a fresh namespace: %v", tc.dev, before.addrs)
			}

			st, err := Check(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"interface " + tc.dev + " is down",
				"VIP 10.0.0.100 is not on " + tc.dev,
				"VIP 172.16.0.100 is not on " + tc.dev,
				"net.ipv4.conf.all.arp_ignore is 2, want 1",
				"net.ipv4.conf.all.arp_announce is 0, want 2",
				"net.ipv4.conf." + tc.dev + ".arp_ignore is 0, want 1",
				"net.ipv4.conf." + tc.dev + ".arp_announce is 1, want 2",
				"effective rp_filter on " + tc.dev + " is strict: max(all=1, " + tc.dev + "=0) = 1 drops decapsulated packets; want 0 (or 2)",
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
			if st, err := Check(ctx, cfg); err != nil || !st.OK() {
				t.Errorf("Check after Setup: %+v, %v", st, err)
			}
			after := capture(t, ns, tc.dev)
			for _, w := range []string{tc.dev + " 10.0.0.100/32", tc.dev + " 172.16.0.100/32", tc.dev + " flags u"} {
				if !slices.Contains(after.addrs, w) {
					t.Errorf("after Setup, %v lacks %q", after.addrs, w)
				}
			}
			for _, s := range after.sysctls {
				if s.Key == sysctl.RPFilter("all") || s.Key == sysctl.RPFilter(tc.dev) {
					if s.Value != "0" {
						t.Errorf("%s = %s after Setup, want 0", s.Key, s.Value)
					}
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

			// rp_filter loose (2) on the device also works: Check accepts it.
			setSysctls(t, ns, sysctl.Setting{Key: sysctl.RPFilter(tc.dev), Value: "2"})
			if st, err := Check(ctx, cfg); err != nil || !st.OK() {
				t.Errorf("Check with loose rp_filter on %s: %+v, %v", tc.dev, st, err)
			}
			setSysctls(t, ns, sysctl.Setting{Key: sysctl.RPFilter(tc.dev), Value: "0"})

			if err := role.Teardown(ctx); err != nil {
				t.Fatal(err)
			}
			if got := capture(t, ns, tc.dev); !got.equal(before) {
				t.Errorf("after Teardown:\n%+v\nwant exactly:\n%+v", got, before)
			}
			if tc.encap == GUE {
				if open, err := hasGUEPort(ns, tc.port, false); err != nil || open {
					t.Errorf("GUE port %d open after Teardown: %v, %v", tc.port, open, err)
				}
			}
		})
	}
}
