package ipvs

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// dial opens a generic-netlink socket in the namespace netns (0: the
// caller's), and the client's own handle on that namespace (0 for the
// caller's), which the socket's close closes too.
func dial(netns int) (transport, int, error) {
	c, err := netlink.Dial(unix.NETLINK_GENERIC, &netlink.Config{NetNS: netns})
	if err != nil {
		return nil, 0, err
	}
	// Error acknowledgements need not echo the request back.
	_ = c.SetOption(netlink.CapAcknowledge, true)
	// Room for a batch's acknowledgements; the kernel caps it at rmem_max.
	_ = c.SetReadBuffer(1 << 20)
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	own, err := netnsx.Dup(netns)
	if err != nil {
		c.Close()
		return nil, 0, err
	}
	return newSocket(c, rc, own), own, nil
}

// socket is the kernel's transport: requests are written and replies
// read straight on netlink.Conn's file descriptor, one system call per
// datagram with no peek and no allocation (what netlink.Conn's own send
// and receive cost more: see BENCHMARKS.md). The descriptor is
// non-blocking; a call that would block waits in the runtime's poller
// until the deadline.
type socket struct {
	c  *netlink.Conn
	rc syscall.RawConn
	// netns is the client's handle on its namespace (0: none), closed
	// once: a second close must not close a descriptor reused since.
	netns      int
	closeNetns sync.Once
	// The functions rc runs, made once (a closure per call would be an
	// allocation per datagram), and their arguments and results.
	readFn, writeFn func(fd uintptr) bool
	buf             []byte
	n               int
	errno           unix.Errno
}

func newSocket(c *netlink.Conn, rc syscall.RawConn, netns int) *socket {
	s := &socket{c: c, rc: rc, netns: netns}
	s.readFn = func(fd uintptr) bool {
		// recvfrom without a source address; MSG_TRUNC returns the
		// datagram's real length, so a truncation is seen. It never
		// blocks and only copies a queued datagram out (or has the kernel
		// fill the next part of a dump), so it runs without telling the
		// scheduler, which costs more than the copy.
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)),
			unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // wait (until the deadline) for the socket to be readable
		}
		s.n, s.errno = int(n), e
		return true
	}
	s.writeFn = func(fd uintptr) bool {
		// A netlink socket's write goes to the kernel.
		n, _, e := unix.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))), uintptr(len(s.buf)))
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // wait until writable
		}
		s.n, s.errno = int(n), e
		return true
	}
	return s
}

func (s *socket) send(b []byte) error {
	s.buf = b
	err := s.rc.Write(s.writeFn)
	s.buf = nil
	switch {
	case err != nil:
		return err
	case s.errno != 0:
		return os.NewSyscallError("write", s.errno)
	case s.n != len(b):
		return fmt.Errorf("netlink write of %d bytes sent %d", len(b), s.n)
	}
	return nil
}

func (s *socket) setDeadline(t time.Time) error { return s.c.SetDeadline(t) }

func (s *socket) close() error {
	s.closeNetns.Do(func() {
		if s.netns != 0 {
			unix.Close(s.netns)
		}
	})
	return s.c.Close()
}

func (s *socket) recv(buf []byte) (int, error) {
	s.buf = buf
	err := s.rc.Read(s.readFn)
	s.buf = nil
	switch {
	case err != nil:
		return 0, err
	case s.errno != 0:
		return 0, os.NewSyscallError("recvfrom", s.errno)
	case s.n > len(buf):
		return 0, fmt.Errorf("netlink datagram of %d bytes truncated to %d", s.n, len(buf))
	}
	return s.n, nil
}

// drain reads without waiting until nothing is left. A dump the kernel was
// still sending is sent to its end while this reads (the kernel adds the
// next part on each read), so a new dump is not refused with EBUSY.
func (s *socket) drain(buf []byte) {
	s.rc.Read(func(fd uintptr) bool {
		for {
			if _, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT); err != nil {
				return true
			}
		}
	})
}
