//go:build linux

package labtest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// CheckNoLeaks records the process's namespace references, sockets and the
// links of its own namespace, and when tb ends (after the cleanups
// registered later, such as a Lab's Close) fails tb unless they are as they
// were and no thread is left in a foreign namespace (see Snapshot.Await,
// with two seconds). Call it first
// in tests that do not run in parallel with other namespace tests.
func CheckNoLeaks(tb testing.TB) {
	tb.Helper()
	before, err := Take()
	if err != nil {
		tb.Fatalf("labtest: %v", err)
	}
	tb.Cleanup(func() {
		diff, err := before.Await(2 * time.Second)
		if err != nil {
			tb.Errorf("labtest: %v", err)
		} else if diff != "" {
			tb.Errorf("labtest: left behind: %s", diff)
		}
	})
}

// Snapshot is what CheckNoLeaks compares.
type Snapshot struct {
	NetNS          []string // "net:[inode]" of every namespace fd the process holds, sorted
	Sockets        int      // socket fds the process holds
	ForeignThreads []string // "tid net:[inode]" of threads outside the process's namespace
	Links          []string // "index:name" of the links in the process's namespace
}

// Take returns the current Snapshot.
func Take() (Snapshot, error) {
	var s Snapshot
	fds, err := filepath.Glob("/proc/self/fd/*")
	if err != nil {
		return s, err
	}
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		switch {
		case err != nil: // closed since the glob
		case strings.HasPrefix(target, "net:["):
			s.NetNS = append(s.NetNS, target)
		case strings.HasPrefix(target, "socket:["):
			s.Sockets++
		}
	}
	slices.Sort(s.NetNS)
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return s, fmt.Errorf("snapshot: %w", err)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil {
		return s, err
	}
	for _, t := range tasks {
		if ns, err := os.Readlink(t); err == nil && ns != self {
			s.ForeignThreads = append(s.ForeignThreads, filepath.Base(filepath.Dir(filepath.Dir(t)))+" "+ns)
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return s, fmt.Errorf("snapshot: %w", err)
	}
	for _, i := range ifaces {
		s.Links = append(s.Links, fmt.Sprintf("%d:%s", i.Index, i.Name))
	}
	return s, nil
}

// Diff describes how after differs from s ("" if it does not), counting
// any thread in a foreign namespace in after as a difference.
func (s Snapshot) Diff(after Snapshot) string {
	var d []string
	if !slices.Equal(s.NetNS, after.NetNS) {
		d = append(d, fmt.Sprintf("namespace fds %v, want %v", after.NetNS, s.NetNS))
	}
	if s.Sockets != after.Sockets {
		d = append(d, fmt.Sprintf("%d sockets, want %d", after.Sockets, s.Sockets))
	}
	if len(after.ForeignThreads) > 0 {
		d = append(d, fmt.Sprintf("threads in foreign namespaces: %v", after.ForeignThreads))
	}
	if !slices.Equal(s.Links, after.Links) {
		d = append(d, fmt.Sprintf("host links %v, want %v", after.Links, s.Links))
	}
	return strings.Join(d, "; ")
}

// Await takes snapshots until one shows no Diff from s or timeout passes,
// and returns the last Diff: sockets closed by other goroutines (an HTTP
// client's, say) may take a moment to go.
func (s Snapshot) Await(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		after, err := Take()
		if err != nil {
			return "", err
		}
		diff := s.Diff(after)
		if diff == "" || time.Now().After(deadline) {
			return diff, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}
