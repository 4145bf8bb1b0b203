//go:build linux

package nstest

import (
	"testing"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/vishvananda/netns"
)

// New returns a fresh network namespace with its loopback interface up. It is
// closed when the test ends, and the kernel frees it with its last reference.
func New(tb testing.TB) netns.NsHandle {
	tb.Helper()
	Privileged(tb)
	ns, err := NewNS()
	if err != nil {
		tb.Fatalf("nstest: %v", err)
	}
	tb.Cleanup(func() { ns.Close() })
	return ns
}

// NewBare returns a fresh network namespace whose loopback interface was
// never brought up, so it has no local routing table yet; closed when the
// test ends.
func NewBare(tb testing.TB) netns.NsHandle {
	tb.Helper()
	Privileged(tb)
	fd, err := netnsx.New(false)
	if err != nil {
		tb.Fatalf("nstest: %v", err)
	}
	ns := netns.NsHandle(fd)
	tb.Cleanup(func() { ns.Close() })
	return ns
}

// NewNS returns a fresh network namespace with loopback up; the caller closes
// the handle. It never leaves the calling thread in the new namespace.
func NewNS() (netns.NsHandle, error) {
	fd, err := netnsx.New(true)
	return netns.NsHandle(fd), err
}

// Do runs fn on a locked thread inside ns and switches the thread back after.
// Sockets opened by fn belong to ns and may be used from any goroutine later.
func Do(ns netns.NsHandle, fn func() error) error { return netnsx.Do(int(ns), fn) }
