package director

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// TestClusterDrainsAtTheDeadline: a removed real server of a service the
// cluster announces is deleted at its drain deadline, not when it goes
// idle (every director deletes at the same time); one of a service
// outside the cluster goes as soon as it is idle.
func TestClusterDrainsAtTheDeadline(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_mh", "veth", "bridge")
	d, _ := natDirector(t, Options{Drain: 3 * time.Second})
	ctx := ctxT(t)
	const conf = `
cluster:
  announce: [10.0.0.8/32]
services:
  - {protocol: tcp, address: 10.0.0.8:80, scheduler: mh, flags: [mh-fallback], realServers: [{address: 10.0.0.110:80, forward: nat}, {address: 10.0.0.120:80, forward: nat}]}
  - {protocol: tcp, address: 10.0.0.9:80, scheduler: mh, flags: [mh-fallback], realServers: [{address: 10.0.0.110:80, forward: nat}, {address: 10.0.0.120:80, forward: nat}]}
`
	apply := func(conf string) {
		t.Helper()
		p, err := d.Plan(ctx, mustParse(t, conf))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	count := func(vip string) int {
		t.Helper()
		ds, err := d.IPVS().Destinations(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort(vip)})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	apply(conf)
	apply(strings.ReplaceAll(conf, ", {address: 10.0.0.120:80, forward: nat}", ""))
	start := time.Now()
	if n, err := d.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect before the deadline: %d deleted, %v; want the idle one outside the cluster", n, err)
	}
	if in, out := count("10.0.0.8:80"), count("10.0.0.9:80"); in != 2 || out != 1 {
		t.Errorf("before the deadline: %d real servers in the cluster's service (want 2, one draining), %d outside (want 1)", in, out)
	}
	time.Sleep(3*time.Second - time.Since(start) + 100*time.Millisecond)
	if n, err := d.Collect(ctx); err != nil || n != 1 {
		t.Fatalf("Collect after the deadline: %d deleted, %v", n, err)
	}
	if in := count("10.0.0.8:80"); in != 1 {
		t.Errorf("after the deadline: %d real servers in the cluster's service, want 1", in)
	}
}
