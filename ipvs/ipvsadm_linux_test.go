package ipvs

import (
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/ipvsfix"
	"github.com/lvs-go/lvs/internal/nstest"
)

// ipvsadm runs the real ipvsadm in namespace ns with stdin.
func ipvsadm(t *testing.T, ns int, stdin string, args ...string) string {
	t.Helper()
	return nstest.Run(t, ns, stdin, "ipvsadm", args...)
}

// crossRules is crossTable in ipvsadm-save -n's rule syntax.
const crossRules = ipvsfix.CrossRules

// TestIpvsadmReadsWhatTheSDKWrites: the SDK creates the table; ipvsadm -Sn
// shows it as it was written. (Package ipvsadm's tests compare its
// listings with ipvsadm's.)
func TestIpvsadmReadsWhatTheSDKWrites(t *testing.T) {
	c, ns := testClient(t)
	ctx := ctxT(t)
	for _, ts := range crossTable {
		if err := c.CreateService(ctx, ts.Service); err != nil {
			t.Fatalf("create %v: %v", ts.Service, err)
		}
		for _, d := range ts.Destinations {
			if err := c.CreateDestination(ctx, ts.Service, d); err != nil {
				t.Fatalf("create %v -> %v: %v", ts.Service, d.Addr, err)
			}
		}
	}
	// ipvsadm -S leaves out connection thresholds (-x, -y).
	wantSaved := strings.ReplaceAll(crossRules, " -x 100 -y 20", "")
	saved := ipvsadm(t, ns, "", "-S", "-n")
	if saved != wantSaved {
		t.Errorf("ipvsadm -Sn:\n%s\nwant:\n%s", saved, wantSaved)
	}
}

// TestSDKReadsWhatIpvsadmWrites: ipvsadm -R loads the rules; the SDK reads
// every field back.
func TestSDKReadsWhatIpvsadmWrites(t *testing.T) {
	c, ns := testClient(t)
	ctx := ctxT(t)
	ipvsadm(t, ns, crossRules, "-R")
	table, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[Key]TableService{}
	for _, ts := range table.Services {
		got[ts.Key()] = ts
	}
	if len(got) != len(crossTable) {
		t.Errorf("%d services read, want %d", len(got), len(crossTable))
	}
	for _, want := range crossTable {
		g, ok := got[want.Key()]
		if !ok {
			t.Errorf("service %v missing", want.Key())
			continue
		}
		if w := expectService(want.Service); g.Service != w {
			t.Errorf("service read back as %+v\nwant %+v", g.Service, w)
		}
		if len(g.Destinations) != len(want.Destinations) {
			t.Errorf("%v: destinations %+v, want %+v", want.Key(), g.Destinations, want.Destinations)
			continue
		}
		for _, wd := range want.Destinations {
			if wd.Forward == Local {
				// ipvsadm has no switch for local delivery: it saves -g,
				// and the kernel keeps what it is told.
				wd.Forward = DirectRoute
			}
			found := false
			for _, gd := range g.Destinations {
				if gd == wd {
					found = true
				}
			}
			if !found {
				t.Errorf("%v: destination %+v not among %+v", want.Key(), wd, g.Destinations)
			}
		}
	}
}
