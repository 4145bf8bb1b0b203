package keepalived

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/vishvananda/netns"
)

// diffConfigID is the configuration id both sides read with: it matches
// no "@ID" line, so every "@^ID" line is read, as Import's default.
const diffConfigID = "lvs-differential"

// TestDifferentialStart runs the real keepalived (its checkers only, -C)
// and the director on the same configuration, each in a fresh namespace
// of the guest, and compares the IPVS tables (ipvsadm -Sn) and timeouts
// (ipvsadm -L --timeout) right after start, before any check acts: every difference must be one a note of
// the import names (by the address of its service or real server). The
// corpus is Debian's samples (testdata/samples) and testdata/differential.
// keepalived runs only inside the VM guest, never on the host.
func TestDifferentialStart(t *testing.T) {
	vmtest.Require(t, modules...)
	if !vmtest.InGuest() {
		t.Skip("keepalived runs only inside the VM guest, never on the host")
	}
	kd, err := exec.LookPath("/usr/sbin/keepalived")
	if err != nil {
		t.Skipf("keepalived is not in the guest: %v", err)
	}
	var corpus []string
	for _, g := range []string{"testdata/samples/keepalived.conf*", "testdata/differential/*.conf"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if !strings.HasSuffix(p, ".yaml") {
				corpus = append(corpus, p)
			}
		}
	}
	equal, explained := 0, 0
	for _, path := range corpus {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, notes, err := ImportFile(path, &Options{ConfigID: diffConfigID})
			if err != nil && !errors.Is(err, ErrNoServices) {
				t.Fatal(err)
			}
			ka := keepalivedTable(t, kd, path)
			ours := directorTable(t, cfg)
			diff := compareTables(t, "at start", ka, ours, notes)
			if len(diff) == 0 {
				equal++
			} else {
				explained++
			}
		})
	}
	t.Logf("%d cases: %d tables equal at start, %d with every difference named by a note", len(corpus), equal, explained)
}

// keepalivedTable starts keepalived -C on path in a fresh namespace,
// reads ipvsadm -Sn once its table is built and stable, and stops it.
func keepalivedTable(t *testing.T, kd, path string) []string {
	t.Helper()
	ns := nstest.New(t)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	k := startKeepalived(t, kd, ns, abs)
	defer k.stop(t)
	// The table is read once it has stopped growing for 300ms (keepalived
	// adds services one by one), or after 3s if it stays empty.
	var last []string
	deadline := time.Now().Add(10 * time.Second)
	stableSince := time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-k.exited:
			t.Fatalf("keepalived exited: %v\n%s", k.err, k.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		cur := ipvsadmSave(t, ns)
		if !slices.Equal(cur, last) {
			last, stableSince = cur, time.Now()
			continue
		}
		built := slices.ContainsFunc(cur, func(l string) bool { return strings.HasPrefix(l, "-A") })
		if built && time.Since(stableSince) > 300*time.Millisecond || !built && time.Since(stableSince) > 3*time.Second {
			return cur
		}
	}
	t.Fatalf("keepalived's table did not settle in 10s:\n%s", strings.Join(last, "\n"))
	return nil
}

// directorTable applies cfg with a Director in a fresh namespace and
// reads ipvsadm -Sn there (nil: nothing was carried over, the namespace
// is read as it is).
func directorTable(t *testing.T, cfg *director.Config) []string {
	t.Helper()
	ns := nstest.New(t)
	if cfg == nil {
		return ipvsadmSave(t, ns)
	}
	d, _, ctx := applyIn(t, ns, cfg)
	tab := ipvsadmSave(t, ns)
	if err := d.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	return tab
}

func ipvsadmSave(t *testing.T, ns netns.NsHandle) []string {
	t.Helper()
	var out []byte
	err := nstest.Do(ns, func() error {
		var err error
		out, err = exec.Command("/usr/sbin/ipvsadm", "-Sn").CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ipvsadm -Sn: %v\n%s", err, out)
	}
	// The timeouts too, as a line of their own.
	var tout []byte
	err = nstest.Do(ns, func() error {
		var err error
		tout, err = exec.Command("/usr/sbin/ipvsadm", "-L", "--timeout").CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ipvsadm -L --timeout: %v\n%s", err, tout)
	}
	out = append(out, tout...)
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return lines
}

// compareTables logs the two tables side by side, as read at stage, and
// fails for each line in one only that no note names; it returns those
// lines.
func compareTables(t *testing.T, stage string, ka, ours []string, notes []Note) []string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %s\n", "", "ipvsadm -Sn")
	var diff []string
	for _, l := range mergeSorted(ka, ours) {
		inK, inO := slices.Contains(ka, l), slices.Contains(ours, l)
		where := "both"
		switch {
		case inK && !inO:
			where = "keepalived"
		case inO && !inK:
			where = "director"
		}
		why := ""
		if where != "both" {
			diff = append(diff, l)
			n, ok := namingNote(l, notes)
			if !ok {
				t.Errorf("%s only, and no note names it: %s", where, l)
				why = "  <- NOT NAMED BY A NOTE"
			} else {
				why = "  <- " + n
			}
		}
		fmt.Fprintf(&b, "%-14s %s%s\n", where, l, why)
	}
	t.Logf("tables %s:\n%s", stage, b.String())
	return diff
}

func mergeSorted(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// namingNote finds a note naming the line's real server, else its
// service, by address (or fwmark).
func namingNote(line string, notes []Note) (string, bool) {
	f := strings.Fields(line)
	var names []string
	if strings.HasPrefix(line, "Timeout") {
		names = append(names, "lvs_timeouts")
	}
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "-r":
			names = append([]string{hostOf(f[i+1])}, names...)
		case "-t", "-u", "--sctp-service":
			names = append(names, hostOf(f[i+1]))
		case "-f":
			names = append(names, "fwmark "+f[i+1])
		}
	}
	for _, name := range names {
		for _, n := range notes {
			if s := n.String(); containsWord(s, name) {
				return s, true
			}
		}
	}
	return "", false
}

// containsWord reports whether name is in s, not as part of a longer
// address or number.
func containsWord(s, name string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !addrByte(s[j-1])) && (end == len(s) || !addrByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

// hostOf is the address of "ADDR:PORT" or "[ADDR]:PORT".
func hostOf(s string) string {
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		s = s[:i]
	}
	return strings.Trim(s, "[]")
}
