package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/ipvs"
)

// bigPlan is a plan of n operations, each adding a real server of its own.
func bigPlan(n int) *director.Plan {
	p := &director.Plan{}
	for i := range n {
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80)}
		rs := ipvs.Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 80), Weight: 1}
		p.Ops = append(p.Ops, director.Op{Kind: director.CreateDestination, Rule: ipvs.Rule{Command: ipvs.CreateDestination, Service: svc, Destination: rs}})
	}
	return p
}

// countingWriter counts the log lines written with each message.
type countingWriter struct {
	mu    sync.Mutex
	count map[string]int
}

func (w *countingWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for line := range bytes.Lines(b) {
		if _, rest, ok := bytes.Cut(line, []byte(" msg=")); ok {
			msg, _, _ := strings.Cut(string(rest), " ")
			if r, ok := strings.CutPrefix(string(rest), `"`); ok {
				msg, _, _ = strings.Cut(r, `"`)
			}
			w.count[msg]++
		}
	}
	return len(b), nil
}

// TestReportLargePlan: the report of a plan of 25,000 operations, every
// one failed, logs each failure once, with its operation, in time linear
// in the plan (matching each failure against the whole plan took minutes).
func TestReportLargePlan(t *testing.T) {
	const n = 25000
	p := bigPlan(n)
	ae := &director.ApplyError{}
	for i, o := range p.Ops {
		ae.Failed = append(ae.Failed, director.FailedOp{Op: o, Err: fmt.Errorf("op %d: %w", i, os.ErrExist)})
	}
	ae.Failed = append(ae.Failed, director.FailedOp{Err: errors.New("saving the state: disk full")})
	w := &countingWriter{count: map[string]int{}}
	dm := &daemon{log: slog.New(slog.NewTextHandler(w, nil))}
	start := time.Now()
	dm.report(director.Report{Plan: p, Err: ae})
	took := time.Since(start)
	if w.count["operation failed"] != n || w.count["applied"] != 0 || w.count["apply failed"] != 1 {
		t.Errorf("logged %v, want %d operations failed and one apply failed", w.count, n)
	}
	if took > 5*time.Second {
		t.Errorf("the report of %d failed operations took %v", n, took)
	}
	t.Logf("%d failed operations reported in %v", n, took)

	// Some failed: the others applied; an operation twice in the plan,
	// failed twice, is matched to each once; a failure of no operation in
	// the plan is logged too.
	p = bigPlan(4)
	p.Ops = append(p.Ops, p.Ops[0])
	other := bigPlan(10).Ops[9]
	ae = &director.ApplyError{Failed: []director.FailedOp{{Op: p.Ops[0], Err: os.ErrExist}, {Op: p.Ops[2], Err: os.ErrExist},
		{Op: p.Ops[0], Err: os.ErrExist}, {Op: other, Err: os.ErrExist}}}
	w = &countingWriter{count: map[string]int{}}
	dm.log = slog.New(slog.NewTextHandler(w, nil))
	dm.report(director.Report{Plan: p, Err: ae})
	if w.count["operation failed"] != 4 || w.count["applied"] != 2 {
		t.Errorf("logged %v, want 4 operations failed and 2 applied", w.count)
	}
}

// slowDaemon runs the daemon on the in-memory kernel with a configuration
// of vips VIPs whose every addition takes delay, so that its first apply
// takes vips*delay; it returns the daemon, its context's cancel (SIGTERM)
// and the channel its end comes on.
func slowDaemon(t *testing.T, vips int, delay time.Duration, edit func(*daemon)) (*daemon, context.CancelFunc, <-chan error) {
	dir := openDir(t)
	var conf strings.Builder
	conf.WriteString("vips:\n")
	for i := range vips {
		fmt.Fprintf(&conf, "  - {address: 192.0.2.%d}\n", i+1)
	}
	conf.WriteString("services:\n  - {protocol: tcp, address: 192.0.2.1:80, realServers: [{address: 10.0.0.110:80, forward: dr}]}\n")
	path := filepath.Join(dir, "director.yaml")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k := directortest.NewKernel()
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	k.Links.Fail(func(op, name string) error {
		if op == "AddAddr" {
			select {
			case <-time.After(delay):
			case <-release:
			}
		}
		return nil
	})
	dm := &daemon{path: path, opts: *k.Options(&director.Options{StateFile: filepath.Join(dir, "state.json")}),
		control: filepath.Join(dir, "control.sock"), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stopTimeout: 10 * time.Second}
	if edit != nil {
		edit(dm)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ended := make(chan struct{})
	go func() { done <- dm.runContext(ctx); close(ended) }()
	t.Cleanup(func() {
		cancel()
		once.Do(func() { close(release) })
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			t.Error("the daemon did not end")
		}
	})
	return dm, cancel, done
}

