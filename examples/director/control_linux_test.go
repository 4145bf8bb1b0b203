package main

import (
	"bufio"

	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveSocketEnv makes the test binary answer {} to every request on the
// unix socket it names, as a process that is not the director would.
const serveSocketEnv = "LVS_TEST_SERVE_SOCKET"

func serveAnything(path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(path, 0o666)
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
}

// quietDaemon is a daemon with only its control socket at path, its
// director not started (a test that sends no request needs none).
func quietDaemon(path string) *daemon {
	return &daemon{control: path, log: slog.New(slog.NewTextHandler(io.Discard, nil)), reload: make(chan reloadRequest)}
}

// staleSocket leaves a socket at path that no one answers on, as a killed
// director does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

// TestControlReplacesOnlyStaleSockets: -control PATH replaces a socket no
// one answers on, and refuses, leaving it as it was, a regular file, a
// directory, a FIFO and a socket a director answers on.
func TestControlReplacesOnlyStaleSockets(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		make  func(path string) error
		check func(path string) error // what must still be there
	}{
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("services: []\n"), 0o600) },
			func(p string) error {
				b, err := os.ReadFile(p)
				if err != nil || string(b) != "services: []\n" {
					return fmt.Errorf("the file is now %q, %v", b, err)
				}
				return nil
			}},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, isMode(os.ModeDir)},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, isMode(os.ModeNamedPipe)},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if err := tc.make(path); err != nil {
			t.Fatal(err)
		}
		stop, err := quietDaemon(path).serveControl()
		if err == nil {
			stop()
			t.Errorf("%s at the control path: served, want an error", tc.name)
		} else if !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("%s at the control path: %v, want it called not a socket", tc.name, err)
		}
		if err := tc.check(path); err != nil {
			t.Errorf("%s at the control path: %v", tc.name, err)
		}
	}

	path := filepath.Join(dir, "stale.sock")
	staleSocket(t, path)
	stop, err := quietDaemon(path).serveControl()
	if err != nil {
		t.Fatalf("a stale socket: %v, want it replaced", err)
	}
	defer stop()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the new socket does not answer: %v", err)
	}
	c.Close()
	// A socket a director answers on (without the lock: an older one).
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if stop, err := quietDaemon(live).serveControl(); err == nil || !strings.Contains(err.Error(), "another director answers") {
		if err == nil {
			stop()
		}
		t.Errorf("a socket a director answers on: %v", err)
	}
}

func isMode(m os.FileMode) func(string) error {
	return func(p string) error {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Type() != m {
			return fmt.Errorf("now %v, %v; want %v", fi.Mode().Type(), err, m)
		}
		return nil
	}
}

// TestControlStartRace: of two directors starting together on one path
// where a stale socket lies, exactly one serves.
func TestControlStartRace(t *testing.T) {
	dir := t.TempDir()
	for i := range 100 {
		path := filepath.Join(dir, fmt.Sprintf("c%d.sock", i))
		staleSocket(t, path)
		var wg sync.WaitGroup
		stops := make([]func(), 2)
		errs := make([]error, 2)
		for j := range 2 {
			wg.Go(func() { stops[j], errs[j] = quietDaemon(path).serveControl() })
		}
		wg.Wait()
		served := 0
		for j := range 2 {
			if errs[j] == nil {
				served++
				defer stops[j]()
			}
		}
		if served != 1 {
			t.Fatalf("start %d: %d directors serve %s (%v), want 1", i, served, path, errs)
		}
	}
}

// TestControlBounds: a connection idle after a request, and one that never
// sends one, are closed after the timeout; no more than the limit of
// connections are served at once.
func TestControlBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	dm := quietDaemon(path)
	dm.controlTimeout, dm.controlConns = 300*time.Millisecond, 2
	stop, err := dm.serveControl()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	closedWithin := func(c net.Conn, d time.Duration) error {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("still open after %v", d)
		}
		return nil
	}
	// Idle after a request (HTTP/1.1 keeps the connection).
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /v1/none HTTP/1.1\r\nHost: director\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := closedWithin(c, 5*time.Second); err != nil {
		t.Errorf("a connection idle after its request: %v", err)
	}
	// Silent from the start.
	c2, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := closedWithin(c2, 5*time.Second); err != nil {
		t.Errorf("a connection that sends nothing: %v", err)
	}

	// The limit: two silent connections hold both slots; a third is not
	// served until they are closed.
	dm2 := quietDaemon(filepath.Join(t.TempDir(), "control.sock"))
	dm2.controlTimeout, dm2.controlConns = time.Minute, 2
	stop2, err := dm2.serveControl()
	if err != nil {
		t.Fatal(err)
	}
	defer stop2()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("unix", dm2.control)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(200 * time.Millisecond) // both accepted
	ask := func(d time.Duration) error {
		c, err := net.Dial("unix", dm2.control)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(d))
		io.WriteString(c, "GET /v1/none HTTP/1.0\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := ask(500 * time.Millisecond); err == nil {
		t.Errorf("a third connection was served while two held the limit of 2")
	}
	for _, c := range held {
		c.Close()
	}
	if err := ask(5 * time.Second); err != nil {
		t.Errorf("a connection after the held ones closed: %v", err)
	}
}

