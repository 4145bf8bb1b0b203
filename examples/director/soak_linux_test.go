package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// soakFor is how long TestSoak runs after its warm-up. The default keeps
// the test within about 3 minutes in the VM tier; a manual soak runs longer
// (the guest's timeout is go test's -timeout):
//
//	go test -race -count=1 -run TestSoak -v -timeout 45m ./examples/director/ -soak=30m
var soakFor = flag.Duration("soak", 90*time.Second, "how long TestSoak directs traffic after its warm-up (see soak_linux_test.go for a long run)")

// The soak's service, on the NAT lab, and its real servers.
var (
	soakVIP = netip.MustParseAddrPort("10.0.0.8:80")
	soakSvc = ipvs.Key{Protocol: ipvs.TCP, Addr: soakVIP, Family: ipvs.IPv4}
	// soakRS1 (the lab's page "rs1") is the one the control socket's
	// weight, drain, restore, disable and enable change over and over.
	soakRS1 = netip.MustParseAddrPort("10.0.0.110:80")
	// soakRS2 (the lab's page "rs2") is never changed by hand: its weight
	// is 1 or 2 as the reloads alternate, so the service always has a real
	// server to send a connection to.
	soakRS2 = netip.MustParseAddrPort("10.0.0.120:80")
	// soakFlap ("flap", in rs2's namespace) is stopped and started again
	// and again: the director must take it out and put it back.
	soakFlap = netip.MustParseAddrPort("10.0.0.120:8080")
	// soakChurn ("churn", in rs1's namespace) is in the file every other
	// reload: added, and removed. The daemon runs with -drain, as one in
	// service should: a removed real server is drained (weight 0 until its
	// connections are done, 10 s at most) before it is deleted. Deleted at
	// once, it would lose the requests in flight to it: IPVS drops the
	// packets of a connection whose real server is gone (the sysctl
	// expire_nodest_conn, 0 by default), and the client times out.
	soakChurn = netip.MustParseAddrPort("10.0.0.110:8081")
)

// soakConfig is the soak's file: rs2 at weight w2, and the churn real
// server or not. Every real server is checked by TCP every second, two
// failures enough, one success enough to come back.
func soakConfig(w2 int, churn bool) string {
	s := fmt.Sprintf(`services:
  - name: web
    protocol: tcp
    address: %v
    scheduler: wrr
    check: {type: tcp, interval: 1s, timeout: 1s, rise: 1, fall: 2}
    realServers:
      - {address: %v, forward: nat, weight: 2}
      - {address: %v, forward: nat, weight: %d}
      - {address: %v, forward: nat, weight: 1}
`, soakVIP, soakRS1, soakRS2, w2, soakFlap)
	if churn {
		s += fmt.Sprintf("      - {address: %v, forward: nat, weight: 1}\n", soakChurn)
	}
	return s
}

// Tolerances of the start-to-end comparison, measured with the load
// paused and the test's idle control connections closed, each the lowest
// of five samples (checks and scrapes in flight come and go): a goroutine
// or file left behind by each reload (dozens in a run), each control call
// (hundreds) or each check (thousands) would pass them by far; what may
// move without a leak is the runtime's and net/http's own (a timer, a
// poller, a connection not yet reaped).
const (
	soakGoroutineSlack = 10
	soakFDSlack        = 5
	// The heap goal after the run may be twice the one at the start, or 8
	// MiB more when that is more: the start's live heap is a few MiB, and
	// caches that fill once (the metrics' descriptors, the status page's
	// buffers, the runtime's) may double it without growing further.
	soakHeapSlack = 8 << 20
)

