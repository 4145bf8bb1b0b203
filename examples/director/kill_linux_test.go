package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// startDaemon runs the daemon (this test binary's main) with args inside
// the network namespace ns, with env added to its environment, its output
// going to the test's log.
func startDaemon(t *testing.T, ns int, args string, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), daemonEnv+"=1", daemonEnv+"_ARGS="+args), env...)
	out := &limitedBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	t.Cleanup(func() { t.Logf("daemon output (first %d bytes):\n%s", out.max, out.b.String()) })
	if err := netnsx.Do(ns, cmd.Start); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// TestKilledMidApplyConverges: the daemon killed (SIGKILL) while it loads a
// large configuration, then started again with the same state file,
// converges to the configuration; stopped with -teardown it removes all
// of it and puts ip_forward back: it owns exactly what it created, also
// what the killed run made before it could save.
func TestKilledMidApplyConverges(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.Build(t, lab.NAT())
	dir := labtest.Host(t, l, lab.Director)
	ns := int(dir.NS())
	fwdBefore, err := dir.ReadSysctl("net.ipv4.ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	const services = 2000
	var cfg strings.Builder
	cfg.WriteString("services:\n")
	for i := 0; i < services; i++ {
		fmt.Fprintf(&cfg, "  - {protocol: tcp, address: 10.0.0.8:%d, scheduler: rr, realServers: [{address: 10.0.0.110:80, forward: nat}, {address: 10.0.0.120:80, forward: nat}]}\n", 1000+i)
	}
	tmp := t.TempDir()
	conf, state := filepath.Join(tmp, "director.yaml"), filepath.Join(tmp, "state.json")
	if err := os.WriteFile(conf, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	count := func() (svcs, dests int) {
		tab, err := c.Table(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tab.Services {
			svcs++
			dests += len(s.Destinations)
		}
		return
	}

	args := "-config " + conf + " -state " + state
	first := startDaemon(t, ns, args)
	// Kill it once the load has begun and before it has ended.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := count(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon created nothing in 30s")
		}
		time.Sleep(time.Millisecond)
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt, _ := count()
	t.Logf("killed with %d of %d services created", killedAt, services)

	second := startDaemon(t, ns, args+" -teardown")
	for {
		s, d := count()
		if s == services && d == 2*services {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("after the restart: %d services, %d destinations; want %d and %d", s, d, services, 2*services)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The plan is empty once it has converged.
	d, err := director.New(&director.Options{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := director.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := d.Plan(ctx, loaded); err != nil || p.Len() != 0 {
		t.Errorf("plan after convergence (%v): %d operations", err, p.Len())
	}
	d.Close()

	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("the daemon's exit: %v", err)
	}
	if s, _ := count(); s != 0 {
		t.Errorf("%d services left after -teardown, want none", s)
	}
	if fwd, _ := dir.ReadSysctl("net.ipv4.ip_forward"); fwd != fwdBefore {
		t.Errorf("ip_forward %s after -teardown, want %s as before the first run", fwd, fwdBefore)
	}
}
