package director

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// probeNS returns a fresh namespace with lo up and a Director on it with
// nothing but its namespace: enough to be a probeEnv. Never Close it: the
// namespace's fd belongs to nstest.
func probeNS(t *testing.T) (netns.NsHandle, *Director) {
	ns := nstest.New(t)
	return ns, &Director{netns: int(ns)}
}

func listenTCP(t *testing.T, ns netns.NsHandle) net.Listener {
	var l net.Listener
	if err := nstest.Do(ns, func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:0"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func listenUDP(t *testing.T, ns netns.NsHandle) net.PacketConn {
	var c net.PacketConn
	if err := nstest.Do(ns, func() (err error) { c, err = net.ListenPacket("udp", "127.0.0.1:0"); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedPort is a port of 127.0.0.1 in ns that nothing listens on.
func closedPort(t *testing.T, ns netns.NsHandle, network string) netip.AddrPort {
	var a net.Addr
	if network == "udp" {
		c := listenUDP(t, ns)
		a = c.LocalAddr()
		c.Close()
	} else {
		l := listenTCP(t, ns)
		a = l.Addr()
		l.Close()
	}
	return netip.MustParseAddrPort(a.String())
}

// runCheck compiles chk and runs it once against rs from env.
func runCheck(t *testing.T, env probeEnv, chk Check, rs netip.AddrPort) error {
	t.Helper()
	cc, err := compileCheck(chk, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cc.run(ctx, env, rs)
}

func TestTCPProber(t *testing.T) {
	ns, d := probeNS(t)
	open := netip.MustParseAddrPort(listenTCP(t, ns).Addr().String())
	closed := closedPort(t, ns, "tcp")
	if err := runCheck(t, d, Check{Type: "tcp"}, open); err != nil {
		t.Errorf("open port: %v", err)
	}
	if err := runCheck(t, d, Check{Type: "tcp"}, closed); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want connection refused", err)
	}
	// The check's port wins over the real server's.
	if err := runCheck(t, d, Check{Type: "tcp", Port: open.Port()}, closed); err != nil {
		t.Errorf("closed real server port, open check port: %v", err)
	}
	if err := runCheck(t, d, Check{Type: "tcp", Port: closed.Port()}, open); err == nil {
		t.Error("open real server port, closed check port: healthy")
	}
}

func TestHTTPProber(t *testing.T) {
	ns, d := probeNS(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/up" && r.Host == "svc.example":
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	serve := func(tls bool) netip.AddrPort {
		s := httptest.NewUnstartedServer(h)
		s.Listener.Close()
		s.Listener = listenTCP(t, ns)
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
		return netip.MustParseAddrPort(s.Listener.Addr().String())
	}
	plain, secure := serve(false), serve(true)
	for _, tc := range []struct {
		name string
		chk  Check
		rs   netip.AddrPort
		err  string // "" means healthy
	}{
		{"defaults", Check{Type: "http"}, plain, ""},
		{"wrong status", Check{Type: "http", Status: 204}, plain, "status 200, want 204"},
		{"path and host", Check{Type: "http", Path: "/up", Host: "svc.example", Status: 204}, plain, ""},
		{"path without host", Check{Type: "http", Path: "/up", Status: 204}, plain, "status 404, want 204"},
		{"refused", Check{Type: "http"}, closedPort(t, ns, "tcp"), "connection refused"},
		// A self-signed certificate: checks do not verify.
		{"https", Check{Type: "https"}, secure, ""},
		{"https on a plain port", Check{Type: "https"}, plain, "http"},
		{"http on a TLS port", Check{Type: "http"}, secure, "status 400, want 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCheck(t, d, tc.chk, tc.rs)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("probe: %v, want healthy", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("probe: %v, want an error with %q", err, tc.err)
			}
		})
	}
}

func TestUDPProber(t *testing.T) {
	ns, d := probeNS(t)
	srv := listenUDP(t, ns)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			if msg := string(buf[:n]); msg != "silent" {
				srv.WriteTo([]byte("pong: "+msg), from)
			}
		}
	}()
	rs := netip.MustParseAddrPort(srv.LocalAddr().String())
	for _, tc := range []struct {
		name string
		chk  Check
		err  string
	}{
		{"reply", Check{Type: "udp", Send: "ping"}, ""},
		{"empty datagram", Check{Type: "udp"}, ""},
		{"expected reply", Check{Type: "udp", Send: "ping", Expect: "pong: ping"}, ""},
		{"wrong reply", Check{Type: "udp", Send: "ping", Expect: "PONG"}, `reply "pong: ping" does not contain "PONG"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runCheck(t, d, tc.chk, rs)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("probe: %v, want healthy", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("probe: %v, want an error with %q", err, tc.err)
			}
		})
	}
	t.Run("no reply", func(t *testing.T) {
		start := time.Now()
		err := runCheck(t, d, Check{Type: "udp", Send: "silent", Timeout: 300 * time.Millisecond}, rs)
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "no reply") {
			t.Errorf("probe: %v, want no reply", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 5*time.Second {
			t.Errorf("took %v, want about the 300ms timeout", took)
		}
	})
	t.Run("port unreachable", func(t *testing.T) {
		start := time.Now()
		err := runCheck(t, d, Check{Type: "udp", Send: "ping", Timeout: 10 * time.Second}, closedPort(t, ns, "udp"))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("probe: %v, want connection refused", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: the ICMP error should end the check at once", took)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cc, err := compileCheck(Check{Type: "udp", Send: "silent", Timeout: time.Minute}, false)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		if err := cc.run(ctx, d, rs); err == nil || time.Since(start) > 10*time.Second {
			t.Errorf("cancelled probe: %v after %v", err, time.Since(start))
		}
	})
}

// TestCommandProber: the command runs inside the director's namespace with
// the real server's address and port in its environment.
func TestCommandProber(t *testing.T) {
	ns, d := probeNS(t)
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`test "$LVS_RS_ADDR" = 127.0.0.1 && test "$LVS_RS_PORT" = 9 && test "$(readlink /proc/self/ns/net)" = "net:[%d]"`, st.Ino)
	rs := netip.MustParseAddrPort("127.0.0.1:7")
	if err := runCheck(t, d, Check{Type: "command", Port: 9, Command: []string{"/bin/sh", "-c", script}}, rs); err != nil {
		t.Errorf("command in the namespace: %v", err)
	}
	if err := runCheck(t, d, Check{Type: "command", Command: []string{"/bin/sh", "-c", "exit 3"}}, rs); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("failing command: %v", err)
	}
	if err := runCheck(t, d, Check{Type: "command", Command: []string{"/nonexistent/check"}}, rs); err == nil {
		t.Error("missing command: healthy")
	}
}

// TestHTTPProberNoRedirects: a redirect is judged by its status and never
// followed; the path cannot name another host.
func TestHTTPProberNoRedirects(t *testing.T) {
	ns, d := probeNS(t)
	var elsewhere atomic.Int32
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	other.Listener.Close()
	other.Listener = listenTCP(t, ns)
	other.Start()
	t.Cleanup(other.Close)
	var paths []string
	var mu sync.Mutex
	rs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	rs.Listener.Close()
	rs.Listener = listenTCP(t, ns)
	rs.Start()
	t.Cleanup(rs.Close)
	addr := netip.MustParseAddrPort(rs.Listener.Addr().String())

	if err := runCheck(t, d, Check{Type: "http", Path: "/moved"}, addr); err == nil || !strings.Contains(err.Error(), "status 302") {
		t.Errorf("redirect with status 200 expected: %v, want a status 302 failure", err)
	}
	if err := runCheck(t, d, Check{Type: "http", Path: "/moved", Status: 302}, addr); err != nil {
		t.Errorf("redirect with status 302 expected: %v", err)
	}
	// A path that would name another host, pasted after host:port.
	otherAddr := other.Listener.Addr().String()
	if err := runCheck(t, d, Check{Type: "http", Path: "/@" + otherAddr + "/"}, addr); err != nil {
		t.Errorf("path with @: %v", err)
	}
	if err := runCheck(t, d, Check{Type: "http", Path: "/q?x=1"}, addr); err != nil {
		t.Errorf("path with a query: %v", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other server was contacted %d times", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/moved", "/moved", "/@" + otherAddr + "/", "/q?x=1"}; !slices.Equal(paths, want) {
		t.Errorf("the real server saw %q, want %q", paths, want)
	}
	for _, bad := range []string{"//other/", "/a b", "/a#b", "/a\r\nHost: x"} {
		if _, err := compileCheck(Check{Type: "http", Path: bad}, false); err == nil {
			t.Errorf("path %q accepted", bad)
		}
	}
}

// TestCommandProberKillsTheGroup: a command that outlives its timeout is
// killed with everything it started, and the check ends soon after.
func TestCommandProberKillsTheGroup(t *testing.T) {
	_, d := probeNS(t)
	// A sleep of a length no other process has: its command line finds it.
	marker := fmt.Sprintf("%d.%05d", 30+os.Getpid()%1000, time.Now().UnixNano()%100000)
	start := time.Now()
	err := runCheck(t, d, Check{Type: "command", Timeout: 300 * time.Millisecond,
		Command: []string{"/bin/sh", "-c", "sleep " + marker + " & sleep " + marker + "; wait"}}, netip.MustParseAddrPort("127.0.0.1:1"))
	if err == nil {
		t.Fatal("a command killed at its timeout counted as healthy")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the check took %v with a 300ms timeout", took)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", "sleep "+marker).Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of the timed-out check still run: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHangingTargetIsBounded: a real server that accepts and never answers
// fails at its check's timeout, and the other real servers keep being
// checked meanwhile, even with one probe at a time (MaxChecks 1).
func TestHangingTargetIsBounded(t *testing.T) {
	ns, _ := probeNS(t)
	d := &Director{netns: int(ns), opts: Options{MaxChecks: 1}}
	hang := listenTCP(t, ns) // accepts (the kernel's backlog), never answers
	var hits atomic.Int32
	ok := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	ok.Listener.Close()
	ok.Listener = listenTCP(t, ns)
	ok.Start()
	t.Cleanup(ok.Close)
	cfg := mustParse(t, fmt.Sprintf(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    check: {type: http, interval: 100ms, timeout: 300ms, rise: 1, fall: 2}
    realServers:
      - {address: "%s", forward: nat}
      - {address: "%s", forward: nat}
`, hang.Addr(), ok.Listener.Addr()))
	m := mustCompile(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan change, 16)
	stop := d.startChecks(ctx, m, map[target]bool{}, changes)
	start := time.Now()
	var failedAt time.Duration
	for failedAt == 0 {
		select {
		case c := <-changes:
			if c.tg.addr.String() != hang.Addr().String() || c.e.Healthy {
				t.Fatalf("unexpected change %+v", c.e)
			}
			failedAt = time.Since(start)
		case <-time.After(10 * time.Second):
			t.Fatal("the hanging real server was never reported failed")
		}
	}
	time.Sleep(time.Second)
	stop()
	close(changes)
	for c := range changes {
		t.Errorf("unexpected change %+v", c.e)
	}
	// Two timeouts in a row fail it: about 0.7 s with the interval.
	if failedAt > 3*time.Second {
		t.Errorf("failed after %v, want about two 300ms timeouts", failedAt)
	}
	if n := hits.Load(); n < 3 {
		t.Errorf("the healthy real server was checked %d times in %v, want it checked throughout", n, failedAt+time.Second)
	}
}