// TestSoak directs traffic through the daemon (built with -race when the
// test is) for -soak after a warm-up, in the NAT lab: clients request the
// VIP one connection at a time; the file is reloaded every 3 s, SIGHUP and
// the control socket in turn, rs2's weight changing and a real server
// added and removed (drained, -drain 10s); one real server's listener is
// stopped and started again (the director must notice each time); the
// control socket's status, weight, drain, restore, disable and enable, and
// /metrics are hit at the same time. No request may fail except on the flapping real
// server while its listener was down (each failure is found in the
// director's connection table, which names the real server it went to);
// every reload and control call must be answered and applied; the
// daemon's goroutines, open files and heap at the end must be those at
// the start, within the tolerances above; the daemon must print no race
// report or panic and exit 0.
func TestSoak(t *testing.T) {
	vmtest.Require(t, modules...)
	if testing.Short() {
		t.Skip("a soak of minutes; not with -short")
	}
	if !raceBuild {
		t.Log("not a -race build: the soak cannot see data races (run it with go test -race)")
	}
	started := time.Now()
	l := labtest.Build(t, lab.NAT())
	dir := labtest.Host(t, l, lab.Director)
	client := labtest.Host(t, l, lab.Client)
	rs1 := labtest.Host(t, l, lab.RS1)
	rs2 := labtest.Host(t, l, lab.RS2)
	ns := int(dir.NS())

	// The test's own listeners: churn for the test's life, flap until the
	// flapper stops it.
	lctx, lcancel := context.WithCancel(context.Background())
	defer lcancel()
	if err := rs1.Serve(lctx, fmt.Sprintf(":%d", soakChurn.Port()), "churn"); err != nil {
		t.Fatal(err)
	}
	flapCtx, flapStop := context.WithCancel(lctx)
	if err := rs2.Serve(flapCtx, fmt.Sprintf(":%d", soakFlap.Port()), "flap"); err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	conf, state, sock := filepath.Join(tmp, "director.yaml"), filepath.Join(tmp, "state.json"), filepath.Join(tmp, "control.sock")
	write := func(s string) {
		if err := os.WriteFile(conf+".new", []byte(s), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Rename(conf+".new", conf); err != nil {
			t.Error(err)
		}
	}
	write(soakConfig(1, false))
	ipc, err := ipvs.New(&ipvs.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer ipc.Close()

	// The daemon, its output watched line by line.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const metricsAt = "127.0.0.1:9120"
	out := &daemonOutput{}
	daemon := exec.Command(self)
	daemon.Env = append(os.Environ(), daemonEnv+"=1",
		daemonEnv+"_ARGS=-config "+conf+" -state "+state+" -control "+sock+" -metrics "+metricsAt+" -drain 10s -teardown")
	daemon.Stdout, daemon.Stderr = out, out
	if err := netnsx.Do(ns, daemon.Start); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			daemon.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("daemon output: %s", out)
		}
	}()

	s := &soak{t: t, dir: dir, ipc: ipc, sock: sock, pid: daemon.Process.Pid, metricsURL: "http://" + metricsAt + "/metrics",
		flaps: &flapLog{}, calls: map[string]int{}, reloads: map[string]int{}}
	defer s.closeClients()
	ready := s.control()
	waitFor(t, 2*time.Minute, "the daemon's first apply", func() bool {
		var v statusView
		return ready.call("GET", "/v1/status", nil, &v) == nil && !v.LastResync.IsZero() && len(v.Services) == 1
	})
	waitFor(t, time.Minute, "every real server healthy", func() bool {
		return s.health(ready, soakRS1) == "healthy" && s.health(ready, soakRS2) == "healthy" && s.health(ready, soakFlap) == "healthy"
	})
	t.Logf("the daemon (pid %d, race detector %v) is up after %v", s.pid, raceBuild, time.Since(started).Round(time.Second))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	traffic := newSoakTraffic(client, ipc, soakVIP, soakFlap, s.flaps)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { traffic.run(ctx, 20*time.Millisecond) })
	}
	wg.Go(func() { s.reloader(ctx, write, daemon.Process) })
	wg.Go(func() { s.flapper(ctx, rs2, flapStop) })
	wg.Go(func() { s.changer(ctx) })
	wg.Go(func() { s.statusReader(ctx) })
	for range 2 {
		wg.Go(func() { s.scraper(ctx) })
	}
	stopLoad := func() {
		cancel()
		wg.Wait()
	}
	defer stopLoad()

	// Warm up: every kind of reload, call and flap at least once.
	const warmup = 20 * time.Second
	sleepCtx(ctx, warmup)
	begin := s.measure(ctx)
	a0, _ := traffic.totals()
	soakStart := time.Now()
	sleepCtx(ctx, *soakFor)
	end := s.measure(ctx)
	soakTime := time.Since(soakStart)
	a1, f1 := traffic.totals()
	stopLoad()

	// The daemon's own account of its reloads, then its exit.
	final, err := dir.Get(context.Background(), s.metricsURL)
	if err != nil {
		t.Errorf("the last scrape: %v", err)
	}
	reloadMetrics, err := metricValues(final, "lvs_director_config_reload_failures_total", "lvs_director_config_last_reload_successful")
	if err != nil {
		t.Error(err)
	}
	daemon.Process.Signal(syscall.SIGTERM)
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(time.Minute):
		t.Error("the daemon did not stop within a minute of SIGTERM")
		daemon.Process.Kill()
		exitErr = <-exited
	}
	stopped = true

	// The figures, for the record.
	s.mu.Lock()
	calls := fmt.Sprint(s.calls)
	callErrors := s.callErrors
	s.mu.Unlock()
	traffic.mu.Lock()
	var figures strings.Builder
	fmt.Fprintf(&figures, "soak: %v after a %v warm-up (guest time; test %v so far), race detector %v\n",
		soakTime.Round(time.Second), warmup, time.Since(started).Round(time.Second), raceBuild)
	fmt.Fprintf(&figures, "requests: %d answered (%d in the measured span) %v; failed: %d excused (the flapping real server while down), %d counted %v; %d cut short by the end; %d client ports in use\n",
		a1, a1-a0, traffic.answers, traffic.excused, f1, traffic.failures, traffic.cut, traffic.bind)
	fmt.Fprintf(&figures, "reloads: %d by SIGHUP, %d by the control socket, all applied: %v\n", s.reloads["sighup"], s.reloads["socket"], s.reloadErrors == 0)
	fmt.Fprintf(&figures, "flaps: %d (stopped, seen failed, started, seen healthy); stopped to seen failed: %s\n", s.flapCycles, spread(s.detections))
	fmt.Fprintf(&figures, "control and metrics calls: %s; failed: %d\n", calls, callErrors)
	fmt.Fprintf(&figures, "daemon: goroutines %d -> %d, open files %d -> %d (process_open_fds %.0f -> %.0f), heap goal %.1f -> %.1f MiB, heap in use %.1f -> %.1f MiB, GCs %.0f -> %.0f; %d lines of output\n",
		begin.goroutines, end.goroutines, len(begin.fds), len(end.fds), begin.openFDs, end.openFDs,
		begin.heapGoal/(1<<20), end.heapGoal/(1<<20), begin.heapInuse/(1<<20), end.heapInuse/(1<<20), begin.gcs, end.gcs, out.lines)
	examples := traffic.examples
	traffic.mu.Unlock()
	t.Log(figures.String())

	// The verdicts.
	if f1 > 0 {
		t.Errorf("%d requests failed other than on the flapping real server while it was down, the first:\n%s", f1, strings.Join(examples, "\n"))
	}
	for _, page := range []string{"rs1", "rs2", "flap", "churn"} {
		if traffic.answers[page] == 0 {
			t.Errorf("no request answered by %s: the soak did not exercise it", page)
		}
	}
	if a1-a0 < 100 {
		t.Errorf("%d requests answered in the measured span, want at least 100", a1-a0)
	}
	if s.reloads["sighup"] == 0 || s.reloads["socket"] == 0 || s.reloadErrors > 0 {
		t.Errorf("reloads %v, %d not answered or not applied: want both kinds, all applied", s.reloads, s.reloadErrors)
	}
	if reloadMetrics["lvs_director_config_reload_failures_total"] != 0 || reloadMetrics["lvs_director_config_last_reload_successful"] != 1 {
		t.Errorf("the daemon's reload metrics %v, want no failure", reloadMetrics)
	}
	if s.flapCycles < 2 || s.flapErrors > 0 {
		t.Errorf("%d flaps seen through, %d not noticed by the director: want at least 2, all noticed", s.flapCycles, s.flapErrors)
	}
	if callErrors > 0 {
		t.Errorf("%d control or metrics calls failed", callErrors)
	}
	for _, kind := range []string{"status", "weight", "drain", "restore", "disable", "enable", "metrics"} {
		if s.calls[kind] == 0 {
			t.Errorf("no %s call made", kind)
		}
	}
	if end.goroutines > begin.goroutines+soakGoroutineSlack {
		t.Errorf("the daemon's goroutines went from %d to %d, more than %d more", begin.goroutines, end.goroutines, soakGoroutineSlack)
	}
	if len(end.fds) > len(begin.fds)+soakFDSlack {
		added := newFDs(begin.fds, end.fds)
		t.Errorf("the daemon's open files went from %d to %d, more than %d more; %d new, the first: %v", len(begin.fds), len(end.fds), soakFDSlack, len(added), added[:min(10, len(added))])
	}
	if limit := math.Max(2*begin.heapGoal, begin.heapGoal+soakHeapSlack); end.heapGoal > limit {
		t.Errorf("the daemon's heap goal went from %.1f to %.1f MiB, above %.1f MiB", begin.heapGoal/(1<<20), end.heapGoal/(1<<20), limit/(1<<20))
	}
	if end.gcs <= begin.gcs {
		t.Errorf("no GC between the two measures (%v, %v): the heap figures are not after the run", begin.gcs, end.gcs)
	}
	if bad := out.badLines(); len(bad) > 0 {
		t.Errorf("the daemon reported: %s", strings.Join(bad, "; "))
	}
	if exitErr != nil {
		t.Errorf("the daemon's exit after SIGTERM: %v (66: the race detector found a race)", exitErr)
	}
}

