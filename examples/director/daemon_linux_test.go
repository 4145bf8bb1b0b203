package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// natConfig is the NAT lab's configuration with scheduler sched and rs1's
// weight w1; no health check, so that only the test's requests reach the
// real servers.
func natConfig(sched string, w1 int) string {
	return fmt.Sprintf(`services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: %s
    realServers:
      - {address: 10.0.0.110:80, forward: nat, weight: %d}
      - {address: 10.0.0.120:80, forward: nat}
`, sched, w1)
}

// notifySocket is a test's systemd: it gathers the sd_notify datagrams
// sent to its socket.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func newNotifySocket(t *testing.T) *notifySocket {
	n := &notifySocket{path: filepath.Join(t.TempDir(), "notify")}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

// seen returns the messages received so far, each datagram's first line.
func (n *notifySocket) seen() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, len(n.msgs))
	for i, m := range n.msgs {
		out[i], _, _ = strings.Cut(m, "\n")
	}
	return out
}

// waitFor polls cond every 50 ms until it holds, failing t after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

// TestDaemonEndToEnd drives the daemon binary as an operator would, on the
// NAT lab: started under a test's systemd (notify socket, watchdog), it
// says READY=1 after its first apply and pings the watchdog; traffic moves
// its Prometheus counters; a real server disabled through the control
// socket gets no new connections, shows in status with its reason, and
// stays disabled across a reload and a restart; SIGHUP with a new file
// applies it, with a broken file keeps the running configuration (and a
// reload through the socket says why); SIGTERM leaves the table in place,
// SIGTERM with -teardown empties it; -check finds the broken file's line.
func TestDaemonEndToEnd(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.Build(t, lab.NAT())
	dir := labtest.Host(t, l, lab.Director)
	client := labtest.Host(t, l, lab.Client)
	ns := int(dir.NS())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	conf, state, sock := filepath.Join(tmp, "director.yaml"), filepath.Join(tmp, "state.json"), filepath.Join(tmp, "control.sock")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(natConfig("rr", 1))
	ipc, err := ipvs.New(&ipvs.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer ipc.Close()
	weights := func() map[string]int {
		tab, err := ipc.Table(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, s := range tab.Services {
			out["svc"] = len(tab.Services)
			if s.Scheduler != ipvs.RoundRobin {
				out["sched "+string(s.Scheduler)] = 1
			}
			for _, d := range s.Destinations {
				out[d.Addr.String()] = d.Weight
			}
		}
		return out
	}
	answers := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			body, err := client.Get(ctx, "http://10.0.0.8/")
			if err != nil {
				t.Fatal(err)
			}
			got[body]++
		}
		return got
	}
	ctl := newControlClient(sock)
	status := func() statusView {
		t.Helper()
		var v statusView
		if err := ctl.call("GET", "/v1/status", nil, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	svc := ipvs.Key{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}
	rs2 := netip.MustParseAddrPort("10.0.0.120:80")

	sd := newNotifySocket(t)
	args := "-config " + conf + " -state " + state + " -control " + sock + " -metrics 127.0.0.1:9120 -log-format json"
	daemon := startDaemon(t, ns, args, "NOTIFY_SOCKET="+sd.path, "WATCHDOG_USEC=400000")
	waitFor(t, time.Minute, "READY=1", func() bool { return slices.Contains(sd.seen(), "READY=1") })
	if got := answers(4); got["rs1"] != 2 || got["rs2"] != 2 {
		t.Errorf("answers before any change %v, want rs1 2, rs2 2", got)
	}
	waitFor(t, 10*time.Second, "WATCHDOG=1", func() bool { return slices.Contains(sd.seen(), "WATCHDOG=1") })

	// Metrics: the kernel's counter of rs1's connections moves with traffic
	// (the estimator refreshes it every 2 s): 2 of the first 4 requests,
	// then 2 of the next 4.
	conns := func() int {
		body, err := dir.Get(ctx, "http://127.0.0.1:9120/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^lvs_ipvs_backend_connections_total\{[^}]*remote_address="10.0.0.110"[^}]*\} (\d+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no connections counter of rs1 in:\n%s", body)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	waitFor(t, 10*time.Second, "rs1's 2 connections counted", func() bool { return conns() == 2 })
	answers(4)
	waitFor(t, 10*time.Second, "rs1's connection counter moving to 4", func() bool { return conns() == 4 })

	// Disable rs2 by hand: weight 0, every new connection to rs1.
	if err := ctl.call("POST", "/v1/disable", maintenanceRequest{Service: svc, RealServer: rs2, Reason: "disk swap"}, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	if w := weights(); w[rs2.String()] != 0 || w["10.0.0.110:80"] != 1 {
		t.Errorf("after disable: weights %v, want rs2 0", w)
	}
	if got := answers(4); got["rs1"] != 4 {
		t.Errorf("answers with rs2 disabled %v, want all 4 from rs1", got)
	}
	rsView := func(v statusView, a netip.AddrPort) realServerView {
		for _, s := range v.Services {
			for _, r := range s.RealServers {
				if s.Service == svc && r.Addr == a {
					return r
				}
			}
		}
		t.Fatalf("status has no %v: %+v", a, v)
		return realServerView{}
	}
	if r := rsView(status(), rs2); !r.Disabled || r.Reason != "disk swap" || r.Weight != 0 || r.Health != "unchecked" {
		t.Errorf("status of rs2 %+v, want disabled for disk swap at weight 0", r)
	}
	// An unknown real server is refused, and said so.
	err = ctl.call("POST", "/v1/disable", maintenanceRequest{Service: svc, RealServer: netip.MustParseAddrPort("10.0.0.99:80")}, &struct{}{})
	if err == nil || !strings.Contains(err.Error(), "no real server 10.0.0.99:80") {
		t.Errorf("disabling an unknown real server: %v", err)
	}

	// SIGHUP with a new file: wrr, rs1 at weight 3; rs2 stays disabled.
	write(natConfig("wrr", 3))
	daemon.Process.Signal(syscall.SIGHUP)
	waitFor(t, 30*time.Second, "the reload applied", func() bool { w := weights(); return w["10.0.0.110:80"] == 3 })
	if w := weights(); w["sched wrr"] != 1 || w[rs2.String()] != 0 {
		t.Errorf("after the reload: %v, want wrr with rs2 still at 0", w)
	}
	waitFor(t, 10*time.Second, "RELOADING=1 then READY=1", func() bool {
		s := sd.seen()
		i := slices.Index(s, "RELOADING=1")
		return i >= 0 && slices.Contains(s[i:], "READY=1")
	})

	// A broken file: SIGHUP and the socket's reload keep what runs, and
	// -check finds the line.
	write(natConfig("wrr", 3) + "      - {address: 10.0.0.130:80, forward: nat, wieght: 2}\n")
	daemon.Process.Signal(syscall.SIGHUP)
	err = ctl.call("POST", "/v1/reload", nil, &reloadAnswer{})
	if err == nil || !strings.Contains(err.Error(), "wieght") {
		t.Errorf("reload of a broken file through the socket: %v, want the error", err)
	}
	if w := weights(); len(w) != 4 || w["10.0.0.110:80"] != 3 || w[rs2.String()] != 0 {
		t.Errorf("after broken reloads: %v, want the running configuration kept", w)
	}
	if out, err := runCLI(t, "reload", "-control", sock); err == nil || !strings.Contains(out, "wieght") {
		t.Errorf("the reload subcommand on a broken file: %v, want exit 1 and why\n%s", err, out)
	}
	out, err := runCLI(t, "-check", "-config", conf)
	if err == nil || !strings.Contains(out, conf+":9: ") || !strings.Contains(out, "wieght") {
		t.Errorf("-check of the broken file: %v\n%s", err, out)
	}

	// The status subcommand, a process of its own, prints rs2 disabled.
	write(natConfig("wrr", 3))
	out, err = runCLI(t, "status", "-control", sock)
	if err != nil || !strings.Contains(out, "disabled by hand since") || !strings.Contains(out, "disk swap") || !strings.Contains(out, "TCP  10.0.0.8:80 wrr") {
		t.Errorf("director status: %v\n%s", err, out)
	}

	// A weight set by hand: rs1 at 4, kept across the restart below.
	if out, err := runCLI(t, "weight", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.110:80", "4"); err != nil {
		t.Errorf("director weight: %v\n%s", err, out)
	}
	if w := weights(); w["10.0.0.110:80"] != 4 {
		t.Errorf("after weight 4: %v", w)
	}

	// SIGTERM: the table stays; a restart with the state file keeps rs2
	// disabled; enable puts it back.
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Errorf("the daemon's exit: %v", err)
	}
	if !slices.Contains(sd.seen(), "STOPPING=1") {
		t.Errorf("no STOPPING=1 among %v", sd.seen())
	}
	if w := weights(); w["svc"] != 1 {
		t.Errorf("after SIGTERM without -teardown: %v, want the service left in place", w)
	}
	daemon = startDaemon(t, ns, args+" -teardown")
	waitFor(t, 30*time.Second, "the restarted daemon's control socket", func() bool {
		var v statusView
		return ctl.call("GET", "/v1/status", nil, &v) == nil && !v.LastResync.IsZero()
	})
	if w := weights(); w[rs2.String()] != 0 || w["10.0.0.110:80"] != 4 {
		t.Errorf("after the restart: %v, want rs2 still disabled and rs1 still at 4", w)
	}
	if out, err := runCLI(t, "restore", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.110:80"); err != nil {
		t.Errorf("director restore: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "enable", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.120:80"); err != nil {
		t.Errorf("director enable: %v\n%s", err, out)
	}
	if got := answers(4); got["rs2"] != 1 || got["rs1"] != 3 {
		t.Errorf("answers after enable with wrr 3:1 %v, want rs1 3, rs2 1", got)
	}
	// Drain rs1: weight 0, every new connection to rs2; status says why.
	if out, err := runCLI(t, "drain", "-control", sock, "-for", "1h", "-reason", "upgrade", "tcp", "10.0.0.8:80", "10.0.0.110:80"); err != nil {
		t.Errorf("director drain: %v\n%s", err, out)
	}
	if got := answers(4); got["rs2"] != 4 {
		t.Errorf("answers with rs1 draining %v, want all 4 from rs2", got)
	}
	if out, err := runCLI(t, "status", "-control", sock); err != nil || !strings.Contains(out, "weight 0 (declared 3: dra") || !strings.Contains(out, "by hand") {
		t.Errorf("status with rs1 draining: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "restore", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.110:80"); err != nil {
		t.Errorf("director restore after drain: %v\n%s", err, out)
	}
	if w := weights(); w["10.0.0.110:80"] != 3 || w[rs2.String()] != 1 {
		t.Errorf("after restore: %v, want the file's 3 and 1", w)
	}
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Errorf("the daemon's exit: %v", err)
	}
	if w := weights(); len(w) != 0 {
		t.Errorf("after SIGTERM with -teardown: %v, want nothing", w)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
}

// runCLI runs this test binary as the director command with args and
// returns its output.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), daemonEnv+"=1", daemonEnv+"_ARGS="+strings.Join(args, " "))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}
