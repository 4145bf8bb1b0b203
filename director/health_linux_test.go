package director

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The checks themselves are tested in package check; these tests are of
// how the director runs them.

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

// TestCheckRun: a check runs in the Director's namespace (its Env), at
// the check's port rather than the real server's when it has one.
func TestCheckRun(t *testing.T) {
	ns, d := probeNS(t)
	l := listenTCP(t, ns)
	open := netip.MustParseAddrPort(l.Addr().String())
	l2 := listenTCP(t, ns)
	closed := netip.MustParseAddrPort(l2.Addr().String())
	l2.Close()
	if err := runCheck(t, d, Check{Spec: &check.TCP{}}, open); err != nil {
		t.Errorf("open port: %v", err)
	}
	if err := runCheck(t, d, Check{Spec: &check.TCP{}}, closed); err == nil {
		t.Error("closed port: healthy")
	}
	// The check's port wins over the real server's.
	if err := runCheck(t, d, Check{Spec: &check.TCP{}, Port: open.Port()}, closed); err != nil {
		t.Errorf("closed real server port, open check port: %v", err)
	}
	if err := runCheck(t, d, Check{Spec: &check.TCP{}, Port: closed.Port()}, open); err == nil {
		t.Error("open real server port, closed check port: healthy")
	}
	// A command runs in the namespace, with the check's port.
	var st unix.Stat_t
	if err := unix.Fstat(int(ns), &st); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`test "$LVS_RS_ADDR" = 127.0.0.1 && test "$LVS_RS_PORT" = 9 && test "$(readlink /proc/self/ns/net)" = "net:[%d]"`, st.Ino)
	if err := runCheck(t, d, Check{Spec: &check.Command{Argv: []string{"/bin/sh", "-c", script}}, Port: 9}, netip.MustParseAddrPort("127.0.0.1:7")); err != nil {
		t.Errorf("command in the namespace: %v", err)
	}
	// The check's timeout bounds it.
	start := time.Now()
	if err := runCheck(t, d, Check{Spec: &check.Command{Argv: []string{"sleep", "10"}}, Timeout: 300 * time.Millisecond}, open); err == nil {
		t.Error("a command killed at its timeout counted as healthy")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the check took %v with a 300ms timeout", took)
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