// TestAnswersDuringApply: while a long first apply runs (20 s), the
// control socket answers a status request, and the daemon ends promptly
// when told to (SIGTERM cancels its context).
func TestAnswersDuringApply(t *testing.T) {
	dm, cancel, done := slowDaemon(t, 100, 200*time.Millisecond, nil)
	ctl := newControlClient(dm.control)
	ctl.timeout = 10 * time.Second
	waitFor(t, 10*time.Second, "the control socket", func() bool {
		_, err := os.Stat(dm.control)
		return err == nil
	})
	time.Sleep(500 * time.Millisecond) // the apply under way
	start := time.Now()
	var v statusView
	if err := ctl.call("GET", "/v1/status", nil, &v); err != nil {
		t.Errorf("status during the apply: %v", err)
	} else if took := time.Since(start); took > 3*time.Second {
		t.Errorf("status answered %v after the request, during the apply", took)
	} else if v.Busy == "" || v.Fingerprint != "" {
		t.Errorf("status during the apply: busy %q, fingerprint %q; want busy and no fingerprint", v.Busy, v.Fingerprint)
	}
	// A second request does not wait again for the lock the first one's
	// read still waits for.
	start = time.Now()
	if err := ctl.call("GET", "/v1/status", nil, &v); err != nil || time.Since(start) > time.Second || v.Busy == "" {
		t.Errorf("second status during the apply: %v after %v, busy %q", err, time.Since(start), v.Busy)
	}
	cancel()
	start = time.Now()
	select {
	case <-done:
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("ended %v after SIGTERM", took)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon did not end within 15s of SIGTERM during a 20s apply")
	}
}

// scaleCheck is a kind of check that passes at once, for tests of many
// checked real servers that must send nothing.
type scaleCheck struct{}

func (scaleCheck) Type() string                    { return "scaletest" }
func (scaleCheck) Compile() (check.Checker, error) { return scaleCheck{}, nil }
func (scaleCheck) Check(context.Context, check.Env, netip.AddrPort) error {
	return nil
}

// TestReadyPollIsCheap: the poll for readiness during start (every 50 ms)
// allocates next to nothing with 20,000 checked real servers (it copied
// every real server's health, 2 MB at 20,000).
func TestReadyPollIsCheap(t *testing.T) {
	if err := check.Register("scaletest", check.Kind{New: func() check.Spec { return new(scaleCheck) }, Port: check.PortUnused}); err != nil && !errors.Is(err, check.ErrDuplicate) {
		t.Fatal(err)
	}
	const services, perService = 1000, 20
	var conf strings.Builder
	conf.WriteString("services:\n")
	for i := range services {
		fmt.Fprintf(&conf, "  - {protocol: tcp, address: 10.1.%d.%d:80, check: {type: scaletest, interval: 24h}, realServers: [", i>>8, i&255)
		for j := range perService {
			if j > 0 {
				conf.WriteString(", ")
			}
			fmt.Fprintf(&conf, "{address: 10.2.%d.%d:80, forward: dr}", j, i&255)
		}
		conf.WriteString("]}\n")
	}
	dm, _ := fakeDaemon(t, conf.String(), nil)
	waitFor(t, 60*time.Second, "every real server checked", func() bool { return len(dm.d.Status().RealServers) == services*perService })
	if !dm.ready() {
		t.Fatal("not ready after the first apply")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const polls = 100
	for range polls {
		dm.ready()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / polls; per > 1024 {
		t.Errorf("a readiness poll allocates %d bytes with %d checked real servers", per, services*perService)
	}
}

// TestOptionFlags: -call-timeout and -max-checks are the director's
// Options.CallTimeout and MaxChecks; negative ones are refused.
func TestOptionFlags(t *testing.T) {
	opts, err := daemonOptions("/var/lib/lvs/state.json", time.Minute, 2*time.Minute, 256)
	if err != nil || opts.CallTimeout != 2*time.Minute || opts.MaxChecks != 256 || opts.Drain != time.Minute || opts.StateFile != "/var/lib/lvs/state.json" {
		t.Errorf("daemonOptions: %+v, %v; want call timeout 2m, 256 checks, drain 1m and the state file", opts, err)
	}
	if _, err := daemonOptions("", 0, -time.Second, 0); err == nil || !strings.Contains(err.Error(), "-call-timeout -1s is negative") {
		t.Errorf("a negative -call-timeout: %v", err)
	}
	if _, err := daemonOptions("", 0, 0, -1); err == nil || !strings.Contains(err.Error(), "-max-checks -1 is negative") {
		t.Errorf("a negative -max-checks: %v", err)
	}
}

// slowCheck is a kind of check that passes after 300 ms, sending nothing.
type slowCheck struct{}

func (*slowCheck) Type() string                    { return "slowtest" }
func (*slowCheck) Compile() (check.Checker, error) { return slowChecker{}, nil }

type slowChecker struct{}

func (slowChecker) Check(ctx context.Context, _ check.Env, _ netip.AddrPort) error {
	select {
	case <-time.After(300 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestOverdueChecksLogged: checks that wait longer than their interval
// for a free checker are logged, with how many.
func TestOverdueChecksLogged(t *testing.T) {
	if err := check.Register("slowtest", check.Kind{New: func() check.Spec { return new(slowCheck) }, Port: check.PortUnused}); err != nil && !errors.Is(err, check.ErrDuplicate) {
		t.Fatal(err)
	}
	w := &countingWriter{count: map[string]int{}}
	fakeDaemon(t, `services:
  - {protocol: tcp, address: 10.1.0.1:80, check: {type: slowtest, interval: 100ms}, realServers: [{address: 10.2.0.1:80, forward: dr}, {address: 10.2.0.2:80, forward: dr}, {address: 10.2.0.3:80, forward: dr}]}
`, func(dm *daemon) {
		dm.opts.MaxChecks = 1 // three checks of 300 ms every 100 ms: overdue
		dm.overdueEvery = 200 * time.Millisecond
		dm.log = slog.New(slog.NewTextHandler(w, nil))
	})
	waitFor(t, 10*time.Second, "a log record of overdue checks", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.count["health checks overdue"] > 0
	})
}
