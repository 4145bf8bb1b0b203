package keepalived

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/vishvananda/netns"
)

// The settle and reload stages' layout: keepalived in the namespace "ka"
// (10.9.0.1) and the director in "lvs" (10.9.0.2) share a bridge with
// the real servers' namespace "rs", whose addresses answer as roles says.
// 10.9.0.30 is on the segment but no host has it: nothing answers (ARP
// goes unanswered). Traffic stays between these namespaces.
var roles = []struct{ addr, role string }{
	{"10.9.0.10", "up"},       // HTTP on :80
	{"10.9.0.11", "refusing"}, // no listener: RST
	{"10.9.0.12", "hanging"},  // accepts, never answers
	{"10.9.0.13", "flapping"}, // up and down every flapEvery, held up after flapFor
	{"10.9.0.14", "503"},      // HTTP 503 to every request
	{"10.9.0.15", "other"},    // HTTP 200 with another body
	{"10.9.0.16", "up"},       // HTTP on :80 and :81
}

// Timing of the settle and reload stages, for checks with delay_loop 1,
// connect_timeout 1, retry 1 and delay_before_retry 1: a failure shows
// within about 5s of the start. The guest is emulated (QEMU TCG): the
// margins are wide and each wait has a deadline.
const (
	flapEvery    = 500 * time.Millisecond
	flapFor      = 4 * time.Second        // then held up
	settleAfter  = 9 * time.Second        // no table is read sooner after a start or reload
	settleStable = 3 * time.Second        // each table unchanged this long
	settleWithin = 45 * time.Second       // after the start or reload, else the test fails
	pollEvery    = 500 * time.Millisecond // reads of both tables
)

// TestDifferentialSettle runs keepalived and the director side by side on
// each configuration of testdata/differential/settle, with real servers
// up, refusing, hanging, down and flapping (held up at the end), and
// compares their tables once both have been stable for a while: every
// difference must be named by a note, and be one the configuration
// expects ("! differs:" lines); every expected one must show.
func TestDifferentialSettle(t *testing.T) {
	kd := requireKeepalived(t)
	paths, err := filepath.Glob("testdata/differential/settle/*.conf")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no settle corpus: %v", err)
	}
	equal, differ := 0, 0
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dl := newDiffLab(t)
			conf := dl.writeConf(t, path)
			cfg, notes := importDiff(t, conf)
			start := time.Now()
			dl.flap(t)
			startKeepalived(t, kd, dl.ka.NS(), conf)
			r := runDirector(t, dl.lvs.NS(), cfg)
			ka, ours := settledTables(t, start, dl.ka.NS(), dl.lvs.NS())
			diff := compareTables(t, "after the checks settle", ka, ours, notes)
			expectDiffs(t, conf, diff)
			r.noErrors(t)
			if len(diff) == 0 {
				equal++
			} else {
				differ++
			}
		})
	}
	t.Logf("%d cases: %d tables equal after the checks settle, %d with the differences their notes name", len(paths), equal, differ)
}

// TestDifferentialReload runs keepalived and the director on each
// testdata/differential/reload/NAME.before.conf, lets the checks settle,
// sends a connection through every service from each side's namespace,
// rewrites the file as NAME.after.conf, reloads both (SIGHUP; Run's
// reload channel), and compares the settled tables again. A destination
// in the table before and after must not have been recreated: its
// connection counter, which a new destination starts at zero, must not
// have gone down. (A destination deleted while connections still use it
// goes to the kernel's trash and comes back with its counters if it is
// added again soon, so the counters show a recreation only when the
// kernel made a new one; the director's reload plan is logged too.)
func TestDifferentialReload(t *testing.T) {
	kd := requireKeepalived(t)
	befores, err := filepath.Glob("testdata/differential/reload/*.before.conf")
	if err != nil || len(befores) == 0 {
		t.Fatalf("no reload corpus: %v", err)
	}
	equal, differ, kept := 0, 0, 0
	for _, before := range befores {
		name := strings.TrimSuffix(filepath.Base(before), ".before.conf")
		t.Run(name, func(t *testing.T) {
			dl := newDiffLab(t)
			conf := dl.writeConf(t, before)
			cfg, notes := importDiff(t, conf)
			start := time.Now()
			k := startKeepalived(t, kd, dl.ka.NS(), conf)
			r := runDirector(t, dl.lvs.NS(), cfg)
			ka, ours := settledTables(t, start, dl.ka.NS(), dl.lvs.NS())
			expectDiffs(t, conf, compareTables(t, "before the reload", ka, ours, notes))
			sides := []netns.NsHandle{dl.ka.NS(), dl.lvs.NS()}
			var was [2]map[string]ipvs.Destination
			for i, ns := range sides {
				sendThrough(t, ns)
				was[i] = counted(t, ns)
			}

			if err := os.WriteFile(conf, dl.template(t, filepath.Join(filepath.Dir(before), name+".after.conf")), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, notes = importDiff(t, conf)
			c, err := director.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			reloaded := time.Now()
			k.reload(t)
			r.reloadTo(t, c)
			ka, ours = settledTables(t, reloaded, dl.ka.NS(), dl.lvs.NS())
			diff := compareTables(t, "after the reload", ka, ours, notes)
			expectDiffs(t, conf, diff)
			r.noErrors(t)
			for i, ns := range sides {
				kept += notRecreated(t, []string{"keepalived", "director"}[i], was[i], destinations(t, ns))
			}
			if len(diff) == 0 {
				equal++
			} else {
				differ++
			}
		})
	}
	t.Logf("%d cases: %d tables equal after the reload, %d with the differences their notes name; %d kept destinations not recreated", len(befores), equal, differ, kept)
}

func requireKeepalived(t *testing.T) string {
	t.Helper()
	vmtest.Require(t, slices.Concat(modules, labModules)...)
	if !vmtest.InGuest() {
		t.Skip("keepalived runs only inside the VM guest, never on the host")
	}
	kd, err := exec.LookPath("/usr/sbin/keepalived")
	if err != nil {
		t.Skipf("keepalived is not in the guest: %v", err)
	}
	return kd
}

// importDiff imports the file as the differential test reads it.
func importDiff(t *testing.T, path string) (*director.Config, []Note) {
	t.Helper()
	cfg, notes, err := ImportFile(path, &Options{ConfigID: diffConfigID})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		t.Logf("note: %s", n)
	}
	return cfg, notes
}

