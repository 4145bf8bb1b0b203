package check

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectTCP is ConnectTCP on Linux, as keepalived's TCP_CHECK does it
// plus SO_LINGER: a non-blocking socket, connect, and, if the connection
// is not open when connect returns, a wait in Go's poller for the
// socket to be writable, before its close. Over loopback and veth the
// handshake is done within connect, and the check is five system calls.
//
// None of those calls blocks (the socket is non-blocking, and its close
// resets), so they are made raw (see sysSocket): with syscall.Syscall,
// a call the runtime sees last longer than 20 µs (its monitor's tick:
// a connect goes through the kernel's whole handshake, long on an
// emulated or busy CPU) has the goroutine's processor handed to another
// thread, a thread switch each.
func connectTCP(ctx context.Context, target netip.AddrPort, in func(func() error) error) error {
	if ctx.Err() != nil {
		return dialError(target, ctxError(ctx))
	}
	addr := target.Addr().Unmap()
	var sa4 unix.RawSockaddrInet4
	var sa6 unix.RawSockaddrInet6
	var sa unsafe.Pointer
	var salen uintptr
	domain := unix.AF_INET
	port := (*[2]byte)(unsafe.Pointer(&sa4.Port))
	if addr.Is4() {
		sa4.Family, sa4.Addr = unix.AF_INET, addr.As4()
		sa, salen = unsafe.Pointer(&sa4), unix.SizeofSockaddrInet4
	} else {
		domain = unix.AF_INET6
		sa6.Family, sa6.Addr = unix.AF_INET6, addr.As16()
		sa, salen = unsafe.Pointer(&sa6), unix.SizeofSockaddrInet6
		port = (*[2]byte)(unsafe.Pointer(&sa6.Port))
	}
	port[0], port[1] = byte(target.Port()>>8), byte(target.Port()) // network order
	fd := -1
	err := in(func() error {
		s, err := sysSocket(domain)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		fd = s
		return nil
	})
	if err != nil {
		if fd >= 0 { // in failed after creating it
			sysClose(fd)
		}
		return dialError(target, err)
	}
	// Set before connect: the close then resets the connection if it
	// opened, and leaves nothing in TIME_WAIT.
	if err := sysLingerZero(fd); err != nil {
		sysClose(fd)
		return dialError(target, os.NewSyscallError("setsockopt", err))
	}
	_, _, errno := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), salen)
	switch errno {
	case 0, unix.EISCONN:
		sysClose(fd)
		return nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
	default:
		sysClose(fd)
		return dialError(target, os.NewSyscallError("connect", errno))
	}
	if done, err := connected(fd); done {
		sysClose(fd)
		if err != nil {
			return dialError(target, err)
		}
		return nil
	}
	if err := waitConnected(ctx, fd); err != nil {
		return dialError(target, err)
	}
	return nil
}

// sysSocket opens a non-blocking, close-on-exec TCP socket of domain,
// by a raw system call (RawSyscall: the goroutine keeps its processor).
func sysSocket(domain int) (int, error) {
	fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// sysLingerZero sets SO_LINGER 0 on fd, by a raw system call.
func sysLingerZero(fd int) error {
	l := unix.Linger{Onoff: 1, Linger: 0}
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// sysClose closes fd, by a raw system call: a socket with SO_LINGER 0
// closes without waiting.
func sysClose(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// waitConnected waits in Go's poller until the connection of fd, a
// non-blocking socket whose connect is under way, opens or fails, or
// until ctx ends, and closes fd.
func waitConnected(ctx context.Context, fd int) error {
	f := os.NewFile(uintptr(fd), "tcp")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		// Fails only if f is not in the poller, where it could not be
		// waited for either.
		if err := f.SetWriteDeadline(dl); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	first := true
	err = rc.Write(func(fd uintptr) bool {
		if first { // connected just said no: wait
			first = false
			return false
		}
		var done bool
		done, cerr = connected(int(fd))
		return done
	})
	switch {
	case err == nil:
		return cerr
	case ctx.Err() != nil:
		return ctxError(ctx)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return timeoutError{} // the poller's deadline came before ctx's
	default:
		return err
	}
}

// connected says whether the connect under way on fd is over, and how:
// nil if the connection opened, the connect's error otherwise. It asks
// ppoll, without waiting (and raw): a socket whose handshake is under
// way is not writable; one that failed has an error or was hung up.
func connected(fd int) (done bool, err error) {
	pfd := unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
	var zero unix.Timespec
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		if errno == 0 {
			break
		}
		if errno != unix.EINTR {
			return true, os.NewSyscallError("ppoll", errno)
		}
	}
	ev := pfd.Revents
	switch {
	case ev&(unix.POLLERR|unix.POLLHUP) != 0:
		var n int32
		size := uint32(unsafe.Sizeof(n))
		_, _, errno := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&size)), 0)
		if errno != 0 {
			return true, os.NewSyscallError("getsockopt", errno)
		}
		switch errno := unix.Errno(n); errno {
		case 0:
			if ev&unix.POLLHUP != 0 { // closed, and not by an error
				return true, os.NewSyscallError("connect", unix.ENOTCONN)
			}
			return ev&unix.POLLOUT != 0, nil
		case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
			return false, nil
		default:
			return true, os.NewSyscallError("connect", errno)
		}
	case ev&unix.POLLOUT != 0:
		return true, nil
	default:
		return false, nil
	}
}
