package director

import (
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// TestFingerprintAgrees: two directors given the same mh configuration
// have the same fingerprint; one whose real servers were listed in
// another order (so its mh table differs) has another.
func TestFingerprintAgrees(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_mh")
	const cfg = `
services:
  - protocol: tcp
    address: 10.0.0.100:80
    scheduler: mh
    flags: [mh-fallback]
    realServers: [{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr, weight: 2}]
`
	fp := func(conf string) string {
		d, err := New(&Options{NetNS: int(nstest.New(t))})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ctx := ctxT(t)
		p, err := d.Plan(ctx, mustParse(t, conf))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
		f, err := d.Fingerprint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := fp(cfg), fp(cfg)
	if a != b || len(a) != 64 {
		t.Errorf("the same configuration: fingerprints %s and %s", a, b)
	}
	swapped := strings.Replace(cfg, "[{address: 10.0.0.110:80, forward: dr}, {address: 10.0.0.120:80, forward: dr, weight: 2}]",
		"[{address: 10.0.0.120:80, forward: dr, weight: 2}, {address: 10.0.0.110:80, forward: dr}]", 1)
	if c := fp(swapped); c == a {
		t.Error("real servers added in another order: the same fingerprint")
	}
}