// runAs runs this test binary as the director command with args, as the
// user and group id, and returns its output.
func runAs(t *testing.T, bin string, id uint32, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), daemonEnv+"=1", daemonEnv+"_ARGS="+strings.Join(args, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: id, Gid: id}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// copySelf copies this test binary where any user can run it.
func copySelf(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(openDir(t), "director.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestControlPeers: the server checks each connection's peer as the
// kernel gives it: another user is refused; a member of -status-group may
// read the status but not change anything; a member of -control-group may
// change. The CLI refuses a server that is neither root nor its own user.
func TestControlPeers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run commands as other users")
	}
	const nobody, other = 65534, 65533
	bin := copySelf(t)
	dm, _ := fakeDaemon(t, natConfig("rr", 1), func(dm *daemon) {
		dm.access = controlAccess{change: []uint32{other}, read: []uint32{nobody}}
	})
	enable := []string{"enable", "-control", dm.control, "tcp", "10.0.0.8:80", "10.0.0.110:80"}
	if out, err := runAs(t, bin, nobody, "status", "-control", dm.control); err != nil || !strings.Contains(out, "TCP  10.0.0.8:80") {
		t.Errorf("status as a member of -status-group: %v\n%s", err, out)
	}
	if out, err := runAs(t, bin, nobody, enable...); err == nil || !strings.Contains(out, "permission denied: uid 65534 may not change the director") {
		t.Errorf("enable as a member of -status-group only: %v\n%s", err, out)
	}
	if out, err := runAs(t, bin, other, enable...); err != nil {
		t.Errorf("enable as a member of -control-group: %v\n%s", err, out)
	}
	if out, err := runAs(t, bin, 65532, "status", "-control", dm.control); err == nil || !strings.Contains(out, "permission denied: uid 65532 may not read the status") {
		t.Errorf("status as another user: %v\n%s", err, out)
	}
	if !(controlAccess{}).allows(peer{uid: 0}, true) || (controlAccess{}).allows(peer{uid: 1000, groups: []uint32{1000}}, false) {
		t.Errorf("without groups: root may do everything, others nothing")
	}

	// A socket served by another user (who could create the path):
	// refused by the CLI run as root.
	dir := openDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "control.sock")
	srv := exec.Command(bin)
	srv.Env = append(os.Environ(), serveSocketEnv+"="+sock)
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitFor(t, 10*time.Second, "the other user's socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if out, err := runCLI(t, "status", "-control", sock); err == nil || !strings.Contains(out, "served by uid 65534") || !strings.Contains(out, "refusing") {
		t.Errorf("status from a socket served by uid 65534: %v\n%s", err, out)
	}
}

// TestCLIBoundsAnswer: the CLI reads at most maxAnswer bytes of an answer.
func TestCLIBoundsAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"config": "`)
		chunk := strings.Repeat("a", 1<<20)
		for range maxAnswer>>20 + 8 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `"}`)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	var v statusView
	err = newControlClient(path).call("GET", "/v1/status", nil, &v)
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("an answer of 40 MiB: %v (config of %d bytes), want it refused", err, len(v.Config))
	}
}

// TestStatusReasonsCannotForgeLines: a reason with a newline or a
// terminal escape is printed quoted, on its real server's line.
func TestStatusReasonsCannotForgeLines(t *testing.T) {
	v := statusView{Config: "/etc/lvs/director.yaml", Services: []serviceView{{
		RealServers: []realServerView{{Disabled: true, Reason: "swap\nconfig forged: 0 applies"}, {Disabled: true, Reason: "\x1b[2Jclear"}, {Disabled: true, Reason: "bad \xff utf-8"}},
	}}}
	var b strings.Builder
	if err := writeStatus(&b, v, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\nconfig forged") || strings.Contains(out, "\x1b") || strings.Contains(out, "\xff") {
		t.Errorf("a reason forged output:\n%s", out)
	}
	for _, want := range []string{`"swap\nconfig forged: 0 applies"`, `"\x1b[2Jclear"`, `"bad \xff utf-8"`} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks the quoted reason %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 6 {
		t.Errorf("status has %d lines, want 6:\n%s", n, out)
	}
}
