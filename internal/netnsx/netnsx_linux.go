package netnsx

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a locked OS thread inside the network namespace open as fd,
// then switches the thread back. fd 0 means the caller's namespace: fn runs
// directly. Otherwise fn runs on a goroutine of its own, so that if the
// thread cannot be switched back it stays locked and ends with that
// goroutine, never running the caller's code in the foreign namespace; a
// panic in fn is raised again in the caller.
func Do(fd int, fn func() error) error {
	if fd == 0 {
		return fn()
	}
	return onThread(func() (keep bool, err error) {
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return true, fmt.Errorf("netns: current namespace: %w", err)
		}
		defer unix.Close(orig)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			return true, fmt.Errorf("netns: enter: %w", err)
		}
		defer func() {
			if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr != nil {
				keep, err = false, fmt.Errorf("netns: switch back: %w", serr)
			}
		}()
		return true, fn()
	})
}

// onThread runs fn on a new goroutine locked to its thread and returns
// fn's error. The thread is unlocked after fn only if fn says it may be
// kept (it is back in the namespace it started in); otherwise it ends with
// the goroutine. A panic in fn (with the thread switched back by fn's
// defers) is raised again in the caller.
func onThread(fn func() (keep bool, err error)) error {
	type result struct {
		err      error
		panicked bool
		p        any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		var r result
		keep := false
		defer func() {
			if p := recover(); p != nil {
				r = result{panicked: true, p: p}
			}
			if keep {
				runtime.UnlockOSThread()
			}
			done <- r
		}()
		keep, r.err = fn()
	}()
	r := <-done
	if r.panicked {
		panic(r.p)
	}
	return r.err
}

// Dup returns a close-on-exec duplicate of the namespace fd (0 stays 0), so a
// long-lived value can keep the namespace without depending on the caller's
// fd staying open.
func Dup(fd int) (int, error) {
	if fd == 0 {
		return 0, nil
	}
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("netns: dup: %w", err)
	}
	return d, nil
}

// New creates a network namespace and returns an open descriptor of it,
// with its loopback interface up if loUp. The work runs on a thread of its
// own (see Do), switched back before it is unlocked.
func New(loUp bool) (int, error) {
	fd := -1
	err := onThread(func() (bool, error) {
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return true, fmt.Errorf("netns: current namespace: %w", err)
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return true, fmt.Errorf("netns: new: %w", err)
		}
		nfd, ferr := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if ferr == nil && loUp {
			if ferr = loopbackUp(); ferr != nil {
				unix.Close(nfd)
			}
		}
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			if ferr == nil {
				unix.Close(nfd)
			}
			return false, fmt.Errorf("netns: switch back: %w", err)
		}
		if ferr != nil {
			return true, fmt.Errorf("netns: new: %w", ferr)
		}
		fd = nfd
		return true, nil
	})
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// loopbackUp sets IFF_UP on "lo" in the calling thread's namespace.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// Close closes a namespace descriptor Dup or New returned.
func Close(fd int) error { return unix.Close(fd) }
