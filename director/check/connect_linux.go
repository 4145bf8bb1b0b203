package check

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// connectTCP is ConnectTCP on Linux, as keepalived's TCP_CHECK does it
// plus SO_LINGER: a non-blocking socket, connect, and, if the connection
// is not open when connect returns, a wait in Go's poller for the
// socket to be writable, before its close. Over loopback and veth the
// handshake is done within connect, and the check is five system calls.
func connectTCP(ctx context.Context, target netip.AddrPort, in func(func() error) error) error {
	if ctx.Err() != nil {
		return dialError(target, ctxError(ctx))
	}
	addr := target.Addr().Unmap()
	var sa unix.Sockaddr
	domain := unix.AF_INET
	if addr.Is4() {
		sa = &unix.SockaddrInet4{Port: int(target.Port()), Addr: addr.As4()}
	} else {
		domain = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(target.Port()), Addr: addr.As16()}
	}
	fd := -1
	err := in(func() error {
		s, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		fd = s
		return nil
	})
	if err != nil {
		if fd >= 0 { // in failed after creating it
			unix.Close(fd)
		}
		return dialError(target, err)
	}
	// Set before connect: the close then resets the connection if it
	// opened, and leaves nothing in TIME_WAIT.
	if err := unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		unix.Close(fd)
		return dialError(target, os.NewSyscallError("setsockopt", err))
	}
	switch err := unix.Connect(fd, sa); err {
	case nil, unix.EISCONN:
		unix.Close(fd)
		return nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
	default:
		unix.Close(fd)
		return dialError(target, os.NewSyscallError("connect", err))
	}
	if done, err := connected(fd); done {
		unix.Close(fd)
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
// poll, without waiting: a socket whose handshake is under way is not
// writable; one that failed has an error or was hung up.
func connected(fd int) (done bool, err error) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(pfd[:], 0)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return true, os.NewSyscallError("poll", err)
		}
	}
	ev := pfd[0].Revents
	switch {
	case ev&(unix.POLLERR|unix.POLLHUP) != 0:
		n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return true, os.NewSyscallError("getsockopt", err)
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
