package director

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
)

// dialEnv is a probeEnv that is not a tcpConnector: checkEnv's Connect
// dials through it.
type dialEnv struct{ d *Director }

func (e dialEnv) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return e.d.dial(ctx, network, addr)
}

func (e dialEnv) listenPacket(ctx context.Context, network, addr string) (net.PacketConn, error) {
	return e.d.listenPacket(ctx, network, addr)
}

func (e dialEnv) start(cmd *exec.Cmd) error { return e.d.start(cmd) }

// TestTCPCheckConnects: the Director's tcp check connects from its
// namespace through check.ConnectTCP, and a probeEnv that cannot through
// its dial, with the same errors, which the director's status and log
// show ("dial tcp 127.0.0.1:N: connect: connection refused"); neither
// leaves a socket in TIME_WAIT.
func TestTCPCheckConnects(t *testing.T) {
	ns, d := probeNS(t)
	l := listenTCP(t, ns)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c) // until the checker ends it
			}()
		}
	}()
	open := netip.MustParseAddrPort(l.Addr().String())
	l2 := listenTCP(t, ns)
	closed := netip.MustParseAddrPort(l2.Addr().String())
	l2.Close()
	tcp := Check{Spec: &check.TCP{}}
	for _, env := range []probeEnv{d, dialEnv{d}} {
		if err := runCheck(t, env, tcp, open); err != nil {
			t.Errorf("%T: open port: %v", env, err)
		}
		err := runCheck(t, env, tcp, closed)
		if want := "dial tcp " + closed.String() + ": connect: connection refused"; err == nil || err.Error() != want {
			t.Errorf("%T: closed port: %v, want %q", env, err, want)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%T: closed port: %v does not match ECONNREFUSED", env, err)
		}
	}
	// The server sees the checker's resets at once.
	deadline := time.Now().Add(5 * time.Second)
	for established(t, ns) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tw := tcpStates(t, ns)["06"]; tw != 0 {
		t.Errorf("%d sockets in TIME_WAIT, want none", tw)
	}
}

// established counts the TCP sockets of ns that are connected.
func established(t *testing.T, ns netns.NsHandle) int { return tcpStates(t, ns)["01"] }

// tcpStates counts the TCP sockets of ns by state, as /proc/net/tcp and
// tcp6 give it in hex (01 established, 06 TIME_WAIT).
func tcpStates(t *testing.T, ns netns.NsHandle) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := nstest.Do(ns, func() error {
		for _, f := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Scan() // the header
			for sc.Scan() {
				if fields := strings.Fields(sc.Text()); len(fields) > 3 {
					n[fields[3]]++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
