package director

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ExistsArg makes the test binary a command check (for the tests'
// configurations, in the VM guest too, which has no shell): it exits 0 if
// the file named by the real server's address (LVS_RS_ADDR) exists in the
// directory after it, 1 otherwise.
const ExistsArg = "-lvs-test-exists"

// RecordArg makes the test binary a notify command that records its call:
// it appends to the file after it a line of its other arguments and its
// LVS_EVENT and LVS_VRRP_ environment, tab-separated.
const RecordArg = "-lvs-test-record"

func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == RecordArg {
		fields := os.Args[3:]
		for _, e := range os.Environ() {
			if strings.HasPrefix(e, "LVS_EVENT=") || strings.HasPrefix(e, "LVS_VRRP_") {
				fields = append(fields, e)
			}
		}
		f, err := os.OpenFile(os.Args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = f.WriteString(strings.Join(fields, "\t") + "\n")
			f.Close()
		}
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) == 3 && os.Args[1] == ExistsArg {
		if _, err := os.Stat(filepath.Join(os.Args[2], os.Getenv("LVS_RS_ADDR"))); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	testMain(m)
}