// soak is the state the soak's goroutines share: the clients they talk to
// the daemon with, and their counts.
type soak struct {
	t          *testing.T
	dir        *lab.Host
	ipc        *ipvs.Client
	sock       string
	pid        int
	metricsURL string
	flaps      *flapLog

	// quiet is held for reading by each step of the load on the daemon (a
	// reload, a call, a flap from stopped to healthy again), and for
	// writing while the daemon is measured.
	quiet sync.RWMutex

	mu           sync.Mutex
	clients      []*controlClient
	calls        map[string]int
	callErrors   int
	reloads      map[string]int
	reloadErrors int
	flapCycles   int
	flapErrors   int
	detections   []time.Duration // from a listener stopped to the director showing it failed
}

// control returns a control client of its own for one goroutine, whose
// idle connections measure and the test's end close.
func (s *soak) control() *controlClient {
	c := newControlClient(s.sock)
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

func (s *soak) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.http.CloseIdleConnections()
	}
}

// count records a call of kind and its error, if any.
func (s *soak) count(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[kind]++
	if err != nil {
		s.callErrors++
		if s.callErrors <= 5 {
			s.t.Errorf("%s: %v", kind, err)
		}
	}
}

// health is the real server's health as the director's status says it
// ("healthy", "failed"), or what went wrong reading it.
func (s *soak) health(c *controlClient, rs netip.AddrPort) string {
	var v statusView
	if err := c.call("GET", "/v1/status", nil, &v); err != nil {
		return err.Error()
	}
	for _, sv := range v.Services {
		for _, r := range sv.RealServers {
			if sv.Service == soakSvc && r.Addr == rs {
				return r.Health
			}
		}
	}
	return "absent"
}

