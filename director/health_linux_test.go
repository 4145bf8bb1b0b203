package director

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
	var gotHeader atomic.Pointer[http.Header]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/up" && r.Host == "svc.example":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/body":
			io.WriteString(w, "status: ok\nversion: 3\n")
		case r.URL.Path == "/big": // the match is past the first 64 KiB
			w.Write(bytes.Repeat([]byte("x"), 64<<10))
			io.WriteString(w, "status: ok")
		case r.URL.Path == "/header":
			hd := r.Header.Clone()
			gotHeader.Store(&hd)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	serve := func(tls bool) netip.AddrPort {
		s := httptest.NewUnstartedServer(h)
		s.Listener.Close()
		s.Listener = listenTCP(t, ns)
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
		return netip.MustParseAddrPort(s.Listener.Addr().String())
	}
	plain, secure := serve(false), serve(true)
	body := md5.Sum([]byte("status: ok\nversion: 3\n"))
	digest := hex.EncodeToString(body[:])
	for _, tc := range []struct {
		name string
		chk  Check
		rs   netip.AddrPort
		err  string // "" means healthy
	}{
		{"defaults", Check{Type: "http"}, plain, ""},
		{"wrong status", Check{Type: "http", Status: []int{204}}, plain, "status 200, want 204"},
		{"one of the statuses", Check{Type: "http", Status: []int{204, 200}}, plain, ""},
		{"none of the statuses", Check{Type: "http", Status: []int{204, 301}}, plain, "status 200, want 204 or 301"},
		{"path and host", Check{Type: "http", Path: "/up", Host: "svc.example", Status: []int{204}}, plain, ""},
		{"path without host", Check{Type: "http", Path: "/up", Status: []int{204}}, plain, "status 404, want 204"},
		{"refused", Check{Type: "http"}, closedPort(t, ns, "tcp"), "connection refused"},
		{"body matches", Check{Type: "http", Path: "/body", BodyRegexp: `(?m)^status: ok$`}, plain, ""},
		{"body does not match", Check{Type: "http", Path: "/body", BodyRegexp: `status: (down|failed)`}, plain, `body does not match "status: (down|failed)"`},
		{"match past 64 KiB", Check{Type: "http", Path: "/big", BodyRegexp: "status: ok"}, plain, "body does not match"},
		{"match within 64 KiB", Check{Type: "http", Path: "/big", BodyRegexp: "^x+$"}, plain, ""},
		{"digest", Check{Type: "http", Path: "/body", Digest: digest}, plain, ""},
		{"digest in capitals", Check{Type: "http", Path: "/body", Digest: strings.ToUpper(digest)}, plain, ""},
		{"wrong digest", Check{Type: "http", Path: "/body", Digest: "d41d8cd98f00b204e9800998ecf8427e"}, plain,
			"body digest " + digest + ", want d41d8cd98f00b204e9800998ecf8427e"},
		{"status judged before the body", Check{Type: "http", Path: "/nothing", BodyRegexp: "x"}, plain, "status 404"},
		// httptest's certificate is for example.com and 127.0.0.1,
		// signed by a CA of its own: only insecure checks take it.
		{"https unverified", Check{Type: "https"}, secure, "x509: certificate signed by unknown authority"},
		{"https insecure", Check{Type: "https", Insecure: true}, secure, ""},
		{"https on a plain port", Check{Type: "https", Insecure: true}, plain, "http"},
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
	t.Run("headers", func(t *testing.T) {
		chk := Check{Type: "http", Path: "/header", Headers: map[string]string{"x-probe": "lvs 1", "Authorization": "Bearer t0k", "User-Agent": "lvs-check"}}
		if err := runCheck(t, d, chk, plain); err != nil {
			t.Fatal(err)
		}
		got := gotHeader.Load()
		if got == nil {
			t.Fatal("the server saw no request")
		}
		for k, v := range map[string]string{"X-Probe": "lvs 1", "Authorization": "Bearer t0k", "User-Agent": "lvs-check"} {
			if g := got.Values(k); len(g) != 1 || g[0] != v {
				t.Errorf("header %s: the server got %q, want %q", k, g, v)
			}
		}
	})
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
	if err := runCheck(t, d, Check{Type: "http", Path: "/moved", Status: []int{302}}, addr); err != nil {
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
	cfg := mustConfig(t, fmt.Sprintf(`
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
	changes := make(chan healthChange, 16)
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

// runIn runs a command to its end inside ns, failing the test if it fails.
func runIn(t *testing.T, ns netns.NsHandle, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := nstest.Do(ns, cmd.Start); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%q: %v\n%s", argv, err, out.Bytes())
	}
}

// startIn starts a server process inside ns, killed when the test ends,
// and waits until up says it serves.
func startIn(t *testing.T, ns netns.NsHandle, up func() error, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := nstest.Do(ns, cmd.Start); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("%s exited: %v\n%s", argv[0], err, out.String())
		default:
		}
		err := up()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not serve: %v\n%s", argv[0], err, out.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that a process and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// needTool returns the path of a program the test needs: installed by
// scripts/install-deps.sh, so missing it fails the test under CI=true.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (scripts/install-deps.sh installs it)", name)
		}
		t.Skipf("%s is not installed (scripts/install-deps.sh installs it)", name)
	}
	return path
}

// checkWant runs chk against rs and compares the outcome with want: ""
// is healthy, else a part of the error.
func checkWant(t *testing.T, env probeEnv, chk Check, rs netip.AddrPort, want string) error {
	t.Helper()
	err := runCheck(t, env, chk, rs)
	switch {
	case want == "" && err != nil:
		t.Errorf("probe: %v, want healthy", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("probe: %v, want an error with %q", err, want)
	}
	return err
}

// checkHangs runs chk, with a 300ms timeout, against rs that never
// answers: it fails at its timeout.
func checkHangs(t *testing.T, env probeEnv, chk Check, rs netip.AddrPort) {
	t.Helper()
	chk.Timeout = 300 * time.Millisecond
	start := time.Now()
	err := runCheck(t, env, chk, rs)
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("probe of a server that never answers: %v, want a timeout", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v, want about the 300ms timeout", took)
	}
}

// testPKI is a server CA and its certificate for svc.test and 127.0.0.1,
// and a client CA and its certificate, as files.
type testPKI struct {
	server, clientCA                   *testCert
	caFile, otherCAFile                string // the server's CA; a CA that signed nothing here
	serverCert, serverKey              string
	clientCert, clientKey              string
	serverCertificate, otherCertficate tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	dir := t.TempDir()
	ca, other, cca := newTestCA(t, "server CA"), newTestCA(t, "other CA"), newTestCA(t, "client CA")
	p := &testPKI{
		server:   ca.issue(t, "svc.test", []string{"svc.test"}, []net.IP{net.IPv4(127, 0, 0, 1)}),
		clientCA: cca,
		caFile:   filepath.Join(dir, "ca.pem"), otherCAFile: filepath.Join(dir, "other-ca.pem"),
		serverCert: filepath.Join(dir, "server.pem"), serverKey: filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key"),
	}
	client := cca.issue(t, "checker", nil, nil)
	for f, b := range map[string][]byte{p.caFile: ca.certPEM, p.otherCAFile: other.certPEM,
		p.serverCert: p.server.certPEM, p.serverKey: p.server.keyPEM, p.clientCert: client.certPEM, p.clientKey: client.keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// serveHTTPS serves HTTPS in ns with cfg (its certificate added), and
// returns its address and the common name of the last client
// certificate it saw.
func serveHTTPS(t *testing.T, ns netns.NsHandle, pki *testPKI, cfg *tls.Config) (netip.AddrPort, *atomic.Value) {
	var client atomic.Value
	client.Store("")
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			client.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	}))
	s.Listener.Close()
	s.Listener = listenTCP(t, ns)
	cfg.Certificates = []tls.Certificate{pki.server.tls(t)}
	s.TLS = cfg
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are the point
	s.StartTLS()
	t.Cleanup(s.Close)
	return netip.MustParseAddrPort(s.Listener.Addr().String()), &client
}

// TestTLSProbers: tls and https checks verify the real server's
// certificate against caFile for serverName, else host, else its address;
// insecure skips that; a client certificate is presented when the server
// asks for one.
func TestTLSProbers(t *testing.T) {
	ns, d := probeNS(t)
	pki := newTestPKI(t)
	rs, _ := serveHTTPS(t, ns, pki, &tls.Config{})
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	for _, kind := range []string{"tls", "https"} {
		t.Run(kind, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				chk  Check
				err  string
				as   any // an error the failure must wrap
			}{
				{"caFile, address", Check{CAFile: pki.caFile}, "", nil},
				{"caFile, serverName", Check{CAFile: pki.caFile, ServerName: "svc.test"}, "", nil},
				{"system roots", Check{}, "x509: certificate signed by unknown authority", &unknownCA},
				{"other CA", Check{CAFile: pki.otherCAFile, ServerName: "svc.test"}, "certificate signed by unknown authority", &verify},
				{"wrong serverName", Check{CAFile: pki.caFile, ServerName: "other.test"}, "certificate is valid for svc.test, not other.test", &hostname},
				{"insecure", Check{Insecure: true}, "", nil},
				{"insecure, wrong serverName", Check{Insecure: true, ServerName: "other.test"}, "", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.chk.Type = kind
					err := checkWant(t, d, tc.chk, rs, tc.err)
					if tc.as != nil && !errors.As(err, tc.as) {
						t.Errorf("%v does not wrap a %T", err, tc.as)
					}
				})
			}
			t.Run("refused", func(t *testing.T) {
				checkWant(t, d, Check{Type: kind, Insecure: true}, closedPort(t, ns, "tcp"), "connection refused")
			})
			t.Run("hanging", func(t *testing.T) {
				// Connections complete in the kernel's backlog; nobody
				// answers the handshake.
				checkHangs(t, d, Check{Type: kind, Insecure: true}, netip.MustParseAddrPort(listenTCP(t, ns).Addr().String()))
			})
		})
	}
	t.Run("https host as the name", func(t *testing.T) {
		checkWant(t, d, Check{Type: "https", CAFile: pki.caFile, Host: "svc.test"}, rs, "")
		err := checkWant(t, d, Check{Type: "https", CAFile: pki.caFile, Host: "other.test"}, rs, "not other.test")
		if !errors.As(err, &hostname) {
			t.Errorf("%v does not wrap a x509.HostnameError", err)
		}
		checkWant(t, d, Check{Type: "https", CAFile: pki.caFile, Host: "other.test", ServerName: "svc.test"}, rs, "")
	})
	t.Run("client certificate", func(t *testing.T) {
		mtls, client := serveHTTPS(t, ns, pki, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.clientCA.pool()})
		withCert := Check{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
		withCert.Type = "https"
		checkWant(t, d, withCert, mtls, "")
		if got := client.Load(); got != "checker" {
			t.Errorf("the server saw the client certificate %q, want checker's", got)
		}
		withCert.Type = "tls"
		checkWant(t, d, withCert, mtls, "")
		checkWant(t, d, Check{Type: "https", CAFile: pki.caFile}, mtls, "certificate required")
		// With TLS 1.3 the server refuses a missing certificate after the
		// handshake; with 1.2 within it.
		tls12, _ := serveHTTPS(t, ns, pki, &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.clientCA.pool(), MaxVersion: tls.VersionTLS12})
		checkWant(t, d, withCert, tls12, "")
		checkWant(t, d, Check{Type: "tls", CAFile: pki.caFile}, tls12, "tls 127.0.0.1")
	})
}

// TestTLSProbersOpenSSL: the checks against another implementation,
// openssl s_server, where it is installed.
func TestTLSProbersOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	ns, d := probeNS(t)
	pki := newTestPKI(t)
	rs := closedPort(t, ns, "tcp")
	startIn(t, ns, func() error { return runCheck(t, d, Check{Type: "tcp"}, rs) },
		openssl, "s_server", "-quiet", "-www", "-accept", rs.String(), "-cert", pki.serverCert, "-key", pki.serverKey)
	checkWant(t, d, Check{Type: "tls", CAFile: pki.caFile, ServerName: "svc.test"}, rs, "")
	checkWant(t, d, Check{Type: "https", CAFile: pki.caFile, BodyRegexp: "(?i)cipher"}, rs, "")
	checkWant(t, d, Check{Type: "tls"}, rs, "certificate signed by unknown authority")
	checkWant(t, d, Check{Type: "https", CAFile: pki.caFile, ServerName: "other.test"}, rs, "not other.test")
}

// TestDNSProber: a dns check of a real dnsmasq in the test's namespace.
func TestDNSProber(t *testing.T) {
	dnsmasq := needTool(t, "dnsmasq")
	ns, d := probeNS(t)
	rs := closedPort(t, ns, "udp")
	startIn(t, ns, func() error { return runCheck(t, d, Check{Type: "dns", Query: "svc.test"}, rs) },
		dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--port="+strconv.Itoa(int(rs.Port())), "--listen-address=127.0.0.1", "--bind-interfaces",
		"--address=/svc.test/10.1.2.3", "--address=/gone.test/",
		"--local=/rec.test/", "--host-record=www.rec.test,10.1.2.4,2001:db8::5", "--cname=alias.rec.test,www.rec.test",
		"--txt-record=txt.rec.test,hello world", "--mx-host=rec.test,mail.rec.test,10")
	for _, tc := range []struct {
		name string
		chk  Check
		err  string
	}{
		{"A", Check{Query: "svc.test"}, ""},
		{"A answer", Check{Query: "svc.test", Answer: "10.1.2.3"}, ""},
		{"A wrong answer", Check{Query: "svc.test", Answer: "10.1.2.4"}, `svc.test. A: no record holds "10.1.2.4" (the answer has ["10.1.2.3"])`},
		{"NXDOMAIN", Check{Query: "gone.test"}, "gone.test. A: rcode NXDOMAIN, want NOERROR"},
		{"NXDOMAIN expected", Check{Query: "gone.test", Rcode: "nxdomain"}, ""},
		{"NOERROR, NXDOMAIN expected", Check{Query: "svc.test", Rcode: "NXDOMAIN"}, "rcode NOERROR, want NXDOMAIN"},
		{"REFUSED expected", Check{Query: "elsewhere.example", Rcode: "REFUSED"}, ""},
		{"AAAA answer", Check{Query: "www.rec.test", QueryType: "AAAA", Answer: "2001:db8:0::5"}, ""},
		{"AAAA wrong answer", Check{Query: "www.rec.test", QueryType: "AAAA", Answer: "2001:db8::6"}, "no record holds"},
		{"A through a CNAME", Check{Query: "alias.rec.test", Answer: "10.1.2.4"}, ""},
		{"CNAME answer", Check{Query: "alias.rec.test", QueryType: "CNAME", Answer: "WWW.rec.test"}, ""},
		{"CNAME wrong answer", Check{Query: "alias.rec.test", QueryType: "CNAME", Answer: "other.rec.test."}, `(the answer has ["www.rec.test."])`},
		{"TXT answer", Check{Query: "txt.rec.test", QueryType: "TXT", Answer: "hello world"}, ""},
		{"TXT wrong answer", Check{Query: "txt.rec.test", QueryType: "TXT", Answer: "hello"}, `no record holds "hello"`},
		{"MX answer", Check{Query: "rec.test", QueryType: "MX", Answer: "mail.rec.test."}, ""},
		{"no record of the type", Check{Query: "www.rec.test", QueryType: "MX", Answer: "mail.rec.test"}, "no record holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.chk.Type = "dns"
			checkWant(t, d, tc.chk, rs, tc.err)
		})
	}
	t.Run("port unreachable", func(t *testing.T) {
		err := checkWant(t, d, Check{Type: "dns", Query: "svc.test"}, closedPort(t, ns, "udp"), "connection refused")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%v is not ECONNREFUSED", err)
		}
	})
	t.Run("hanging", func(t *testing.T) {
		checkHangs(t, d, Check{Type: "dns", Query: "svc.test"}, netip.MustParseAddrPort(listenUDP(t, ns).LocalAddr().String()))
	})
}

// TestICMPProber: pings inside the test's namespace: its loopback
// answers; a blackholed address fails at once, one on a link where
// nothing answers at the timeout.
func TestICMPProber(t *testing.T) {
	ns, d := probeNS(t)
	runIn(t, ns, "ip", "route", "add", "blackhole", "10.9.9.9/32")
	// 10.9.8.0/24 is on a veth whose other end, in the same namespace,
	// has no address: nothing answers there.
	runIn(t, ns, "ip", "link", "add", "lvsq0", "type", "veth", "peer", "name", "lvsq1")
	runIn(t, ns, "ip", "link", "set", "lvsq1", "up")
	runIn(t, ns, "ip", "link", "set", "lvsq0", "up")
	runIn(t, ns, "ip", "addr", "add", "10.9.8.1/24", "dev", "lvsq0")
	icmp := Check{Type: "icmp"}
	checkWant(t, d, icmp, netip.MustParseAddrPort("127.0.0.1:0"), "")
	checkWant(t, d, icmp, netip.MustParseAddrPort("127.0.0.1:80"), "") // the port means nothing
	checkWant(t, d, icmp, netip.MustParseAddrPort("[::ffff:127.0.0.1]:0"), "")
	checkWant(t, d, icmp, netip.MustParseAddrPort("[::1]:0"), "")
	// Probes at once each take their own reply.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := runCheck(t, d, icmp, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%4)}), 0)); err != nil {
				t.Errorf("concurrent ping %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Run("blackhole", func(t *testing.T) {
		start := time.Now()
		checkWant(t, d, Check{Type: "icmp", Timeout: 10 * time.Second}, netip.MustParseAddrPort("10.9.9.9:0"), "icmp 10.9.9.9")
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v: a blackholed address fails at once", took)
		}
	})
	t.Run("no reply", func(t *testing.T) {
		chk := Check{Type: "icmp", Timeout: 300 * time.Millisecond}
		start := time.Now()
		err := checkWant(t, d, chk, netip.MustParseAddrPort("10.9.8.2:0"), "icmp 10.9.8.2: no echo reply")
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v is not a timeout", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("took %v, want about the 300ms timeout", took)
		}
	})
	t.Run("fwmark", func(t *testing.T) {
		if _, err := compileCheck(icmp, true); err != nil {
			t.Errorf("an icmp check of a firewall-mark service: %v", err)
		}
	})
}

// smtpServer is an SMTP server in the test: it sends banner, answers
// HELO with helo (never, if empty) and QUIT with 221, and records the
// commands it gets.
func smtpServer(t *testing.T, ns netns.NsHandle, banner, helo string) (netip.AddrPort, <-chan string) {
	l := listenTCP(t, ns)
	got := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, banner)
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					got <- line
					switch {
					case strings.HasPrefix(line, "HELO ") && helo != "":
						io.WriteString(c, helo)
					case line == "QUIT":
						io.WriteString(c, "221 bye\r\n")
						return
					}
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String()), got
}

// TestSMTPProber: an smtp check of servers in the test: a multi-line
// banner, HELO, a refusal, none listening and one that never answers.
func TestSMTPProber(t *testing.T) {
	ns, d := probeNS(t)
	const banner = "220-mail.test ESMTP\r\n220-no UCE\r\n220 ready\r\n"
	ok, okGot := smtpServer(t, ns, banner, "250 mail.test\r\n")
	commands := func(got <-chan string, n int) []string {
		var cmds []string
		for range n {
			select {
			case c := <-got:
				cmds = append(cmds, c)
			case <-time.After(5 * time.Second):
				return cmds
			}
		}
		return cmds
	}
	checkWant(t, d, Check{Type: "smtp"}, ok, "")
	if cmds := commands(okGot, 1); !slices.Equal(cmds, []string{"QUIT"}) {
		t.Errorf("without helo the server got %q, want QUIT", cmds)
	}
	checkWant(t, d, Check{Type: "smtp", Helo: "checker.test"}, ok, "")
	if cmds := commands(okGot, 2); !slices.Equal(cmds, []string{"HELO checker.test", "QUIT"}) {
		t.Errorf("with helo the server got %q", cmds)
	}
	refusing, _ := smtpServer(t, ns, "554 mail.test no service\r\n", "")
	checkWant(t, d, Check{Type: "smtp"}, refusing, "banner: 554 \"mail.test no service\"")
	rude, _ := smtpServer(t, ns, banner, "501 who are you\r\n")
	checkWant(t, d, Check{Type: "smtp"}, rude, "")
	checkWant(t, d, Check{Type: "smtp", Helo: "checker.test"}, rude, "HELO: 501 \"who are you\"")
	checkWant(t, d, Check{Type: "smtp"}, closedPort(t, ns, "tcp"), "connection refused")
	t.Run("hanging", func(t *testing.T) {
		checkHangs(t, d, Check{Type: "smtp"}, netip.MustParseAddrPort(listenTCP(t, ns).Addr().String()))
	})
	t.Run("no answer to HELO", func(t *testing.T) {
		silent, _ := smtpServer(t, ns, banner, "")
		checkHangs(t, d, Check{Type: "smtp", Helo: "checker.test"}, silent)
	})
}
