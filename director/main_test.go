package director

import (
	"os"
	"path/filepath"
	"testing"
)

// ExistsArg makes the test binary a command check (for the tests'
// configurations, in the VM guest too, which has no shell): it exits 0 if
// the file named by the real server's address (LVS_RS_ADDR) exists in the
// directory after it, 1 otherwise.
const ExistsArg = "-lvs-test-exists"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == ExistsArg {
		if _, err := os.Stat(filepath.Join(os.Args[2], os.Getenv("LVS_RS_ADDR"))); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	testMain(m)
}
