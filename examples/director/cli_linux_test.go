package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// openDir is a temporary directory others may enter (a process run as
// nobody reaches the sockets and the binary in it), removed when the test
// ends.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lvs-director-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeDaemon runs the daemon on the in-memory kernel with the
// configuration conf (written to a file, whose path it returns), its
// control socket in a directory others may enter; edit, if not nil,
// changes the daemon before it starts. It stops when the test ends.
func fakeDaemon(t *testing.T, conf string, edit func(*daemon)) (*daemon, string) {
	t.Helper()
	dir := openDir(t)
	path := filepath.Join(dir, "director.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := directortest.NewKernel()
	dm := &daemon{path: path, opts: *k.Options(&director.Options{StateFile: filepath.Join(dir, "state.json")}),
		control: filepath.Join(dir, "control.sock"), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		stopTimeout: 10 * time.Second, version: buildVersion{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.99"}}
	if edit != nil {
		edit(dm)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dm.runContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the daemon's end: %v", err)
		}
	})
	ctl := newControlClient(dm.control)
	waitFor(t, 30*time.Second, "the daemon's first apply", func() bool {
		var v statusView
		return ctl.call("GET", "/v1/status", nil, &v) == nil && !v.LastResync.IsZero()
	})
	return dm, path
}

// freeAddr is a loopback address no one listens on, just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestHelp: -h prints, under the program's own name, how to run the
// daemon, each subcommand with one line, and the flags; exit status 0.
func TestHelp(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "-h")
	if err != nil {
		t.Errorf("-h: %v", err)
	}
	if !strings.HasPrefix(out, "usage: "+filepath.Base(self)+" -config FILE") {
		t.Errorf("-h does not start with the usage under the program's name %q:\n%s", filepath.Base(self), out)
	}
	for _, name := range commandNames() {
		if !regexp.MustCompile(`(?m)^  ` + name + ` +\S`).MatchString(out) {
			t.Errorf("-h has no line for the subcommand %s:\n%s", name, out)
		}
	}
	if len(commandNames()) != len(commands) {
		t.Errorf("-h lists %d subcommands of %d", len(commandNames()), len(commands))
	}
	if !strings.Contains(out, "-check") || !strings.Contains(out, "-version") {
		t.Errorf("-h lacks the flags:\n%s", out)
	}
}

// TestCheckArgument: -check FILE checks FILE, as -check -config FILE does.
func TestCheckArgument(t *testing.T) {
	for _, args := range [][]string{{"-check", "configs/nat.yaml"}, {"-check", "-config", "configs/nat.yaml"}} {
		if out, err := runCLI(t, args...); err != nil || out != "configs/nat.yaml: configuration OK\n" {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(natConfig("rr", 1)+"      - {address: 10.0.0.130:80, forward: nat, wieght: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "-check", bad); err == nil || !strings.HasPrefix(out, bad+":9: ") {
		t.Errorf("-check of a bad file: %v\n%s", err, out)
	}
}

// TestVersion: -version and the version subcommand print the program's
// name and version; the version is the module's, else the VCS revision.
func TestVersion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"-version", "version"} {
		out, err := runCLI(t, arg)
		if err != nil || !strings.HasPrefix(out, filepath.Base(self)+" ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s: %v\n%s", arg, err, out)
		}
	}
	rev := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want buildVersion
	}{
		{nil, buildVersion{Version: "unknown"}},
		{&debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}}, buildVersion{"v1.2.3", "", "go1.99"}},
		{&debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}, Settings: rev}, buildVersion{"0123abcd-dirty", "0123abcd-dirty", "go1.99"}},
		{&debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}, Settings: rev[:1]}, buildVersion{"v1.2.3", "0123abcd", "go1.99"}},
	} {
		got := versionOf(tc.bi)
		if tc.want.GoVersion == "" {
			tc.want.GoVersion = got.GoVersion
		}
		if got != tc.want {
			t.Errorf("versionOf(%+v) = %+v, want %+v", tc.bi, got, tc.want)
		}
	}
	if s := (buildVersion{"v1.2.3", "0123abcd", "go1.99"}).String(); s != "v1.2.3 (revision 0123abcd), go1.99" {
		t.Errorf("String: %q", s)
	}
}

// TestCLIUnreachable: a subcommand that cannot reach the daemon says so in
// one line, without the protocol's details, and exits 1.
func TestCLIUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"status"}, {"reload"}, {"enable", "tcp", "10.0.0.8:80", "10.0.0.110:80"}} {
		out, err := runCLI(t, append([]string{args[0], "-control", sock}, args[1:]...)...)
		code := -1
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			code = ee.ExitCode()
		}
		if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "cannot reach the director on "+sock) ||
			strings.Contains(out, "http") || strings.Contains(out, "dial") || strings.Contains(out, "GET") {
			t.Errorf("%v with no daemon: exit %d (want 1)\n%s", args, code, out)
		}
	}
}

