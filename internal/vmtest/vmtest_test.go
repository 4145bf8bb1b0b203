//go:build linux

package vmtest

import (
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m, Config{Modules: []string{"ip_vs", "ipip"}}) }

// TestGuestKernelHasIPVS proves the tier runs on a kernel with IPVS and ipip
// loaded, with the flags forwarded and the environment passed through.
func TestGuestKernelHasIPVS(t *testing.T) {
	Require(t, "ip_vs", "ipip")
	b, err := os.ReadFile("/proc/net/ip_vs")
	if err != nil {
		t.Fatalf("IPVS missing in the real-kernel tier: %v", err)
	}
	if !strings.Contains(string(b), "IP Virtual Server version") {
		t.Fatalf("/proc/net/ip_vs = %q", b)
	}
	if _, err := os.Stat("/sys/module/ipip"); err != nil {
		t.Fatalf("ipip not loaded: %v", err)
	}
}