// expectDiffs checks the differences against the configuration's
// "! differs: WORD..." lines: each difference must contain every word of
// one of them, and each of them must match a difference.
func expectDiffs(t *testing.T, conf string, diff []string) {
	t.Helper()
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if w, ok := strings.CutPrefix(l, "! differs:"); ok {
			want = append(want, strings.Fields(w))
		}
	}
	matches := func(line string, words []string) bool {
		return !slices.ContainsFunc(words, func(w string) bool { return !containsWord(line, w) })
	}
	for _, d := range diff {
		if !slices.ContainsFunc(want, func(w []string) bool { return matches(d, w) }) {
			t.Errorf("an unexpected difference: %s", d)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(diff, func(d string) bool { return matches(d, w) }) {
			t.Errorf("an expected difference did not show: %s", strings.Join(w, " "))
		}
	}
}

// diffLab is the layout of the settle and reload stages.
type diffLab struct {
	ka, lvs, rs *lab.Host
	dir         string // the configuration and MISC_CHECK's files
}

func newDiffLab(t *testing.T) *diffLab {
	t.Helper()
	rs := lab.HostSpec{Name: "rs"}
	for _, r := range roles[1:] {
		rs.Addrs = append(rs.Addrs, lab.AddrSpec{If: "eth0", CIDR: r.addr + "/24"})
	}
	l, err := lab.Build(lab.Spec{
		Hosts: []lab.HostSpec{{Name: "ka"}, {Name: "lvs"}, rs},
		Bridges: []lab.BridgeSpec{{Name: "lan", Ports: []lab.PortSpec{
			{Host: "ka", If: "eth0", CIDR: "10.9.0.1/24"},
			{Host: "lvs", If: "eth0", CIDR: "10.9.0.2/24"},
			{Host: "rs", If: "eth0", CIDR: roles[0].addr + "/24"},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	dl := &diffLab{ka: l.Host("ka"), lvs: l.Host("lvs"), rs: l.Host("rs"), dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(dl.dir, "on"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		switch r.role {
		case "up":
			dl.serve(t, r.addr+":80", healthy)
			if r.addr == "10.9.0.16" {
				dl.serve(t, r.addr+":81", healthy)
			}
		case "503":
			dl.serve(t, r.addr+":80", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		case "other":
			dl.serve(t, r.addr+":80", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "other\n") })
		case "hanging":
			dl.hang(t, r.addr+":80")
		}
	}
	return dl
}

// healthy answers /health with "healthy\n" (the corpus's digest is its
// MD5), / with "up\n", anything else 404.
func healthy(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
		fmt.Fprint(w, "healthy\n")
	case "/":
		fmt.Fprint(w, "up\n")
	default:
		http.NotFound(w, r)
	}
}

// listen opens a listener on addr in the real servers' namespace.
func (dl *diffLab) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := dl.rs.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// serve answers HTTP on addr until stop is called (or the test ends).
func (dl *diffLab) serve(t *testing.T, addr string, h http.HandlerFunc) (stop func()) {
	t.Helper()
	ln, err := dl.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // http.ErrServerClosed once closed
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// hang accepts connections on addr and never reads or answers them.
func (dl *diffLab) hang(t *testing.T, addr string) {
	t.Helper()
	ln, err := dl.listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
}

// flap serves HTTP on the flapping address every other flapEvery for
// flapFor from now, then for good. It returns at once.
func (dl *diffLab) flap(t *testing.T) {
	t.Helper()
	addr := ""
	for _, r := range roles {
		if r.role == "flapping" {
			addr = r.addr + ":80"
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var stop func()
	var failed error
	go func() {
		defer close(done)
		end := time.Now().Add(flapFor)
		for up := true; ; up = !up {
			if up {
				ln, err := dl.listen(addr)
				if err != nil {
					failed = err
					return
				}
				srv := &http.Server{Handler: http.HandlerFunc(healthy), ReadHeaderTimeout: 5 * time.Second}
				served := make(chan struct{})
				go func() {
					defer close(served)
					_ = srv.Serve(ln)
				}()
				stop = func() { srv.Close(); <-served }
				if time.Now().After(end) {
					return // held up; stopped at the end of the test
				}
			} else {
				stop()
				stop = nil
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(flapEvery):
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if stop != nil {
			stop()
		}
		if failed != nil {
			t.Errorf("the flapping server: %v", failed)
		}
	})
}

// template reads a corpus file with {{EXE}} (the test binary, a
// MISC_CHECK command: see existsArg) and {{DIR}} (the lab's directory,
// holding a file "on" and none "off") filled in.
func (dl *diffLab) template(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer("{{EXE}}", exe, "{{DIR}}", dl.dir).Replace(string(b)))
}

// writeConf writes the filled-in corpus file to the lab's directory as
// keepalived.conf and returns its path.
func (dl *diffLab) writeConf(t *testing.T, path string) string {
	t.Helper()
	conf := filepath.Join(dl.dir, "keepalived.conf")
	if err := os.WriteFile(conf, dl.template(t, path), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// kaProcess is a running keepalived -C.
type kaProcess struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{} // closed when it has exited, with err
	err    error
	once   sync.Once
}

// startKeepalived starts keepalived's checkers on path in ns; it is
// stopped (SIGTERM, then SIGKILL) when the test ends, and its log printed
// if the test failed.
func startKeepalived(t *testing.T, kd string, ns netns.NsHandle, path string) *kaProcess {
	t.Helper()
	dir := t.TempDir()
	k := &kaProcess{out: &lockedBuffer{}, exited: make(chan struct{})}
	k.cmd = exec.Command(kd, "-n", "-l", "-C", "-f", path, "-i", diffConfigID,
		"-p", filepath.Join(dir, "keepalived.pid"), "-c", filepath.Join(dir, "checkers.pid"), "-r", filepath.Join(dir, "vrrp.pid"))
	k.cmd.Stdout, k.cmd.Stderr = k.out, k.out
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := nstest.Do(ns, k.cmd.Start); err != nil {
		t.Fatal(err)
	}
	go func() {
		k.err = k.cmd.Wait()
		close(k.exited)
	}()
	t.Cleanup(func() { k.stop(t) })
	return k
}

// stop stops keepalived (SIGTERM, then SIGKILL after 10s) and prints its
// log if the test failed; it does nothing the second time.
func (k *kaProcess) stop(t *testing.T) {
	k.once.Do(func() {
		syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-k.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
			<-k.exited
		}
		if t.Failed() {
			t.Logf("keepalived's log:\n%s", k.out.String())
		}
	})
}

// reload sends SIGHUP: keepalived rereads its file.
func (k *kaProcess) reload(t *testing.T) {
	t.Helper()
	if err := k.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP to keepalived: %v", err)
	}
}

// directorRun is a Director's Run in a namespace, with its reports.
type directorRun struct {
	reload chan *director.Compiled
	mu     sync.Mutex
	log    strings.Builder
	errs   []error
}

// runDirector runs the director on cfg in ns (Run: the checks act) until
// the test ends; its reports are logged if the test fails.
func runDirector(t *testing.T, ns netns.NsHandle, cfg *director.Config) *directorRun {
	t.Helper()
	c, err := director.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := director.New(&director.Options{NetNS: int(ns)})
	if err != nil {
		t.Fatal(err)
	}
	r := &directorRun{reload: make(chan *director.Compiled)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c, r.reload, r.report) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return within 20s of its context's end")
		}
		d.Close()
		if t.Failed() {
			r.mu.Lock()
			t.Logf("the director's reports:\n%s", r.log.String())
			r.mu.Unlock()
		}
	})
	return r
}

func (r *directorRun) report(rep director.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(&r.log, "%s", rep.Time.Format("15:04:05.000"))
	if rep.Health != nil {
		fmt.Fprintf(&r.log, " health %+v", *rep.Health)
	}
	if rep.Quorum != nil {
		fmt.Fprintf(&r.log, " quorum %+v", *rep.Quorum)
	}
	if rep.Plan != nil {
		fmt.Fprintf(&r.log, " plan:\n%s", rep.Plan)
	}
	if rep.Err != nil {
		fmt.Fprintf(&r.log, " error: %v", rep.Err)
		r.errs = append(r.errs, rep.Err)
	}
	r.log.WriteString("\n")
}

// reloadTo gives Run the new configuration.
func (r *directorRun) reloadTo(t *testing.T, c *director.Compiled) {
	t.Helper()
	select {
	case r.reload <- c:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not take the reload within 10s")
	}
}

// noErrors fails the test for each error Run reported.
func (r *directorRun) noErrors(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		t.Errorf("Run reported: %v", err)
	}
}

// settledTables reads the tables of the two namespaces (keepalived's,
// the director's) once each has been unchanged for settleStable, no
// sooner than settleAfter after since; it fails after settleWithin.
func settledTables(t *testing.T, since time.Time, ka, ours netns.NsHandle) ([]string, []string) {
	t.Helper()
	time.Sleep(time.Until(since.Add(settleAfter - settleStable)))
	var last [2][]string
	var stable [2]time.Time
	for {
		now := time.Now()
		for i, ns := range []netns.NsHandle{ka, ours} {
			if cur := ipvsadmSave(t, ns); !slices.Equal(cur, last[i]) || stable[i].IsZero() {
				last[i], stable[i] = cur, now
			}
		}
		if now.Sub(since) >= settleAfter && now.Sub(stable[0]) >= settleStable && now.Sub(stable[1]) >= settleStable {
			t.Logf("settled %.1fs after the start or reload", now.Sub(since).Seconds())
			return last[0], last[1]
		}
		if now.Sub(since) > settleWithin {
			t.Fatalf("the tables did not settle within %v:\nkeepalived:\n%s\ndirector:\n%s", settleWithin,
				strings.Join(last[0], "\n"), strings.Join(last[1], "\n"))
		}
		time.Sleep(pollEvery)
	}
}

// sendThrough opens connections from ns to each of its services, twice
// as many as the service has destinations (the corpus's scheduler is rr),
// so that each destination of nonzero weight counts some.
func sendThrough(t *testing.T, ns netns.NsHandle) {
	t.Helper()
	for _, s := range table(t, ns).Services {
		for range 2 * len(s.Destinations) {
			err := nstest.Do(ns, func() error {
				c, err := net.DialTimeout("tcp", s.Addr.String(), time.Second)
				if err != nil {
					return err
				}
				return c.Close()
			})
			if err != nil {
				t.Logf("a connection to %v: %v", s.Addr, err)
			}
		}
	}
}

func table(t *testing.T, ns netns.NsHandle) ipvs.Table {
	t.Helper()
	c, err := ipvs.New(&ipvs.Config{NetNS: int(ns)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tab, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// destinations are the namespace's destinations by service and address.
func destinations(t *testing.T, ns netns.NsHandle) map[string]ipvs.Destination {
	t.Helper()
	out := map[string]ipvs.Destination{}
	for _, s := range table(t, ns).Services {
		for _, d := range s.Destinations {
			out[fmt.Sprintf("%v %v -> %v", s.Protocol, s.Addr, d.Addr)] = d
		}
	}
	return out
}

// counted is destinations once every destination of nonzero weight has
// counted a connection: the kernel adds its per-CPU counters up every 2s
// (its rate estimator), so a connection just made may not show at once.
// It gives up after 10s and returns what it read last.
func counted(t *testing.T, ns netns.NsHandle) map[string]ipvs.Destination {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := destinations(t, ns)
		missing := false
		for _, d := range ds {
			missing = missing || d.Weight > 0 && d.Stats.Connections == 0
		}
		if !missing || time.Now().After(deadline) {
			return ds
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// notRecreated fails for each destination in both before and after whose
// connection counter went down, or that counted none before though it
// took connections (weight > 0); it returns how many were checked.
func notRecreated(t *testing.T, side string, before, after map[string]ipvs.Destination) int {
	t.Helper()
	n := 0
	for k, b := range before {
		a, ok := after[k]
		if !ok {
			continue
		}
		n++
		switch {
		case b.Weight > 0 && b.Stats.Connections == 0:
			t.Errorf("%s: %s took no connection before the reload: its recreation cannot be seen", side, k)
		case a.Stats.Connections < b.Stats.Connections:
			t.Errorf("%s: %s was recreated by the reload: %d connections counted before, %d after", side, k, b.Stats.Connections, a.Stats.Connections)
		default:
			t.Logf("%s: %s kept (%d connections before, %d after; weight %d, then %d)", side, k, b.Stats.Connections, a.Stats.Connections, b.Weight, a.Weight)
		}
	}
	return n
}
