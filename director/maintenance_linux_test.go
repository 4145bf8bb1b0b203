package director

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// TestDisableEnable: a real server disabled by hand while Run runs is at
// weight 0 when Disable returns and gets no new connections; it stays
// disabled across a reload that changes its weight and, through the state
// file, across a new Director; Enable without Run is applied by the next
// plan. Unknown real servers are refused; Ping answers only while Run runs.
func TestDisableEnable(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_wrr", "veth", "bridge")
	stateFile := filepath.Join(t.TempDir(), "state.json")
	d, l := natDirector(t, Options{StateFile: stateFile})
	client := labtest.Host(t, l, lab.Client)
	ctx := ctxT(t)
	cfg := mustConfig(t, natLab)
	svc := ipvs.Key{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: ipvs.IPv4}
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.110:80"), netip.MustParseAddrPort("10.0.0.120:80")
	weight := func(c ipvs.API, a netip.AddrPort) int {
		t.Helper()
		ds, err := c.Destinations(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: svc.Addr})
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range ds {
			if dst.Addr == a {
				return dst.Weight
			}
		}
		t.Fatalf("no destination %v in %+v", a, ds)
		return 0
	}

	if err := d.Disable(ctx, svc, rs2, "early"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Disable before any configuration: %v, want an unknown real server", err)
	}
	if err := d.Ping(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Ping without Run: %v", err)
	}
	reload := make(chan *Compiled)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	reports := make(chan Report, 64)
	go func() { done <- d.Run(runCtx, compiled(t, cfg), reload, func(r Report) { reports <- r }) }()
	if r := <-reports; r.Err != nil || r.Plan == nil {
		t.Fatalf("first apply: %+v", r)
	}
	if err := d.Ping(ctx); err != nil {
		t.Errorf("Ping while Run runs: %v", err)
	}
	var unknown *UnknownRealServerError
	if err := d.Disable(ctx, svc, netip.MustParseAddrPort("10.0.0.99:80"), ""); !errors.As(err, &unknown) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Disable of an unknown real server: %v", err)
	}
	if err := d.Disable(ctx, svc, rs2, "disk swap"); err != nil {
		t.Fatal(err)
	}
	if w := weight(d.IPVS(), rs2); w != 0 {
		t.Errorf("rs2's weight %d when Disable returned, want 0", w)
	}
	if got := get(t, client, 3); got["rs1"] != 3 {
		t.Errorf("answers with rs2 disabled: %v", got)
	}
	st := d.Status()
	if len(st.Disabled) != 1 || st.Disabled[0].Addr != rs2 || st.Disabled[0].Reason != "disk swap" || st.Disabled[0].Since.IsZero() {
		t.Errorf("Status().Disabled = %+v", st.Disabled)
	}
	if len(st.Owned.Services) != 1 || st.Owned.Services[0] != svc {
		t.Errorf("Status().Owned = %+v", st.Owned)
	}
	reload <- compiled(t, mustConfig(t, strings.Replace(natLab, "weight: 2", "weight: 5", 1)))
	if err := d.Ping(ctx); err != nil { // answered once the reload's step ended
		t.Fatal(err)
	}
	if w1, w2 := weight(d.IPVS(), rs1), weight(d.IPVS(), rs2); w1 != 1 || w2 != 0 {
		t.Errorf("after a reload giving rs2 weight 5: rs1 %d, rs2 %d; want 1 and 0 (disabled)", w1, w2)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(ctx); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Ping after Run: %v", err)
	}

	// A new Director on the same state file knows rs2 is disabled.
	d2, err := New(&Options{NetNS: d.netns, StateFile: stateFile})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if st := d2.Status(); len(st.Disabled) != 1 || st.Disabled[0].Reason != "disk swap" {
		t.Errorf("the new Director's disabled list: %+v", st.Disabled)
	}
	p, err := d2.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 0 {
		t.Errorf("plan of the new Director (rs2 disabled, at weight 0 already): %v", p)
	}
	if err := d2.Enable(ctx, svc, rs2); err != nil {
		t.Fatal(err)
	}
	if p, err = d2.Plan(ctx, compiled(t, cfg)); err != nil || p.Len() != 1 || p.Ops[0].Rule.Destination.Weight != 2 {
		t.Fatalf("plan after Enable: %v, %v; want rs2 back at weight 2", p, err)
	}
	if err := d2.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := get(t, client, 3); got["rs1"] != 1 || got["rs2"] != 2 {
		t.Errorf("answers after Enable: %v, want wrr 1:2", got)
	}
	if st := d2.Status(); len(st.Disabled) != 0 {
		t.Errorf("disabled after Enable: %+v", st.Disabled)
	}
}
