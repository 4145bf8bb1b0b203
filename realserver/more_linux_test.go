package realserver

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/sysctl"
	"golang.org/x/sys/unix"
)

// hostSysctls are the host's own values of the keys the roles write.
func hostSysctls(t *testing.T) sysctl.Snapshot {
	t.Helper()
	return capture(t, 0, "lo").sysctls
}

// TestSetupStaysInItsNamespace: Setup and Teardown in a namespace leave the
// caller's namespace (here the host's) untouched.
func TestSetupStaysInItsNamespace(t *testing.T) {
	ns := int(nstest.New(t))
	host := hostSysctls(t)
	ctx := context.Background()
	cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip}, NetNS: ns}
	role, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(role) })
	if len(role.Changes()) == 0 {
		t.Fatal("Setup in a fresh namespace changed nothing")
	}
	if got := hostSysctls(t); !slices.Equal(got, host) {
		t.Errorf("host sysctls changed by Setup in a namespace:\n%v\nwant\n%v", got, host)
	}
	if st, err := Check(ctx, &Config{Mode: DR, VIPs: []netip.Addr{vip}}); err != nil || st.OK() {
		t.Errorf("Check on the host: %+v, %v; the host must not be in the role", st, err)
	}
	if err := role.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hostSysctls(t); !slices.Equal(got, host) {
		t.Errorf("host sysctls changed by Teardown in a namespace:\n%v\nwant\n%v", got, host)
	}
}

// TestFailureHalfwayLinkDown: in a namespace whose lo was never up, Setup
// brings lo up, writes the ARP keys and adds the IPv4 VIP before the IPv6
// VIP fails; every one of those steps must be undone, lo back down.
func TestFailureHalfwayLinkDown(t *testing.T) {
	ns := int(nstest.NewBare(t))
	setSysctls(t, ns,
		sysctl.Setting{Key: sysctl.ConfIPv6("lo", "disable_ipv6"), Value: "1"},
		sysctl.Setting{Key: sysctl.ArpIgnore("all"), Value: "2"},
		sysctl.Setting{Key: sysctl.ArpAnnounce("lo"), Value: "1"},
	)
	before := capture(t, ns, "lo")
	if !slices.Contains(before.addrs, "lo flags ") {
		t.Fatalf("lo is not down in a bare namespace: %v", before.addrs)
	}
	_, err := Setup(context.Background(), &Config{Mode: DR, VIPs: []netip.Addr{vip, vip2, vip6}, NetNS: ns})
	if err == nil || !strings.Contains(err.Error(), vip6.String()) {
		t.Fatalf("Setup: %v, want the IPv6 VIP's failure", err)
	}
	if got := capture(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after a failed Setup:\n%+v\nwant exactly:\n%+v", got, before)
	}
}

// TestDottedInterface: DR on an existing interface whose name has a dot
// (a VLAN-style name, here a veth): its own ARP keys are written and
// restored, and the device stays.
func TestDottedInterface(t *testing.T) {
	ns := int(nstest.New(t))
	rt, err := rtnl.Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	const ifc = "eth0.100"
	if err := rt.CreateLink(ifc, "veth"); err != nil {
		t.Fatal(err)
	}
	setSysctls(t, ns, sysctl.Setting{Key: sysctl.ArpIgnore(ifc), Value: "3"})
	before := capture(t, ns, ifc)
	ctx := context.Background()
	cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip, vip6}, Interface: ifc, NetNS: ns}
	role, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(role) })
	t.Logf("Setup changed: %q", role.Changes())
	after := capture(t, ns, ifc)
	for _, want := range []string{ifc + " 10.0.0.100/32", ifc + " 2001:db8::100/128", ifc + " flags u"} {
		if !slices.Contains(after.addrs, want) {
			t.Errorf("addresses %v lack %q", after.addrs, want)
		}
	}
	sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if v, _ := sc.GetInt(context.Background(), sysctl.ArpIgnore(ifc)); v != 1 {
		t.Errorf("%s = %d, want 1", sysctl.ArpIgnore(ifc), v)
	}
	if st, err := Check(ctx, cfg); err != nil || !st.OK() {
		t.Errorf("Check: %+v, %v", st, err)
	}
	if err := role.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := capture(t, ns, ifc); !got.equal(before) {
		t.Errorf("after Teardown:\n%+v\nwant:\n%+v", got, before)
	}
}

