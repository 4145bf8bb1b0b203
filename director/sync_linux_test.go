package director

import (
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// TestClusterSyncDaemons: a cluster with sync starts a master and a backup
// with its settings and sets sloppy TCP and SCTP and the refresh period; a
// second plan is empty (the kernel's own defaults for the settings left
// zero count as the same); a changed syncid restarts both; Teardown stops
// them and puts the sysctls back.
func TestClusterSyncDaemons(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_mh", "veth", "bridge")
	d, l := natDirector(t, Options{})
	dir := labtest.Host(t, l, lab.Director)
	// Each step has a deadline of its own (ctxT): stopping the sync
	// daemons waits for the kernel's threads, slow on a busy machine.
	const conf = `
cluster:
  announce: [10.0.0.8/32]
  sync: {interface: eth1, syncID: 7}
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: mh
    flags: [mh-fallback]
    realServers: [{address: 10.0.0.110:80, forward: nat}]
`
	before := map[string]string{}
	for _, k := range []string{"net.ipv4.vs.sloppy_tcp", "net.ipv4.vs.sloppy_sctp", "net.ipv4.vs.sync_refresh_period"} {
		v, err := dir.ReadSysctl(k)
		if err != nil {
			t.Fatal(err)
		}
		before[k] = v
	}
	apply := func(conf string) *Plan {
		t.Helper()
		p, err := d.Plan(ctxT(t), mustParse(t, conf))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(ctxT(t), p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	daemons := func() []ipvs.SyncDaemon {
		t.Helper()
		ds, err := d.IPVS().SyncDaemons(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	t.Logf("plan:\n%s", apply(conf))
	ds := daemons()
	if len(ds) != 2 || ds[0].SyncID != 7 || ds[1].SyncID != 7 || ds[0].Interface != "eth1" || ds[0].State == ds[1].State {
		t.Errorf("daemons %+v, want a master and a backup on eth1 with syncid 7", ds)
	}
	for k, want := range map[string]string{"net.ipv4.vs.sloppy_tcp": "1", "net.ipv4.vs.sloppy_sctp": "1", "net.ipv4.vs.sync_refresh_period": "10"} {
		if v, _ := dir.ReadSysctl(k); v != want {
			t.Errorf("%s = %s, want %s", k, v, want)
		}
	}
	if p, err := d.Plan(ctxT(t), mustParse(t, conf)); err != nil || p.Len() != 0 {
		t.Errorf("second plan (%v):\n%s", err, p)
	}
	if !d.Status().Owned.Sync {
		t.Error("the status does not say the director owns the sync daemons")
	}
	p := apply(strings.Replace(conf, "syncID: 7", "syncID: 8", 1))
	if p.Len() != 1 || p.Ops[0].Kind != SyncDaemons {
		t.Errorf("plan of a new syncid:\n%s", p)
	}
	if ds := daemons(); len(ds) != 2 || ds[0].SyncID != 8 || ds[1].SyncID != 8 {
		t.Errorf("daemons after the new syncid %+v", ds)
	}
	if err := d.Teardown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if ds := daemons(); len(ds) != 0 {
		t.Errorf("daemons after Teardown %+v", ds)
	}
	for k, want := range before {
		if v, _ := dir.ReadSysctl(k); v != want {
			t.Errorf("%s = %s after Teardown, want %s as before", k, v, want)
		}
	}
}
