package director_test

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/ipvs"
)

// TestOverrides: while Run runs, a weight set by hand and a drain take
// effect at once, are kept across a reload (over the file's new weight)
// and a restart (the state file), and Restore puts the file's weight back;
// bad arguments are refused with typed errors and change nothing.
func TestOverrides(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stateFile := filepath.Join(dir, "state.json")
	k := directortest.NewKernel()
	d, err := director.New(k.Options(&director.Options{StateFile: stateFile}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	svc := web.Key()
	other, err := ipvs.ParseKey("tcp 10.0.0.9:80")
	if err != nil {
		t.Fatal(err)
	}
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80")
	r := run(t, d, parse(t, natLab))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil })
	want := func(what string, w1, w2 int) {
		t.Helper()
		if w := weights(t, k.IPVS, web); w[rs1.String()] != w1 || w[rs2.String()] != w2 {
			t.Errorf("%s: weights %v, want rs1 %d, rs2 %d", what, w, w1, w2)
		}
	}
	want("from the file", 1, 2)

	if err := d.SetWeight(stepCtx(t), svc, rs1, 5, "bigger box"); err != nil {
		t.Fatal(err)
	}
	want("rs1 set to 5", 5, 2)
	until := time.Now().Add(time.Hour)
	if err := d.Drain(stepCtx(t), svc, rs2, until, "kernel upgrade"); err != nil {
		t.Fatal(err)
	}
	want("rs2 drained", 5, 0)
	if w, ok := d.DeclaredWeight(svc, rs2); !ok || w != 2 {
		t.Errorf("rs2's declared weight: %d, %v; want 2", w, ok)
	}
	ov := d.Overrides()
	if len(ov) != 2 || ov[0].Addr != rs1 || ov[0].Weight != 5 || ov[0].Reason != "bigger box" ||
		ov[1].Addr != rs2 || !ov[1].Drain || !ov[1].Until.Equal(until) || ov[1].Weight != 0 {
		t.Errorf("Overrides: %+v", ov)
	}

	// Refused, and nothing changes.
	for _, tc := range []struct {
		name string
		err  error
		is   error
		text string
	}{
		{"weight -1", d.SetWeight(stepCtx(t), svc, rs1, -1, ""), director.ErrInvalid, "weight -1 is out of range 0..2147483647"},
		{"weight 2^31", d.SetWeight(stepCtx(t), svc, rs1, director.MaxWeight+1, ""), director.ErrInvalid, "out of range"},
		{"a past deadline", d.Drain(stepCtx(t), svc, rs1, time.Now().Add(-time.Minute), ""), director.ErrInvalid, "is in the past"},
		{"an unknown real server", d.SetWeight(stepCtx(t), svc, netip.MustParseAddrPort("10.0.0.99:80"), 1, ""), fs.ErrNotExist, "no real server 10.0.0.99:80"},
		{"an unknown service", d.Drain(stepCtx(t), other, rs1, time.Time{}, ""), fs.ErrNotExist, "has no real server"},
	} {
		if !errors.Is(tc.err, tc.is) || !strings.Contains(tc.err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, tc.err, tc.is, tc.text)
		}
	}
	if len(d.Overrides()) != 2 {
		t.Errorf("after refusals: %+v", d.Overrides())
	}
	want("after refusals", 5, 0)

	// A reload with rs1 at 3 in the file: the override stays.
	r.reload <- parse(t, strings.Replace(natLab, "- {address: 10.0.0.110:80, forward: nat}", "- {address: 10.0.0.110:80, forward: nat, weight: 3}", 1))
	if err := d.Ping(stepCtx(t)); err != nil { // answered once the reload's step has ended
		t.Fatal(err)
	}
	want("after a reload", 5, 0)
	if w, _ := d.DeclaredWeight(svc, rs1); w != 3 {
		t.Errorf("rs1's declared weight after the reload: %d, want 3", w)
	}

	// A change that cannot be saved is not made.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := d.SetWeight(stepCtx(t), svc, rs1, 7, ""); err == nil {
		t.Error("SetWeight with the state's directory gone: no error")
	}
	if err := d.Restore(stepCtx(t), svc, rs2); err == nil {
		t.Error("Restore with the state's directory gone: no error")
	}
	if ov := d.Overrides(); len(ov) != 2 || ov[0].Weight != 5 || !ov[1].Drain {
		t.Errorf("after unsaved changes: %+v", ov)
	}
	want("after unsaved changes", 5, 0)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.SetWeight(stepCtx(t), svc, rs1, 5, "bigger box"); err != nil { // saved again
		t.Fatal(err)
	}

	// A restart: a new Director on the same state file plans the
	// overrides.
	d2, err := director.New(k.Options(&director.Options{StateFile: stateFile}))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if ov := d2.Overrides(); len(ov) != 2 || ov[0].Weight != 5 || !ov[1].Drain || !ov[1].Until.Equal(until) {
		t.Errorf("overrides after a restart: %+v", ov)
	}
	p, err := d2.Plan(stepCtx(t), parse(t, natLab))
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 {
		t.Errorf("the restarted director's plan: %v, want nothing (the overrides kept)", p)
	}

	// Restore: the file's weights again.
	if err := d.Restore(stepCtx(t), svc, rs1); err != nil {
		t.Fatal(err)
	}
	if err := d.Restore(stepCtx(t), svc, rs2); err != nil {
		t.Fatal(err)
	}
	want("restored", 3, 2)
	if ov := d.Overrides(); len(ov) != 0 {
		t.Errorf("overrides after Restore: %+v", ov)
	}
}
