package check

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
)

// TestConnectChecksLeaveNoTimeWait: the checks that only open a
// connection (tcp, and tls once its handshake is done) end it with a
// reset (SO_LINGER 0), so that a checker of thousands of real servers
// does not pile up sockets in TIME_WAIT: none is left after N checks
// against a server that closes when the checker does.
func TestConnectChecksLeaveNoTimeWait(t *testing.T) {
	const n = 50
	pki := newTestPKI(t)
	for _, tc := range []struct {
		name  string
		spec  Spec
		serve func(net.Conn) io.Reader
	}{
		{"tcp", TCP{}, func(c net.Conn) io.Reader { return c }},
		// A TLS 1.3 server's session tickets, unread, or its close_notify
		// after the checker's close would have the kernel reset the
		// connection anyway; a TLS 1.2 server that closes without one
		// does not.
		{"tls", TLS{Insecure: true}, func(c net.Conn) io.Reader {
			return tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pki.server.tls(t)}, MaxVersion: tls.VersionTLS12})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns, d := probeNS(t)
			l := listenTCP(t, ns)
			rs := netip.MustParseAddrPort(l.Addr().String())
			var wg sync.WaitGroup
			closed := make(chan struct{}, n)
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() { closed <- struct{}{} }()
						defer c.Close()
						c.SetDeadline(time.Now().Add(10 * time.Second))
						io.Copy(io.Discard, tc.serve(c)) // until the checker closes
					}()
				}
			}()
			for i := range n {
				if err := runCheck(t, d, tc.spec, rs); err != nil {
					t.Fatalf("check %d: %v", i, err)
				}
			}
			for range n {
				select {
				case <-closed:
				case <-time.After(10 * time.Second):
					t.Fatal("the server did not see every checker's connection end")
				}
			}
			wg.Wait()
			if tw := timeWait(t, ns); tw != 0 {
				t.Errorf("%d sockets in TIME_WAIT after %d %s checks, want none", tw, n, tc.name)
			}
		})
	}
}

// timeWait counts the TCP sockets of ns in TIME_WAIT, as ss -tan state
// time-wait lists them (/proc/net/tcp and tcp6, state 06).
func timeWait(t *testing.T, ns netns.NsHandle) int {
	t.Helper()
	n := 0
	err := nstest.Do(ns, func() error {
		for _, f := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Scan() // the header
			for sc.Scan() {
				if fields := strings.Fields(sc.Text()); len(fields) > 3 && fields[3] == "06" {
					n++
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
