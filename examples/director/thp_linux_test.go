package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNoHugePages: noHugePages sets the process's THP-disable flag, which
// /proc/self/status shows; with GODEBUG=disablethp=0 it leaves it alone.
// It runs in a child process, so that this one's other tests keep the
// default.
func TestNoHugePages(t *testing.T) {
	if os.Getenv("LVS_TEST_THP_CHILD") != "" {
		if err := noHugePages(); err != nil {
			t.Fatal(err)
		}
		v, err := unix.PrctlRetInt(unix.PR_GET_THP_DISABLE, 0, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("thp_disable=" + map[bool]string{true: "1", false: "0"}[v == 1] + "\n")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ godebug, want string }{{"", "thp_disable=1"}, {"disablethp=0", "thp_disable=0"}} {
		cmd := exec.Command(self, "-test.run", "^TestNoHugePages$", "-test.v")
		cmd.Env = append(os.Environ(), "LVS_TEST_THP_CHILD=1", "GODEBUG="+tc.godebug)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("GODEBUG=%q: %v\n%s\nwant %s", tc.godebug, err, out, tc.want)
		}
	}
}
