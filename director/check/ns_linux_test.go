package check

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/syncbuf"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/vishvananda/netns"
)

// The host tier: checks against real servers (Go servers, dnsmasq,
// openssl s_server) in network namespaces the tests create, through
// nsEnv, an Env bound to one, as the director's is.

func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Config{}) }

// nsEnv is the Env of a network namespace, as the director's is.
type nsEnv struct{ ns netns.NsHandle }

func (e nsEnv) Dial(ctx context.Context, network, address string) (c net.Conn, err error) {
	err = nstest.Do(e.ns, func() error { c, err = (&net.Dialer{}).DialContext(ctx, network, address); return err })
	return c, err
}

func (e nsEnv) ListenPacket(ctx context.Context, network, address string) (c net.PacketConn, err error) {
	err = nstest.Do(e.ns, func() error { c, err = (&net.ListenConfig{}).ListenPacket(ctx, network, address); return err })
	return c, err
}

func (e nsEnv) Start(cmd *exec.Cmd) error { return nstest.Do(e.ns, cmd.Start) }

// probeNS returns a fresh namespace with lo up, and its Env.
func probeNS(t *testing.T) (netns.NsHandle, nsEnv) {
	ns := nstest.New(t)
	return ns, nsEnv{ns}
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

// runCheck compiles spec and runs it once against rs from env, within
// 2s (the director's default timeout).
func runCheck(t *testing.T, env Env, spec Spec, rs netip.AddrPort) error {
	t.Helper()
	return runCheckWithin(t, env, spec, rs, 2*time.Second)
}

// runCheckWithin compiles spec and runs it once against rs from env,
// within timeout.
func runCheckWithin(t *testing.T, env Env, spec Spec, rs netip.AddrPort, timeout time.Duration) error {
	t.Helper()
	chk, err := spec.Compile()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return chk.Check(ctx, env, rs)
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
	var out syncbuf.Buffer
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
func checkWant(t *testing.T, env Env, spec Spec, rs netip.AddrPort, want string) error {
	t.Helper()
	err := runCheck(t, env, spec, rs)
	switch {
	case want == "" && err != nil:
		t.Errorf("probe: %v, want healthy", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("probe: %v, want an error with %q", err, want)
	}
	return err
}

// checkHangs runs spec, with a 300ms timeout, against rs that never
// answers: it fails at its timeout.
func checkHangs(t *testing.T, env Env, spec Spec, rs netip.AddrPort) {
	t.Helper()
	start := time.Now()
	err := runCheckWithin(t, env, spec, rs, 300*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("probe of a server that never answers: %v, want a timeout", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v, want about the 300ms timeout", took)
	}
}

// endlessServer answers each connection with prefix, then chunk again
// and again, up to 256 MiB (a cap for the test's sake: the server it
// stands for never stops).
func endlessServer(t *testing.T, l net.Listener, prefix, chunk string) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(c, prefix)
				buf := []byte(strings.Repeat(chunk, (64<<10)/len(chunk)))
				for sent := 0; sent < 256<<20; sent += len(buf) {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// boundedRead runs spec against rs, whose answer never ends, and checks
// that it fails at once with ErrTooLong, having allocated little.
func boundedRead(t *testing.T, env Env, spec Spec, rs netip.AddrPort) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := runCheckWithin(t, env, spec, rs, 5*time.Second)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("error %v after %v, %d KiB allocated", err, took.Round(time.Millisecond), grew>>10)
	if !errors.Is(err, ErrTooLong) {
		t.Errorf("probe: %v, want ErrTooLong", err)
	}
	if grew > 16<<20 {
		t.Errorf("the check allocated %d MiB reading the answer", grew>>20)
	}
	if took > 2*time.Second {
		t.Errorf("took %v: an answer past its bound fails the check at once", took)
	}
}
