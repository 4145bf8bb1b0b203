package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/syncbuf"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// kaConf is a keepalived.conf of one NAT virtual server with rs1's weight
// w1, and an option of global_defs the director does not carry (a note).
func kaConf(w1 int) string {
	return fmt.Sprintf(`! Configuration File for keepalived
global_defs {
  router_id lb1
}
virtual_server 10.0.0.8 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.110 80 {
    weight %d
  }
  real_server 10.0.0.120 80 {
    weight 1
  }
}
`, w1)
}

// TestDetectFormat: -config-format auto takes a file for a keepalived.conf
// only by a keepalived statement first; the sample configurations and
// JSON are YAML.
func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, want string }{
		{kaConf(1), formatKeepalived},
		{"# comment\n\n\tvirtual_server 10.0.0.8 80 {\n}\n", formatKeepalived},
		{"@lb1 global_defs {\n}\n", formatKeepalived},
		{"$PARAM=1\n", formatKeepalived},
		{"include /etc/keepalived/conf.d/*.conf\n", formatKeepalived},
		{natConfig("rr", 1), formatYAML},
		{"# virtual_server\nservices: []\n", formatYAML},
		{"global_defs: {}\n", formatYAML},
		{`{"services": []}`, formatYAML},
		{"", formatYAML},
	} {
		p := filepath.Join(dir, "conf")
		if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := detectFormat(p); got != tc.want {
			t.Errorf("detectFormat of %q: %s, want %s", tc.text, got, tc.want)
		}
	}
	samples, _ := filepath.Glob("configs/*.yaml")
	for _, p := range append(samples, "director.yaml", filepath.Join(dir, "missing")) {
		if got := detectFormat(p); got != formatYAML {
			t.Errorf("detectFormat of %s: %s, want yaml", p, got)
		}
	}
}

