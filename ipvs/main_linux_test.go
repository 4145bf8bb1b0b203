package ipvs

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// kernelModules are what the real-kernel tests need: IPVS, every scheduler,
// the sip persistence engine, and what the traffic tests build.
var kernelModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh",
	"ip_vs_pe_sip", "veth", "bridge", "nlmon",
}

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: kernelModules, Programs: []string{"/usr/sbin/ipvsadm"}})
}

// testClient gives the test a fresh network namespace on a kernel with IPVS
// and a client in it. The namespace has unicast routes to 10.0.0.0/8 and
// 2001:db8::/32 through lo, so destinations there are accepted by the kernel
// (which refuses unrouted destination addresses with EINVAL).
func testClient(t testing.TB) (*Client, int) {
	t.Helper()
	vmtest.Require(t, "ip_vs")
	ns := nstest.New(t)
	nstest.RouteViaLo(t, int(ns), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"))
	c, err := New(&Config{NetNS: int(ns)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, int(ns)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
