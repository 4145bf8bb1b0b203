package realserver

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

var (
	vip  = netip.MustParseAddr("10.0.0.100")
	vip2 = netip.MustParseAddr("172.16.0.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
)

// state is everything the role may touch in a namespace: addresses per
// interface, link flags, and the sysctls.
type state struct {
	addrs   []string
	sysctls sysctl.Snapshot
}

func capture(t *testing.T, ns int, ifaces ...string) state {
	t.Helper()
	rt, err := rtnl.Dial(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	links, err := rt.Link.List()
	if err != nil {
		t.Fatal(err)
	}
	var st state
	for _, l := range links {
		as, err := rt.Addrs(l.Index)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			st.addrs = append(st.addrs, l.Attributes.Name+" "+a.String())
		}
		st.addrs = append(st.addrs, l.Attributes.Name+" flags "+strings.Repeat("u", int(l.Flags&1)))
	}
	sort.Strings(st.addrs)
	sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var keys []sysctl.Key
	for _, i := range append([]string{"all"}, ifaces...) {
		keys = append(keys, sysctl.ArpIgnore(i), sysctl.ArpAnnounce(i), sysctl.RPFilter(i))
	}
	if st.sysctls, err = sc.Snapshot(context.Background(), keys...); err != nil {
		t.Fatal(err)
	}
	return st
}

func (a state) equal(b state) bool {
	return slices.Equal(a.addrs, b.addrs) && slices.Equal(a.sysctls, b.sysctls)
}

func setSysctls(t *testing.T, ns int, settings ...sysctl.Setting) {
	t.Helper()
	sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Apply(context.Background(), settings...); err != nil {
		t.Fatal(err)
	}
}

func TestDRSetupTeardown(t *testing.T) {
	ns := int(nstest.New(t))
	ctx := context.Background()
	// Odd prior values that Teardown must put back exactly.
	setSysctls(t, ns, sysctl.Setting{Key: sysctl.ArpIgnore("all"), Value: "2"}, sysctl.Setting{Key: sysctl.ArpAnnounce("lo"), Value: "1"})
	before := capture(t, ns, "lo")
	cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip, vip2, vip6}, NetNS: ns}

	st, err := Check(ctx, cfg)
	if err != nil || st.OK() || len(st.Problems) < 3 {
		t.Fatalf("Check before Setup: %+v, %v; want the missing VIPs and ARP settings", st, err)
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
	after := capture(t, ns, "lo")
	for _, want := range []string{"lo 10.0.0.100/32", "lo 172.16.0.100/32", "lo 2001:db8::100/128"} {
		if !slices.Contains(after.addrs, want) {
			t.Errorf("after Setup, addresses %v lack %s", after.addrs, want)
		}
	}
	sc, _ := sysctl.New(&sysctl.Config{NetNS: ns})
	defer sc.Close()
	for k, v := range map[sysctl.Key]string{sysctl.ArpIgnore("all"): "1", sysctl.ArpAnnounce("all"): "2", sysctl.ArpIgnore("lo"): "1", sysctl.ArpAnnounce("lo"): "2"} {
		if got, _ := sc.Get(context.Background(), k); got != v {
			t.Errorf("%s = %s after Setup, want %s", k, got, v)
		}
	}

	// Idempotent: a second Setup changes nothing, and its Teardown removes
	// nothing the first one added.
	again, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(again) })
	if c := again.Changes(); len(c) != 0 {
		t.Errorf("second Setup changed %q", c)
	}
	if err := again.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if !capture(t, ns, "lo").equal(after) {
		t.Error("Teardown of a no-op Setup changed the namespace")
	}

	if err := role.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := capture(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after Teardown:\n%+v\nwant as before Setup:\n%+v", got, before)
	}
	if err := role.Teardown(ctx); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

// TestExistingAddressStays: a VIP already present is neither added nor
// removed.
func TestExistingAddressStays(t *testing.T) {
	ns := int(nstest.New(t))
	ctx := context.Background()
	// The operator's own setup, never torn down here.
	own, err := Setup(ctx, &Config{Mode: DR, VIPs: []netip.Addr{vip}, NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(own) })
	role, err := Setup(ctx, &Config{Mode: DR, VIPs: []netip.Addr{vip, vip2}, NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(role) })
	if err := role.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	st := capture(t, ns, "lo")
	if !slices.Contains(st.addrs, "lo 10.0.0.100/32") || slices.Contains(st.addrs, "lo 172.16.0.100/32") {
		t.Errorf("after Teardown: %v; want 10.0.0.100 kept, 172.16.0.100 removed", st.addrs)
	}
}

// TestFailureHalfwayUndoes: with IPv6 disabled on lo, the IPv6 VIP cannot
// be added after the sysctls and the IPv4 VIP were: Setup must undo both.
func TestFailureHalfwayUndoes(t *testing.T) {
	ns := int(nstest.New(t))
	setSysctls(t, ns, sysctl.Setting{Key: sysctl.ConfIPv6("lo", "disable_ipv6"), Value: "1"})
	before := capture(t, ns, "lo")
	_, err := Setup(context.Background(), &Config{Mode: DR, VIPs: []netip.Addr{vip, vip6}, NetNS: ns})
	if err == nil {
		t.Fatal("Setup succeeded with IPv6 disabled on lo")
	}
	if !strings.Contains(err.Error(), "2001:db8::100") {
		t.Errorf("error %q does not name the failed VIP", err)
	}
	if got := capture(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after a failed Setup:\n%+v\nwant:\n%+v", got, before)
	}
}