// TestCheckKeepalived: -check reads a keepalived.conf (detected, or by
// -config-format keepalived), prints its notes file:line first and what
// it made; a keepalived.conf read as YAML, one keepalived cannot read, or
// one of no virtual server is refused, exit 1; -config-id picks the @ID
// lines; -report goes with -import only.
func TestCheckKeepalived(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ka := write("keepalived.conf", kaConf(2))
	for _, args := range [][]string{{"-check", ka}, {"-check", "-config-format", "keepalived", "-config", ka}} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, ka+":2: global_defs: not carried over\n") ||
			!strings.Contains(out, ka+": configuration OK (keepalived: 1 services, 0 VRRP instances, 1 notes)\n") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	if out, err := runCLI(t, "-check", "-config-format", "yaml", "-config", ka); err == nil || strings.Contains(out, "OK") {
		t.Errorf("-config-format yaml of a keepalived.conf: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "-check", "-config-format", "ini", "-config", ka); err == nil || !strings.Contains(out, `-config-format "ini"`) {
		t.Errorf("-config-format ini: %v\n%s", err, out)
	}
	bad := write("bad.conf", "virtual_server 10.0.0.8 80 {\n  protocol TCP\n")
	if out, err := runCLI(t, "-check", "-config-format", "keepalived", "-config", bad); err == nil || !strings.Contains(out, "no virtual server") {
		t.Errorf("-check of a keepalived.conf of no usable virtual server: %v\n%s", err, out)
	}
	// Its one real server is on the lines of config id lb2.
	cond := write("cond.conf", "virtual_server 10.0.0.8 80 {\n  protocol TCP\n@lb2 real_server 10.0.0.110 80 {\n@lb2 }\n}\n")
	if out, err := runCLI(t, "-check", "-config-id", "lb2", cond); err != nil || !strings.Contains(out, "configuration OK") {
		t.Errorf("-config-id lb2: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "-check", "-config-id", "lb1", cond); err == nil || !strings.Contains(out, cond+":3: @lb2: line skipped") {
		t.Errorf("-config-id lb1: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "-import", cond, "-config-id", "lb2", "-report"); err != nil || !strings.Contains(out, cond+":1: virtual_server 10.0.0.8 80: carried fully\n") ||
		!strings.HasSuffix(out, "virtual servers: 1 (1 fully, 0 partly, 0 not); VRRP instances: 0 (0 fully, 0 partly, 0 not); other notes: 0\n") {
		t.Errorf("-import -report: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "-import", cond, "-config-id", "lb1", "-report"); err == nil || !strings.Contains(out, "not carried over") {
		t.Errorf("-import -report of nothing carried: %v, want exit 1\n%s", err, out)
	}
	if out, err := runCLI(t, "-report", "-config", ka); err == nil || !strings.Contains(out, "-report goes with -import") {
		t.Errorf("-report without -import: %v\n%s", err, out)
	}
}

// TestDaemonKeepalived runs the daemon loop on the fake kernel with a
// keepalived.conf as its configuration: it applies what the import makes,
// logs the notes once, applies a reload with a changed weight (notes
// unchanged: not logged again), and refuses a reload of a file of no
// virtual server it can run, keeping the running configuration.
func TestDaemonKeepalived(t *testing.T) {
	var logs syncbuf.Buffer
	var path string
	dm, _ := fakeDaemon(t, natConfig("rr", 1), func(dm *daemon) {
		path = filepath.Join(filepath.Dir(dm.path), "keepalived.conf")
		if err := os.WriteFile(path, []byte(kaConf(3)), 0o644); err != nil {
			t.Fatal(err)
		}
		dm.path, dm.configID = path, "lb1"
		dm.log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctl := newControlClient(dm.control)
	weights := func() map[string]int {
		t.Helper()
		var v statusView
		if err := ctl.call("GET", "/v1/status", nil, &v); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, s := range v.Services {
			for _, rs := range s.RealServers {
				out[rs.Addr.String()] = rs.Weight
			}
		}
		return out
	}
	const rs1, rs2 = "10.0.0.110:80", "10.0.0.120:80"
	if w := weights(); len(w) != 2 || w[rs1] != 3 || w[rs2] != 1 {
		t.Fatalf("weights at start %v, want rs1 3, rs2 1", w)
	}
	const noted = "keepalived import: not carried over as is"
	if n := strings.Count(logs.String(), noted); n != 1 || !strings.Contains(logs.String(), "level=WARN") ||
		!strings.Contains(logs.String(), path+":2: global_defs: not carried over") {
		t.Errorf("notes logged %d times at start, want 1:\n%s", n, logs.String())
	}

	if err := os.WriteFile(path, []byte(kaConf(7)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "reload", "-control", dm.control); err != nil || out != "reloaded\n" {
		t.Fatalf("reload of a changed weight: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "rs1's weight 7", func() bool { return weights()[rs1] == 7 })
	if n := strings.Count(logs.String(), noted); n != 1 || !strings.Contains(logs.String(), "the same notes as the last load") {
		t.Errorf("unchanged notes logged again (%d):\n%s", n, logs.String())
	}

	if err := os.WriteFile(path, []byte(strings.ReplaceAll(kaConf(9), "real_server", "sorry_server")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "reload", "-control", dm.control); err == nil || !strings.Contains(out, "no virtual server") {
		t.Errorf("reload of a keepalived.conf of no virtual server the director can run: %v, want exit 1\n%s", err, out)
	}
	if w := weights(); w[rs1] != 7 {
		t.Errorf("weights after a refused reload %v, want rs1 still 7", w)
	}
}

// TestDaemonKeepalivedKernel is the migration as an operator does it, on
// the NAT lab and the real kernel: the daemon started on a keepalived.conf
// (detected) serves the client from both real servers; SIGHUP with a
// changed weight reaches the kernel; SIGTERM leaves the table in place.
func TestDaemonKeepalivedKernel(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.Build(t, lab.NAT())
	ns := int(labtest.Host(t, l, lab.Director).NS())
	client := labtest.Host(t, l, lab.Client)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(kaConf(1)), 0o600); err != nil {
		t.Fatal(err)
	}
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
			for _, d := range s.Destinations {
				out[d.Addr.String()] = d.Weight
			}
		}
		return out
	}
	daemon := startDaemon(t, ns, "-config "+conf+" -config-id lb1 -control "+filepath.Join(tmp, "control.sock"))
	waitFor(t, time.Minute, "the imported service in the kernel", func() bool { return len(weights()) == 2 })
	got := map[string]int{}
	for range 4 {
		body, err := client.Get(ctx, "http://10.0.0.8/")
		if err != nil {
			t.Fatal(err)
		}
		got[body]++
	}
	if got["rs1"] != 2 || got["rs2"] != 2 {
		t.Errorf("answers %v, want rs1 2, rs2 2", got)
	}
	if err := os.WriteFile(conf, []byte(kaConf(5)), 0o600); err != nil {
		t.Fatal(err)
	}
	daemon.Process.Signal(syscall.SIGHUP)
	waitFor(t, 30*time.Second, "rs1's weight 5 in the kernel", func() bool { return weights()["10.0.0.110:80"] == 5 })
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Errorf("the daemon's end: %v", err)
	}
	if w := weights(); w["10.0.0.110:80"] != 5 || w["10.0.0.120:80"] != 1 {
		t.Errorf("weights after SIGTERM %v, want the table left in place", w)
	}
}
