package director_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
)

// TestMaintenanceUnsavedChangesNothing: a Disable or Enable whose state
// cannot be saved (the state file's directory is gone) returns the error
// and has not taken effect: Status does not show it, the next plan does
// not apply it, and a later save does not write it.
func TestMaintenanceUnsavedChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, _ := directortest.New(t, &director.Options{StateFile: filepath.Join(dir, "state.json")})
	cfg := parse(t, natLab)
	apply(t, d, cfg)
	svc, rs2 := web.Key(), netip.MustParseAddrPort("10.0.0.120:80")
	planLen := func() int {
		p, err := d.Plan(stepCtx(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p.Len()
	}

	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := d.Disable(stepCtx(t), svc, rs2, "disk swap"); err == nil {
		t.Fatal("Disable with the state file's directory gone: no error")
	}
	if got := d.Status().Disabled; len(got) != 0 {
		t.Errorf("Status after a Disable that was not saved: %+v, want nothing disabled", got)
	}
	if n := planLen(); n != 0 {
		t.Errorf("the plan after a Disable that was not saved has %d operations, want none", n)
	}

	// Saved, it takes effect; an Enable that cannot be saved leaves it.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.Disable(stepCtx(t), svc, rs2, "disk swap"); err != nil {
		t.Fatal(err)
	}
	if n := planLen(); n != 1 {
		t.Errorf("the plan after a saved Disable has %d operations, want rs2's weight", n)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := d.Enable(stepCtx(t), svc, rs2); err == nil {
		t.Fatal("Enable with the state file's directory gone: no error")
	}
	if got := d.Status().Disabled; len(got) != 1 || got[0].Addr != rs2 || got[0].Reason != "disk swap" {
		t.Errorf("Status after an Enable that was not saved: %+v, want rs2 still disabled", got)
	}
	// A Disable that changes only the reason, unsaved, keeps the old reason.
	if err := d.Disable(stepCtx(t), svc, rs2, "other"); err == nil {
		t.Fatal("a second Disable with the state file's directory gone: no error")
	}
	if got := d.Status().Disabled; len(got) != 1 || got[0].Reason != "disk swap" {
		t.Errorf("Status after an unsaved change of reason: %+v, want the reason kept", got)
	}
}
