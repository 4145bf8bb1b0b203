package director_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/directortest"
)

// TestFakeSeveralChecks: on the fake kernel, a real server with two
// checks of its own (file checks, each a number an operator writes) is
// quiesced when either fails, its report naming the check, and is back
// only when both pass; the other real server's checks are its own.
func TestFakeSeveralChecks(t *testing.T) {
	dir := t.TempDir()
	set := func(name, v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"rs1-a", "rs1-b", "rs2"} {
		set(f, "1")
	}
	const timing = "interval: 100ms, rise: 1, fall: 1"
	conf := fmt.Sprintf(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    realServers:
      - address: 10.0.0.110:80
        forward: nat
        checks:
          - {type: file, file: %[1]s/rs1-a, %[2]s}
          - {type: file, file: %[1]s/rs1-b, %[2]s}
      - address: 10.0.0.120:80
        forward: nat
        weight: 2
        checks: [{type: file, file: %[1]s/rs2, %[2]s}]
`, dir, timing)
	d, k := directortest.New(t, nil)
	r := run(t, d, parse(t, conf))
	r.waitFor("the first apply", func(rep director.Report) bool { return rep.Plan != nil && rep.Err == nil })

	set("rs1-b", "0")
	rep := r.waitFor("rs1 down", func(rep director.Report) bool { return rep.Health != nil && !rep.Health.Healthy })
	if e := rep.Health; e.RealServer.String() != "10.0.0.110:80" || !errors.Is(e.Err, check.ErrFileState) || !strings.HasPrefix(e.Err.Error(), "checks[1] (file): ") {
		t.Errorf("event %v, want rs1 failed by checks[1] (file)", e)
	}
	r.waitFor("its weight 0", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.110:80"] != 0 || w["10.0.0.120:80"] != 2 {
		t.Errorf("with rs1's second check failing: %v", w)
	}
	set("rs1-b", "1")
	rep = r.waitFor("rs1 up", func(rep director.Report) bool { return rep.Health != nil })
	if !rep.Health.Healthy || rep.Health.RealServer.String() != "10.0.0.110:80" {
		t.Errorf("next health report %v, want rs1 healthy", rep.Health)
	}
	r.waitFor("its weight back", func(rep director.Report) bool { return rep.Plan != nil })
	if w := weights(t, k.IPVS, web); w["10.0.0.110:80"] != 1 {
		t.Errorf("with both of rs1's checks passing: %v", w)
	}
	// rs2's single check: its error is the check's own.
	set("rs2", "0")
	rep = r.waitFor("rs2 down", func(rep director.Report) bool { return rep.Health != nil && !rep.Health.Healthy })
	if e := rep.Health; e.RealServer.String() != "10.0.0.120:80" || strings.HasPrefix(e.Err.Error(), "checks[") {
		t.Errorf("event %v, want rs2 failed by its only check, unnamed", e)
	}
	if st := d.Status(); len(st.RealServers) != 2 || !st.RealServers[0].Healthy || st.RealServers[1].Healthy {
		t.Errorf("status: %+v", st.RealServers)
	}
}
