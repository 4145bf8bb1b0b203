package netnsx

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on a locked OS thread inside the network namespace open as fd,
// then switches the thread back, also when fn panics. fd 0 means the
// caller's namespace: fn runs directly.
func Do(fd int, fn func() error) (err error) {
	if fd == 0 {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: enter: %w", err)
	}
	defer func() {
		if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr != nil {
			// Leave the thread locked: the runtime ends it with the goroutine.
			err = fmt.Errorf("netns: switch back: %w", serr)
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
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
// with its loopback interface up if loUp. The calling thread is switched
// into it only while locked, and back before it is unlocked.
func New(loUp bool) (int, error) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("netns: current namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return -1, fmt.Errorf("netns: new: %w", err)
	}
	fd, ferr := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if ferr == nil && loUp {
		if ferr = loopbackUp(); ferr != nil {
			unix.Close(fd)
		}
	}
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime ends it with the goroutine.
		if ferr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("netns: switch back: %w", err)
	}
	runtime.UnlockOSThread()
	if ferr != nil {
		return -1, fmt.Errorf("netns: new: %w", ferr)
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
