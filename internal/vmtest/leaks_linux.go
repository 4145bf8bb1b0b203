package vmtest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// procState is what a package's tests may not leave behind: the process's
// open files (sockets, namespace references, files and pipes; not the
// runtime's own anonymous inodes: its poller, pidfds) and its goroutines.
type procState struct {
	fds        []string
	goroutines int
}

func takeProcState() procState {
	var s procState
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || strings.HasPrefix(target, "anon_inode:") {
			continue // closed while reading (ReadDir's own fd), or the runtime's
		}
		s.fds = append(s.fds, e.Name()+" -> "+target)
	}
	slices.Sort(s.fds)
	s.goroutines = runtime.NumGoroutine()
	return s
}

// leaked waits up to d for the process to be back to before and, if it is
// not, says what is left: file descriptors opened and never closed, and the
// stacks of goroutines started and never ended.
func leaked(before procState, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		now := takeProcState()
		var extra []string
		for _, fd := range now.fds {
			if !slices.Contains(before.fds, fd) {
				extra = append(extra, fd)
			}
		}
		if len(extra) == 0 && now.goroutines <= before.goroutines {
			return ""
		}
		if time.Now().After(deadline) {
			var b bytes.Buffer
			if len(extra) > 0 {
				fmt.Fprintf(&b, "open files the tests left: %s\n", strings.Join(extra, ", "))
			}
			if now.goroutines > before.goroutines {
				fmt.Fprintf(&b, "%d goroutines, %d before the tests:\n", now.goroutines, before.goroutines)
				pprof.Lookup("goroutine").WriteTo(&b, 1)
			}
			return b.String()
		}
		runtime.GC() // finalizers close what was dropped without Close
		time.Sleep(50 * time.Millisecond)
	}
}

// runChecked runs the tests and then fails the run if they left files or
// goroutines behind.
func runChecked(run func() int) int {
	before := takeProcState()
	code := run()
	if code != 0 {
		return code
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return code // the fuzzing engine's workers and pipes are its own
	}
	if msg := leaked(before, 5*time.Second); msg != "" {
		fmt.Fprintf(os.Stderr, "vmtest: the tests leaked:\n%s", msg)
		return 1
	}
	return 0
}
