package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer of a unix socket connection: SO_PEERCRED, and its
// supplementary groups from /proc.
func peerOf(c net.Conn) (peer, error) {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return peer{}, fmt.Errorf("control socket: not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return peer{}, fmt.Errorf("control socket: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return peer{}, fmt.Errorf("control socket: peer credentials: %w", err)
	}
	if cerr != nil {
		return peer{}, fmt.Errorf("control socket: peer credentials: %w", os.NewSyscallError("getsockopt", cerr))
	}
	p := peer{pid: uint32(cred.Pid), uid: cred.Uid, groups: []uint32{cred.Gid}}
	p.groups = append(p.groups, supplementaryGroups(cred.Pid)...)
	return p, nil
}

// supplementaryGroups reads the Groups line of /proc/PID/status; none if
// it cannot be read.
func supplementaryGroups(pid int32) []uint32 {
	f, err := os.Open("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []uint32
		for _, g := range strings.Fields(rest) {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				out = append(out, uint32(n))
			}
		}
		return out
	}
	return nil
}