// step runs fn, one step of the load, unless the daemon is being
// measured (then after).
func (s *soak) step(fn func()) {
	s.quiet.RLock()
	defer s.quiet.RUnlock()
	fn()
}

// reloader rewrites the file every 3 s (rs2's weight 1 or 2, the churn
// real server in or out) and has the daemon reload it, by SIGHUP and by
// the control socket in turn; each reload must show in the kernel's table
// within 30 s.
func (s *soak) reloader(ctx context.Context, write func(string), p *os.Process) {
	c := s.control()
	for i := 1; sleepCtx(ctx, 3*time.Second); i++ {
		s.step(func() {
			w2, churn, kind := 1+i%2, i%2 == 1, "socket"
			write(soakConfig(w2, churn))
			var err error
			if i%4 < 2 {
				kind = "sighup"
				err = p.Signal(syscall.SIGHUP)
			} else {
				var a reloadAnswer
				if err = c.call("POST", "/v1/reload", nil, &a); err == nil && a.Errors > 0 {
					err = fmt.Errorf("answered with %d errors", a.Errors)
				}
			}
			if err == nil {
				err = s.applied(ctx, w2, churn)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				if s.reloadErrors++; s.reloadErrors <= 5 {
					s.t.Errorf("reload %d (%s): %v", i, kind, err)
				}
			} else if err == nil {
				s.reloads[kind]++
			}
		})
	}
}