// TestValidation: a nil or bad configuration fails Setup and Check with an
// error matching ErrInvalid and fs.ErrInvalid, before anything is touched.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	ns := int(nstest.New(t))
	before := capture(t, ns, "lo")
	tried := 0
	for _, cfg := range []*Config{
		nil,
		{},
		{Mode: DR},
		{Mode: DR, VIPs: []netip.Addr{{}}},
		{Mode: DR, VIPs: []netip.Addr{vip, vip}},
		{Mode: DR, VIPs: []netip.Addr{netip.MustParseAddr("224.0.0.1")}},
		{Mode: TUN, VIPs: []netip.Addr{vip, vip6}},
		{Mode: TUN, VIPs: []netip.Addr{vip6, vip}, Encap: GRE},
		{Mode: TUN, VIPs: []netip.Addr{vip}, Interface: "lo"},
		{Mode: DR, VIPs: []netip.Addr{vip}, Dummy: true},
		{Mode: DR, VIPs: []netip.Addr{vip}, Interface: "a/b"},
		{Mode: TUN, VIPs: []netip.Addr{vip}, Encap: GUE},
		{Mode: TUN, VIPs: []netip.Addr{vip}, GUEPort: 5555},
		{Mode: DR, VIPs: []netip.Addr{vip}, Encap: GRE},
		{Mode: TUN, VIPs: []netip.Addr{vip}, Encap: 7},
		{Mode: DR, VIPs: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.100")}},
		{Mode: DR, VIPs: []netip.Addr{netip.MustParseAddr("fe80::1%lo")}},
		{Mode: DR, VIPs: []netip.Addr{vip}, Interface: ".", Dummy: true},
		{Mode: DR, VIPs: []netip.Addr{vip}, Interface: "..", Dummy: true},
		{Mode: DR, VIPs: []netip.Addr{vip}, Interface: "vip\r\n0", Dummy: true},
		{Mode: DR, VIPs: []netip.Addr{vip}, Interface: "averylongname0123", Dummy: true},
		{Mode: 9, VIPs: []netip.Addr{vip}},
		{Mode: DR, VIPs: []netip.Addr{vip}, OuterFamily: ipvs.IPv6},
		{Mode: TUN, VIPs: []netip.Addr{vip}, OuterFamily: 7},
		{Mode: TUN, VIPs: []netip.Addr{vip, vip6}, OuterFamily: ipvs.IPv6},
	} {
		if cfg != nil {
			cfg.NetNS = ns
		}
		tried += 2
		if _, err := Setup(ctx, cfg); !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Setup(%+v): %v, want ErrInvalid and fs.ErrInvalid", cfg, err)
		}
		if _, err := Check(ctx, cfg); !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Check(%+v): %v, want ErrInvalid and fs.ErrInvalid", cfg, err)
		}
	}
	if _, err := Setup(ctx, nil); err == nil || !strings.Contains(err.Error(), "no configuration") {
		t.Errorf("Setup(nil): %v, want \"no configuration\"", err)
	}
	if after := capture(t, ns, "lo"); !after.equal(before) {
		t.Errorf("the namespace changed:\n%+v\nwant\n%+v", after, before)
	}
	t.Logf("%d bad inputs refused", tried)
}

// TestDoneContext: a done ctx stops Setup and Check before anything
// changes; a Setup whose ctx ends midway undoes what it did.
func TestDoneContext(t *testing.T) {
	ns := int(nstest.New(t))
	before := capture(t, ns, "lo")
	cfg := &Config{Mode: DR, VIPs: []netip.Addr{vip, vip2}, NetNS: ns}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Setup(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("Setup: %v, want context.Canceled", err)
	}
	if _, err := Check(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("Check: %v, want context.Canceled", err)
	}
	if got := capture(t, ns, "lo"); !got.equal(before) {
		t.Errorf("after Setup with a done context:\n%+v\nwant:\n%+v", got, before)
	}
	// End Setup's context at each point it checks it in turn (before it
	// starts, within the sysctl Apply, before each VIP).
	for n := 1; ; n++ {
		role, err := Setup(&endingCtx{Context: context.Background(), n: n}, cfg)
		if err == nil {
			if n == 1 {
				t.Fatal("Setup ignored its context")
			}
			// A Teardown with a done context still runs to the end.
			done, cancel := context.WithCancel(context.Background())
			cancel()
			must(t, role.Teardown(done))
			if got := capture(t, ns, "lo"); !got.equal(before) {
				t.Errorf("after Teardown with a done context:\n%+v\nwant:\n%+v", got, before)
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ctx ending after %d checks: %v, want context.Canceled", n, err)
		}
		if got := capture(t, ns, "lo"); !got.equal(before) {
			t.Errorf("ctx ending after %d checks, left:\n%+v\nwant:\n%+v", n, got, before)
		}
	}
}

// endingCtx is a context whose Err fails after n calls.
type endingCtx struct {
	context.Context
	n int
}

func (c *endingCtx) Err() error {
	if c.n > 0 {
		c.n--
		return nil
	}
	return context.Canceled
}

func TestMissingInterface(t *testing.T) {
	ns := int(nstest.New(t))
	before := capture(t, ns, "lo")
	_, err := Setup(context.Background(), &Config{Mode: DR, VIPs: []netip.Addr{vip}, Interface: "vip0", NetNS: ns})
	if err == nil || !strings.Contains(err.Error(), "vip0") {
		t.Fatalf("Setup on a missing interface: %v", err)
	}
	if !capture(t, ns, "lo").equal(before) {
		t.Error("failed Setup changed the namespace")
	}
}
