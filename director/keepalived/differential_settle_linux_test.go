package keepalived

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/syncbuf"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/vishvananda/netns"
)

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
			var was [2]map[destKey]ipvs.Destination
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
			kept += notRecreated(t, "keepalived", was[0], destinations(t, sides[0]), k.recreated)
			kept += notRecreated(t, "director", was[1], destinations(t, sides[1]), r.recreated)
			if len(diff) == 0 {
				equal++
			} else {
				differ++
			}
		})
	}
	t.Logf("%d cases: %d tables equal after the reload, %d with the differences their notes name; %d kept destinations (both sides together) not recreated", len(befores), equal, differ, kept)
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

// kaProcess is a running keepalived -C.
type kaProcess struct {
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{} // closed when it has exited, with err
	err    error
	once   sync.Once
	mark   int // the log's length at the last reload
}

// startKeepalived starts keepalived's checkers on path in ns; it is
// stopped (SIGTERM, then SIGKILL) when the test ends, and its log printed
// if the test failed.
func startKeepalived(t *testing.T, kd string, ns netns.NsHandle, path string) *kaProcess {
	t.Helper()
	dir := t.TempDir()
	k := &kaProcess{out: &syncbuf.Buffer{}, exited: make(chan struct{})}
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
	k.mark = len(k.out.String())
	if err := k.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP to keepalived: %v", err)
	}
}

// recreated is the line of keepalived's log since the last reload that
// says it removed or added k's destination, or "".
func (k *kaProcess) recreated(d destKey) string {
	proto := strings.ToLower(d.proto.String())
	for _, l := range strings.Split(k.out.String()[k.mark:], "\n") {
		for _, w := range []string{
			fmt.Sprintf("Removing service [%s]:%s:%d from VS [%s]:%s:%d", d.dst.Addr(), proto, d.dst.Port(), d.svc.Addr(), proto, d.svc.Port()),
			fmt.Sprintf("Adding service [%s]:%s:%d to VS [%s]:%s:%d", d.dst.Addr(), proto, d.dst.Port(), d.svc.Addr(), proto, d.svc.Port()),
		} {
			if strings.Contains(l, w) {
				return l
			}
		}
	}
	return ""
}

// directorRun is a Director's Run in a namespace, with its reports.
type directorRun struct {
	reload chan *director.Compiled
	mu     sync.Mutex
	log    strings.Builder
	errs   []error
	ops    []director.Op // of every plan applied
	mark   int           // len(ops) at the last reload
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
		r.ops = append(r.ops, rep.Plan.Ops...)
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
	r.mu.Lock()
	r.mark = len(r.ops)
	r.mu.Unlock()
	select {
	case r.reload <- c:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not take the reload within 10s")
	}
}

// recreated is the operation of a plan since the last reload that
// created or deleted d's destination or service, or "".
func (r *directorRun) recreated(d destKey) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.ops[r.mark:] {
		svc := o.Rule.Service
		if svc.Protocol != d.proto || svc.Addr != d.svc {
			continue
		}
		switch o.Rule.Command {
		case ipvs.CreateService, ipvs.DeleteService:
			return o.String()
		case ipvs.CreateDestination, ipvs.DeleteDestination:
			if o.Rule.Destination.Addr == d.dst {
				return o.String()
			}
		}
	}
	return ""
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

// destKey names a destination by its service and address.
type destKey struct {
	proto    ipvs.Protocol
	svc, dst netip.AddrPort
}

func (d destKey) String() string { return fmt.Sprintf("%v %v -> %v", d.proto, d.svc, d.dst) }

// destinations are the namespace's destinations.
func destinations(t *testing.T, ns netns.NsHandle) map[destKey]ipvs.Destination {
	t.Helper()
	out := map[destKey]ipvs.Destination{}
	for _, s := range table(t, ns).Services {
		for _, d := range s.Destinations {
			out[destKey{s.Protocol, s.Addr, d.Addr}] = d
		}
	}
	return out
}

// counted is destinations once every destination of nonzero weight has
// counted a connection: the kernel adds its per-CPU counters up every 2s
// (its rate estimator), so a connection just made may not show at once.
// It gives up after 10s and returns what it read last.
func counted(t *testing.T, ns netns.NsHandle) map[destKey]ipvs.Destination {
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

// notRecreated fails for each destination in both before and after
// that was recreated by the reload: its connection counter went down (a
// new destination starts at zero), or recreated finds the side's own word
// for it (the kernel keeps a deleted destination that connections still
// use, and gives it back with its counters if it is added again soon, so
// the counter alone can miss one). A destination of nonzero weight must
// have counted a connection before, else the counter shows nothing. It
// returns how many destinations were checked.
func notRecreated(t *testing.T, side string, before, after map[destKey]ipvs.Destination, recreated func(destKey) string) int {
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
		case recreated(k) != "":
			t.Errorf("%s: %s was recreated by the reload: %s", side, k, recreated(k))
		default:
			t.Logf("%s: %s kept (%d connections before, %d after; weight %d, then %d)", side, k, b.Stats.Connections, a.Stats.Connections, b.Weight, a.Weight)
		}
	}
	return n
}