// applied waits for the kernel's table to show rs2 at weight w2 and the
// churn real server at weight 1, or else draining (weight 0) or gone.
func (s *soak) applied(ctx context.Context, w2 int, churn bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		tab, err := s.ipc.Table(ctx)
		if err != nil {
			return err
		}
		got := map[netip.AddrPort]int{}
		for _, sv := range tab.Services {
			for _, d := range sv.Destinations {
				got[d.Addr] = d.Weight
			}
		}
		wc, hasChurn := got[soakChurn]
		if got[soakRS2] == w2 && (churn && wc == 1 || !churn && (!hasChurn || wc == 0)) {
			return nil
		}
		if time.Now().After(deadline) || !sleepCtx(ctx, 50*time.Millisecond) {
			return fmt.Errorf("not applied within 30 s: the kernel has %v, want %v at weight %d and %v in service: %v", got, soakRS2, w2, soakChurn, churn)
		}
	}
}

// flapper stops the flapping real server's listener, waits for the
// director to show it failed, starts it again after 2 s, waits for the
// director to show it healthy, and again after 4 s.
func (s *soak) flapper(ctx context.Context, rs2 *lab.Host, stop context.CancelFunc) {
	c := s.control()
	waitHealth := func(want string) (time.Duration, error) {
		start := time.Now()
		for {
			got := s.health(c, soakFlap)
			if got == want {
				return time.Since(start), nil
			}
			if time.Since(start) > 30*time.Second {
				return 0, fmt.Errorf("the director shows the flapping real server %s 30 s on, want %s", got, want)
			}
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return 0, nil
			}
		}
	}
	for sleepCtx(ctx, 4*time.Second) {
		s.step(func() {
			s.flaps.stopped(time.Now())
			stop()
			took, err := waitHealth("failed")
			if err == nil {
				sleepCtx(ctx, 2*time.Second)
			}
			// Started again whatever happened: the load and the measures
			// want it up.
			var fctx context.Context
			fctx, stop = context.WithCancel(context.Background())
			if serr := rs2.Serve(fctx, fmt.Sprintf(":%d", soakFlap.Port()), "flap"); serr != nil {
				err = serr
			}
			s.flaps.started(time.Now())
			if err == nil {
				_, err = waitHealth("healthy")
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			switch {
			case err != nil:
				if s.flapErrors++; s.flapErrors <= 5 {
					s.t.Errorf("flap %d: %v", s.flapCycles+s.flapErrors, err)
				}
			case ctx.Err() == nil:
				s.flapCycles++
				s.detections = append(s.detections, took.Round(10*time.Millisecond))
			}
		})
	}
	stop() // the Lab's Close stops it too; this is the last stop's cancel
}

// changer changes rs1 by hand through the control socket, over and over:
// weight 3, restore, drain for an hour, restore, disable, enable; each
// change must be in the kernel's table when the call returns.
func (s *soak) changer(ctx context.Context) {
	c := s.control()
	w := 3
	ops := []struct {
		kind, path string
		body       any
		weight     int // rs1's in the kernel after the call
	}{
		{"weight", "/v1/realservers/weight", overrideRequest{Service: soakSvc, RealServer: soakRS1, Weight: &w, Reason: "soak"}, 3},
		{"restore", "/v1/realservers/restore", overrideRequest{Service: soakSvc, RealServer: soakRS1}, 2},
		{"drain", "/v1/realservers/drain", overrideRequest{Service: soakSvc, RealServer: soakRS1, Reason: "soak"}, 0},
		{"restore", "/v1/realservers/restore", overrideRequest{Service: soakSvc, RealServer: soakRS1}, 2},
		{"disable", "/v1/disable", maintenanceRequest{Service: soakSvc, RealServer: soakRS1, Reason: "soak"}, 0},
		{"enable", "/v1/enable", maintenanceRequest{Service: soakSvc, RealServer: soakRS1}, 2},
	}
	for i := 0; sleepCtx(ctx, 300*time.Millisecond); i++ {
		op := ops[i%len(ops)]
		if op.kind == "drain" {
			o := op.body.(overrideRequest)
			o.Until = time.Now().Add(time.Hour)
			op.body = o
		}
		s.step(func() {
			err := c.call("POST", op.path, op.body, &struct{}{})
			if err == nil {
				if got, rerr := s.weight(ctx, soakRS1); rerr != nil {
					err = rerr
				} else if got != op.weight {
					err = fmt.Errorf("answered, but rs1's weight in the kernel is %d, want %d", got, op.weight)
				}
			}
			if ctx.Err() == nil {
				s.count(op.kind, err)
			}
		})
	}
}