// TestReloadOutcome: the reload subcommand exits 1 when the file is
// refused (and says why) and 0 when it is applied; the daemon's metrics
// say how the last reload went, count the failures, and carry the build
// information.
func TestReloadOutcome(t *testing.T) {
	metricsAt := freeAddr(t)
	dm, conf := fakeDaemon(t, natConfig("rr", 1), func(dm *daemon) { dm.metricsAt = metricsAt })
	reload := func() (string, error) { return runCLI(t, "reload", "-control", dm.control) }
	metric := func(name string) string {
		t.Helper()
		resp, err := newMetricsGet(metricsAt)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(resp)
		if m == nil {
			t.Fatalf("no %s in the metrics:\n%s", name, resp)
		}
		return m[1]
	}
	if got := metric(`lvs_director_build_info{goversion="go1.99",revision="abc",version="v1.2.3"}`); got != "1" {
		t.Errorf("build info %s, want 1", got)
	}
	if got := metric("lvs_director_config_last_reload_successful"); got != "1" {
		t.Errorf("last reload successful at start: %s, want 1", got)
	}

	if err := os.WriteFile(conf, []byte(natConfig("rr", 1)+"      - {address: 10.0.0.130:80, forward: nat, wieght: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := reload(); err == nil || !strings.Contains(out, "wieght") || strings.Count(out, "\n") != 1 {
		t.Errorf("reload of a refused file: %v, want exit 1 and why in one line\n%s", err, out)
	}
	if got := metric("lvs_director_config_last_reload_successful"); got != "0" {
		t.Errorf("last reload successful after a refused one: %s, want 0", got)
	}
	if got := metric("lvs_director_config_reload_failures_total"); got != "1" {
		t.Errorf("reload failures: %s, want 1", got)
	}

	before := metric("lvs_director_config_last_reload_success_timestamp_seconds")
	if err := os.WriteFile(conf, []byte(natConfig("wrr", 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := reload(); err != nil || out != "reloaded\n" {
		t.Errorf("reload of a good file: %v\n%s", err, out)
	}
	if got := metric("lvs_director_config_last_reload_successful"); got != "1" {
		t.Errorf("last reload successful after a good one: %s, want 1", got)
	}
	if got := metric("lvs_director_config_last_reload_success_timestamp_seconds"); got == before {
		t.Errorf("the last success's time did not move: %s", got)
	}

	// A reload that adds a BGP section is refused, naming it: the speaker
	// starts with the daemon.
	const bgp = "cluster:\n  announce: [192.0.2.1/32]\n  bgp:\n    localASN: 65001\n    routerID: 192.168.100.2\n    nextHop: 192.168.100.2\n    peers: [{address: 192.168.100.1, asn: 65000}]\n"
	if err := os.WriteFile(conf, []byte(bgp+natConfig("wrr", 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := reload(); err == nil || !strings.Contains(out, "cluster.bgp (added)") || !strings.Contains(out, "restart") {
		t.Errorf("reload adding cluster.bgp: %v\n%s", err, out)
	}
	if got := metric("lvs_director_config_reload_failures_total"); got != "2" {
		t.Errorf("reload failures: %s, want 2", got)
	}
}

// newMetricsGet reads the metrics at addr.
func newMetricsGet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /metrics HTTP/1.0\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// TestCheckRestart: a change of any field of the BGP section, or adding
// or removing it, needs a restart, and the error names it.
func TestCheckRestart(t *testing.T) {
	load := func(s string) *director.BGP {
		c, err := director.Parse([]byte(s + natConfig("rr", 1)))
		if err != nil {
			t.Fatal(err)
		}
		return bgpOf(c)
	}
	const base = "cluster:\n  announce: [192.0.2.1/32]\n  bgp:\n    localASN: 65001\n    routerID: 192.168.100.2\n    nextHop: 192.168.100.2\n    peers: [{address: 192.168.100.1, asn: 65000}]\n"
	a := load(base)
	if err := checkRestart(a, load(base)); err != nil {
		t.Errorf("the same section: %v", err)
	}
	if err := checkRestart(nil, load("")); err != nil {
		t.Errorf("no section either side: %v", err)
	}
	for _, tc := range []struct {
		next *director.BGP
		want string
	}{
		{load(strings.Replace(base, "asn: 65000", "asn: 65002", 1)), "cluster.bgp.peers changed"},
		{load(strings.Replace(base, "localASN: 65001", "localASN: 65003", 1)), "cluster.bgp.localASN changed"},
		{load(""), "cluster.bgp (removed) changed"},
	} {
		if err := checkRestart(a, tc.next); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checkRestart: %v, want %q", err, tc.want)
		}
	}
}

// TestReloadMetrics: the reload metrics' values after each outcome.
func TestReloadMetrics(t *testing.T) {
	start := time.Unix(1000, 0)
	m := newReloadMetrics(start)
	check := func(ok, ts, fails float64) {
		t.Helper()
		if got := testutil.ToFloat64(m.successful); got != ok {
			t.Errorf("successful %v, want %v", got, ok)
		}
		if got := testutil.ToFloat64(m.timestamp); got != ts {
			t.Errorf("timestamp %v, want %v", got, ts)
		}
		if got := testutil.ToFloat64(m.failures); got != fails {
			t.Errorf("failures %v, want %v", got, fails)
		}
	}
	check(1, 1000, 0)
	m.record(reloadResult{Err: io.EOF}, time.Unix(1001, 0))
	check(0, 1000, 1)
	m.record(reloadResult{Errors: 2}, time.Unix(1002, 0))
	check(0, 1000, 2)
	m.record(reloadResult{}, time.Unix(1003, 0))
	check(1, 1003, 2)
	reg := prometheus.NewRegistry()
	for _, c := range append(m.collectors(), buildInfoGauge(buildVersion{"v1", "r", "go"})) {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 4 {
		t.Errorf("gathered %d series (%v), want 4", n, err)
	}
}

// TestUnitReloads: the unit's ExecReload runs the reload subcommand, whose
// exit status says whether the file was applied (SIGHUP would not).
func TestUnitReloads(t *testing.T) {
	b, err := os.ReadFile("lvs-director.service")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ExecReload=/usr/local/sbin/lvs-director reload -control /run/lvs-director.sock$`).Match(b) {
		t.Errorf("the unit's ExecReload is not the reload subcommand:\n%s", b)
	}
}