// TestCheckNamesTheMistakes: the note's mistakes, one at a time, each
// named by Check.
func TestCheckNamesTheMistakes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, ns int, sc *sysctl.Sysctl)
		want   string
	}{
		{"lo arp_ignore forgotten", func(t *testing.T, ns int, sc *sysctl.Sysctl) {
			must(t, sc.SetInt(context.Background(), sysctl.ArpIgnore("lo"), 0))
		}, "net.ipv4.conf.lo.arp_ignore is 0, want 1"},
		{"all arp_announce forgotten", func(t *testing.T, ns int, sc *sysctl.Sysctl) {
			must(t, sc.SetInt(context.Background(), sysctl.ArpAnnounce("all"), 0))
		}, "net.ipv4.conf.all.arp_announce is 0, want 2"},
		{"VIP missing", func(t *testing.T, ns int, sc *sysctl.Sysctl) {
			rt, err := rtnl.Dial(ns)
			must(t, err)
			defer rt.Close()
			lo, err := rt.FindLink("lo")
			must(t, err)
			must(t, rt.DelAddr(lo.Index, netip.PrefixFrom(vip2, 32)))
		}, "VIP 172.16.0.100 is not on lo"},
		{"lo down", func(t *testing.T, ns int, sc *sysctl.Sysctl) {
			rt, err := rtnl.Dial(ns)
			must(t, err)
			defer rt.Close()
			lo, err := rt.FindLink("lo")
			must(t, err)
			must(t, rt.SetUp(lo.Index, false))
		}, "interface lo is down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := int(nstest.New(t))
			cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip, vip2}, NetNS: ns}
			role, err := Setup(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { release(role) })
			sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
			must(t, err)
			defer sc.Close()
			tc.break_(t, ns, sc)
			st, err := Check(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if st.OK() || len(st.Problems) != 1 || st.Problems[0] != tc.want {
				t.Errorf("Check problems %q, want exactly [%q]", st.Problems, tc.want)
			}
			// Setup again repairs exactly that.
			repair, err := Setup(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { release(repair) })
			if len(repair.Changes()) != 1 {
				t.Errorf("repairing Setup changed %q, want one step", repair.Changes())
			}
			if st, err := Check(ctx, cfg); err != nil || !st.OK() {
				t.Errorf("Check after repair: %+v, %v", st, err)
			}
		})
	}
}

// TestTUNWithoutTheModule: on a kernel without ipip (this host's), TUN
// Setup fails with errors.ErrUnsupported and changes nothing. Where the
// module exists the role is tested in TestTUNSetupTeardown.
func TestTUNWithoutTheModule(t *testing.T) {
	ns := int(nstest.New(t))
	before := capture(t, ns, "lo")
	ctx := context.Background()
	role, err := Setup(ctx, &Config{Mode: TUN, VIPs: []netip.Addr{vip}, NetNS: ns})
	if err == nil {
		must(t, role.Teardown(ctx))
		t.Skip("this kernel has ipip: TUN runs in TestTUNSetupTeardown")
	}
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "ipip") {
		t.Errorf("Setup: %v, want errors.ErrUnsupported naming ipip", err)
	}
	if got := capture(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after a failed Setup:\n%+v\nwant:\n%+v", got, before)
	}
	st, err := Check(ctx, &Config{Mode: TUN, VIPs: []netip.Addr{vip}, NetNS: ns})
	if err != nil || !slices.Contains(st.Problems, "interface tunl0 does not exist") {
		t.Errorf("Check: %+v, %v; want tunl0 missing", st, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTUNMixedFamilies: TUN VIPs of both families in one role are refused
// (each family has its own tunnel device and role); the refusal is a
// configuration error, not a missing feature.
func TestTUNMixedFamilies(t *testing.T) {
	_, err := Setup(context.Background(), &Config{Mode: TUN, VIPs: []netip.Addr{vip, vip6}})
	if !errors.Is(err, ErrInvalid) || errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "one role per family") {
		t.Errorf("Setup: %v, want ErrInvalid (not errors.ErrUnsupported) asking for one role per family", err)
	}
}

// TestTUN6WithoutTheModule: on a kernel without ip6_tunnel (this host's,
// perhaps), IPv6 TUN Setup fails with errors.ErrUnsupported naming the
// module and changes nothing. Where it exists the role is tested in
// TestTUN6SetupTeardown.
func TestTUN6WithoutTheModule(t *testing.T) {
	ns := int(nstest.New(t))
	before := capture6(t, ns, "lo")
	ctx := context.Background()
	cfg := &Config{Mode: TUN, VIPs: []netip.Addr{vip6}, NetNS: ns}
	role, err := Setup(ctx, cfg)
	if err == nil {
		must(t, role.Teardown(ctx))
		t.Skip("this kernel has ip6_tunnel: IPv6 TUN runs in TestTUN6SetupTeardown")
	}
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "ip6_tunnel") {
		t.Errorf("Setup: %v, want errors.ErrUnsupported naming ip6_tunnel", err)
	}
	if got := capture6(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after a failed Setup:\n%+v\nwant:\n%+v", got, before)
	}
	st, err := Check(ctx, cfg)
	if err != nil || !slices.Equal(st.Problems, []string{"interface ip6tnl0 does not exist"}) {
		t.Errorf("Check: %+v, %v; want only ip6tnl0 missing", st, err)
	}
}

// release drops the role's reference to its namespace without undoing it,
// for tests that leave a role in place.
func release(r *Role) {
	if r.netns > 0 {
		unix.Close(r.netns)
		r.netns = -1
	}
}
