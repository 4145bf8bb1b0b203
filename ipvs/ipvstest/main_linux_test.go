package ipvstest_test

import (
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// kernelModules are what the conformance suite needs of the kernel: IPVS,
// every scheduler Debian's kernel has and the sip persistence engine.
var kernelModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh",
	"ip_vs_pe_sip",
}

// TestMain runs the tests that need the kernel's IPVS in a QEMU guest when
// the host has none.
func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Config{Modules: kernelModules}) }

// kernelClient is a client in a fresh network namespace (loopback up) on a
// kernel with IPVS; RunConformance closes it.
func kernelClient(t *testing.T) ipvs.API {
	t.Helper()
	vmtest.Require(t, "ip_vs")
	ns := nstest.New(t)
	c, err := ipvs.New(&ipvs.Config{NetNS: int(ns)})
	if err != nil {
		t.Fatalf("ipvs.New: %v", err)
	}
	return c
}