// weight is rs's weight in the kernel's table (-1: not there).
func (s *soak) weight(ctx context.Context, rs netip.AddrPort) (int, error) {
	tab, err := s.ipc.Table(ctx)
	if err != nil {
		return 0, err
	}
	for _, sv := range tab.Services {
		for _, d := range sv.Destinations {
			if d.Addr == rs {
				return d.Weight, nil
			}
		}
	}
	return -1, nil
}

// statusReader reads the status every 200 ms.
func (s *soak) statusReader(ctx context.Context) {
	c := s.control()
	for sleepCtx(ctx, 200*time.Millisecond) {
		s.step(func() {
			var v statusView
			err := c.call("GET", "/v1/status", nil, &v)
			if err == nil && len(v.Services) != 1 {
				err = fmt.Errorf("status shows %d services, want 1", len(v.Services))
			}
			if ctx.Err() == nil {
				s.count("status", err)
			}
		})
	}
}

// scraper scrapes /metrics every 200 ms.
func (s *soak) scraper(ctx context.Context) {
	for sleepCtx(ctx, 200*time.Millisecond) {
		s.step(func() {
			body, err := s.dir.Get(ctx, s.metricsURL)
			if err == nil && !strings.Contains(body, "\nlvs_director_applies_total ") {
				err = fmt.Errorf("a scrape without lvs_director_applies_total")
			}
			if ctx.Err() == nil {
				s.count("metrics", err)
			}
		})
	}
}

// measure pauses the load on the daemon (traffic goes on: it does not go
// through the daemon's process), closes the test's idle control
// connections, lets the daemon settle for 2 s and samples it five times,
// 400 ms apart: the lowest goroutine and file counts, the last heap
// figures.
func (s *soak) measure(ctx context.Context) procSample {
	s.quiet.Lock()
	defer s.quiet.Unlock()
	s.closeClients()
	sleepCtx(ctx, 2*time.Second)
	var best procSample
	for i := range 5 {
		if i > 0 {
			sleepCtx(ctx, 400*time.Millisecond)
		}
		body, err := s.dir.Get(ctx, s.metricsURL)
		if err != nil {
			s.t.Errorf("measure: %v", err)
			continue
		}
		m, err := metricValues(body, "go_goroutines", "go_memstats_next_gc_bytes", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds_count", "process_open_fds")
		if err != nil {
			s.t.Errorf("measure: %v", err)
			continue
		}
		fds, err := readFDs(s.pid)
		if err != nil {
			s.t.Errorf("measure: %v", err)
			continue
		}
		g := int(m["go_goroutines"])
		if best.fds == nil || g < best.goroutines {
			best.goroutines = g
		}
		if best.fds == nil || len(fds) < len(best.fds) {
			best.fds, best.openFDs = fds, m["process_open_fds"]
		}
		best.heapGoal, best.heapInuse, best.gcs = m["go_memstats_next_gc_bytes"], m["go_memstats_heap_inuse_bytes"], m["go_gc_duration_seconds_count"]
	}
	sort.Strings(best.fds)
	return best
}

// spread says the least, the median and the greatest of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("least %v, median %v, most %v", s[0], s[len(s)/2], s[len(s)-1])
}

// sleepCtx sleeps for d and reports whether ctx is still going.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
