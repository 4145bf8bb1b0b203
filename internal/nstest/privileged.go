package nstest

import (
	"os"
	"testing"
)

// Privileged skips tb unless the process can create network namespaces
// (root, or CAP_SYS_ADMIN). Under CI=true it fails instead of skipping, so a
// misconfigured CI cannot pass by skipping the privileged tier.
func Privileged(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("privileged test: needs root (CI=true forbids skipping)")
	}
	tb.Skip("privileged test: needs root")
}
