//go:build linux

package nstest

import (
	"fmt"
	"runtime"
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
	var ns netns.NsHandle
	err := onLockedThread(func(netns.NsHandle) error {
		var err error
		ns, err = netns.New()
		return err
	})
	if err != nil {
		tb.Fatalf("nstest: new netns: %v", err)
	}
	tb.Cleanup(func() { ns.Close() })
	return ns
}

// NewNS returns a fresh network namespace with loopback up; the caller closes
// the handle. It never leaves the calling thread in the new namespace.
func NewNS() (netns.NsHandle, error) {
	var ns netns.NsHandle
	err := onLockedThread(func(orig netns.NsHandle) error {
		var err error
		ns, err = netns.New() // unshare: this thread is now in ns
		if err != nil {
			return fmt.Errorf("new netns: %w", err)
		}
		if err := setLoopbackUp(); err != nil {
			ns.Close()
			return err
		}
		return nil
	})
	return ns, err
}

// Do runs fn on a locked thread inside ns and switches the thread back after.
// Sockets opened by fn belong to ns and may be used from any goroutine later.
func Do(ns netns.NsHandle, fn func() error) error { return netnsx.Do(int(ns), fn) }

// onLockedThread runs fn on a locked OS thread and restores that thread's
// original network namespace afterwards.
func onLockedThread(fn func(orig netns.NsHandle) error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	ferr := fn(orig)
	if err := netns.Set(orig); err != nil {
		// Keep the thread locked: it dies with the goroutine.
		return fmt.Errorf("restore netns: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
