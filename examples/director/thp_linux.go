package main

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// noHugePages keeps the daemon's memory off transparent huge pages
// (prctl PR_SET_THP_DISABLE, for the process and what it starts), as Go's
// GODEBUG=disablethp=1 does for its heap: on a kernel that backs anonymous
// memory with huge pages always (Debian's and RHEL's default), a huge page
// stays whole in the resident size while a few of its small pages hold
// live objects, and the collector's return of the rest is undone when the
// kernel collapses them again. In the benchmark beside keepalived
// (bench/versus) at 20,000 real servers the heap's mapping held 45 MB
// resident for a heap of 13-21 MB, and 24 MB without huge pages. The
// daemon's heap is small and touched sparsely, so huge pages buy it
// nothing. GODEBUG=disablethp=0 leaves them on.
func noHugePages() error {
	if strings.Contains(os.Getenv("GODEBUG"), "disablethp=0") {
		return nil
	}
	return unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0)
}
