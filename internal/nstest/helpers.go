//go:build linux

package nstest

import (
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// RouteViaLo routes prefixes to the loopback link of the namespace open as
// ns, so that the kernel takes addresses in them as unicast (IPVS refuses
// a destination it has no route to).
func RouteViaLo(tb testing.TB, ns int, prefixes ...netip.Prefix) {
	tb.Helper()
	rt, err := rtnetlink.Dial(&netlink.Config{NetNS: ns})
	if err != nil {
		tb.Fatal(err)
	}
	defer rt.Close()
	lo, err := net.InterfaceByName("lo") // index 1 in every namespace
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range prefixes {
		fam := uint8(unix.AF_INET)
		if p.Addr().Is6() {
			fam = unix.AF_INET6
		}
		err := rt.Route.Add(&rtnetlink.RouteMessage{
			Family: fam, DstLength: uint8(p.Bits()), Table: unix.RT_TABLE_MAIN,
			Protocol: unix.RTPROT_STATIC, Scope: unix.RT_SCOPE_LINK, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{Dst: net.IP(p.Addr().AsSlice()), OutIface: uint32(lo.Index)},
		})
		if err != nil {
			tb.Fatalf("route %v dev lo: %v", p, err)
		}
	}
}

// Run runs the program name (looked up in PATH) in the namespace open as
// ns with stdin, and returns its output; a failure fails the test with it.
func Run(tb testing.TB, ns int, stdin, name string, args ...string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not installed: %v", name, err)
	}
	var out []byte
	err = Do(netns.NsHandle(ns), func() error {
		cmd := exec.Command(path, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// OnlyLoopback says the calling thread's network namespace has no
// interface but lo: one of its own, where a benchmark's checks reach
// nothing else.
func OnlyLoopback(tb testing.TB) bool {
	ifs, err := net.Interfaces()
	if err != nil {
		tb.Fatal(err)
	}
	return len(ifs) == 1 && ifs[0].Flags&net.FlagLoopback != 0
}

// CPUTime is the process's CPU time so far, user and system.
func CPUTime(tb testing.TB) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// AcceptAndClose listens on TCP addr in ns and closes each connection it
// accepts, counting them in accepted if it is not nil, until the test
// ends: a real server for connect checks.
func AcceptAndClose(tb testing.TB, ns netns.NsHandle, addr string, accepted *atomic.Int64) {
	tb.Helper()
	var l net.Listener
	if err := Do(ns, func() (err error) { l, err = net.Listen("tcp", addr); return }); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted.Add(1)
			}
			c.Close()
		}
	}()
}
