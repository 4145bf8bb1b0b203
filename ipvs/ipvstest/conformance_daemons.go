package ipvstest

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// syncIf is the interface the suite runs sync daemons on: every namespace
// has it, with an MTU of 65536.
const syncIf = "lo"

func (s *suite) syncDaemons(t *testing.T) {
	t.Run("StartStop", s.syncStartStop)
	t.Run("Defaults", s.syncDefaults)
	t.Run("MixedFamilies", s.syncMixedFamilies)
	t.Run("InvalidInput", s.syncInvalid)
	t.Run("CancelledContext", s.syncCancelled)
}

func listDaemons(t *testing.T, api ipvs.API) []ipvs.SyncDaemon {
	t.Helper()
	ds, err := api.SyncDaemons(ctxT(t))
	if err != nil {
		t.Fatalf("list sync daemons: %v", err)
	}
	return ds
}

func mustStart(t *testing.T, api ipvs.API, d ipvs.SyncDaemon) {
	t.Helper()
	if err := api.StartSyncDaemon(ctxT(t), d); err != nil {
		t.Fatalf("start %+v: %v", d, err)
	}
}

// mustStop stops the daemon of the role. A stop that comes before the
// daemon's kernel thread first ran gets no answer from the kernel: the
// thread ends without running (kthread_stop returns EINTR, which the
// command returns), and netlink sends no acknowledgement for EINTR. The
// daemon is stopped all the same; the call ends with its context (the
// client reports the deadline as its socket's i/o timeout when that fires
// first). Seen in the VM on about half the stops that followed a start
// within a millisecond: a call that times out counts as a stop if the role
// no longer runs.
func mustStop(t *testing.T, api ipvs.API, state ipvs.SyncState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := api.StopSyncDaemon(ctx, state)
	if err == nil {
		return
	}
	timedOut := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
	if timedOut && !slices.ContainsFunc(listDaemons(t, api), func(d ipvs.SyncDaemon) bool { return d.State == state }) {
		t.Logf("stop %v: no answer, but it stopped (the kernel's EINTR): %v", state, err)
		return
	}
	t.Fatalf("stop %v: %v", state, err)
}

// syncStartStop: one daemon of each role runs at a time, listed master
// first; a second of a role is EEXIST, an unknown interface ENODEV (even
// with the role running), stopping a role not running ESRCH; Flush leaves
// the daemons running.
func (s *suite) syncStartStop(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	if ds := listDaemons(t, api); len(ds) != 0 {
		t.Errorf("sync daemons of a fresh IPVS: %+v", ds)
	}
	// The backup first: the listing is in role order, not start order.
	backup := ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: syncIf, SyncID: 7,
		Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 3, MaxLength: 1200}
	mustStart(t, api, backup)
	master := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf, SyncID: 5}
	mustStart(t, api, master)
	// The kernel reports its defaults for what the master left zero.
	wantMaster := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf, SyncID: 5,
		MaxLength: 1500 - 28, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}
	if ds := listDaemons(t, api); !slices.Equal(ds, []ipvs.SyncDaemon{wantMaster, backup}) {
		t.Errorf("sync daemons\n got  %+v\n want %+v", ds, []ipvs.SyncDaemon{wantMaster, backup})
	}

	wantErrno(t, "second master", api.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf, SyncID: 6}),
		"start sync daemon", syscall.EEXIST)
	wantErrno(t, "second backup", api.StartSyncDaemon(ctx, backup), "start sync daemon", syscall.EEXIST)
	wantErrno(t, "unknown interface", api.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "nope0"}),
		"start sync daemon", syscall.ENODEV)

	if err := api.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := listDaemons(t, api); len(ds) != 2 {
		t.Errorf("sync daemons after Flush: %+v, want both", ds)
	}
	mustStop(t, api, ipvs.SyncMaster)
	if ds := listDaemons(t, api); !slices.Equal(ds, []ipvs.SyncDaemon{backup}) {
		t.Errorf("after stopping the master: %+v, want the backup alone", ds)
	}
	wantErrno(t, "stopped master", api.StopSyncDaemon(ctx, ipvs.SyncMaster), "stop sync daemon", syscall.ESRCH)
	mustStop(t, api, ipvs.SyncBackup)
	wantErrno(t, "stopped backup", api.StopSyncDaemon(ctx, ipvs.SyncBackup), "stop sync daemon", syscall.ESRCH)
	if ds := listDaemons(t, api); len(ds) != 0 {
		t.Errorf("after stopping both: %+v", ds)
	}
	// A stopped role starts again, with new settings.
	master.SyncID = 9
	mustStart(t, api, master)
	if ds := listDaemons(t, api); len(ds) != 1 || ds[0].SyncID != 9 {
		t.Errorf("restarted master: %+v", ds)
	}
	mustStop(t, api, ipvs.SyncMaster)
}

// syncDefaults: how the kernel fills in and bounds MaxLength (the largest
// payload of a 1500-byte packet for a master, of the interface's MTU
// brought into 1500..65535 for a backup: lo's 65536 is 65535; a given one
// brought into range), and unmaps an IPv4-mapped group; a master on lo
// takes no IPv6 group.
func (s *suite) syncDefaults(t *testing.T) {
	api := s.open(t)
	g6 := netip.MustParseAddr("ff02::81")
	for _, c := range []struct {
		d      ipvs.SyncDaemon
		maxLen uint16
		group  netip.Addr // zero: 224.0.0.81
	}{
		{ipvs.SyncDaemon{State: ipvs.SyncMaster}, 1500 - 28, netip.Addr{}},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, MaxLength: 100}, 100, netip.Addr{}},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, MaxLength: 65535}, 65535 - 28, netip.Addr{}},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, Group: netip.MustParseAddr("239.1.1.1")}, 1500 - 28, netip.MustParseAddr("239.1.1.1")},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup}, 65535 - 28, netip.Addr{}},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Group: g6}, 65535 - 48, g6},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, MaxLength: 100}, 1024, netip.Addr{}},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, MaxLength: 65535}, 65535 - 28, netip.Addr{}},
	} {
		c.d.Interface = syncIf
		want := c.d
		want.MaxLength, want.Group, want.Port, want.TTL = c.maxLen, c.group, 8848, 1
		if !want.Group.IsValid() {
			want.Group = netip.MustParseAddr("224.0.0.81")
		}
		mustStart(t, api, c.d)
		if ds := listDaemons(t, api); len(ds) != 1 || ds[0] != want {
			t.Errorf("%+v read back as %+v, want %+v", c.d, ds, want)
		}
		mustStop(t, api, c.d.State)
	}
	// lo has no route to IPv6 multicast groups: a master cannot send there.
	err := api.StartSyncDaemon(ctxT(t), ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf, Group: g6})
	wantErrno(t, "master with an IPv6 group on lo", err, "start sync daemon", syscall.ENETUNREACH)
	if ds := listDaemons(t, api); len(ds) != 0 {
		t.Errorf("after the refused master: %+v", ds)
	}
}

// syncMixedFamilies: the sync protocol has no room for a destination of
// the other family than its service's (a cross-family tunnel): while one
// exists no daemon starts (EINVAL, before the interface is looked at), and
// while a daemon runs such a destination is neither created nor updated
// (EINVAL, before its existence is looked at); a delete is not refused.
func (s *suite) syncMixedFamilies(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: vip6, Scheduler: ipvs.RoundRobin}
	mustService(t, api, svc)
	cross := ipvs.Destination{Addr: rip(ipvs.IPv4, 110, 80), Forward: ipvs.Tunnel, Weight: 1}
	mustDest(t, api, svc, cross)
	master := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf}
	backup := ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: syncIf}
	wantErrno(t, "master with a cross-family destination", api.StartSyncDaemon(ctx, master), "start sync daemon", syscall.EINVAL)
	wantErrno(t, "backup with a cross-family destination", api.StartSyncDaemon(ctx, backup), "start sync daemon", syscall.EINVAL)
	wantErrno(t, "unknown interface with a cross-family destination", api.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "nope0"}),
		"start sync daemon", syscall.EINVAL)
	if ds := listDaemons(t, api); len(ds) != 0 {
		t.Errorf("refused daemons run: %+v", ds)
	}
	if err := api.DeleteDestination(ctx, svc, cross); err != nil {
		t.Fatal(err)
	}

	mustStart(t, api, master)
	other := ipvs.Destination{Addr: rip(ipvs.IPv4, 120, 80), Forward: ipvs.Tunnel, Weight: 1}
	same := ipvs.Destination{Addr: rip(ipvs.IPv6, 110, 80), Forward: ipvs.Tunnel, Weight: 1}
	wantErrno(t, "cross-family create with a master", api.CreateDestination(ctx, svc, cross), "create destination", syscall.EINVAL)
	wantErrno(t, "cross-family update of a missing destination", api.UpdateDestination(ctx, svc, other), "update destination", syscall.EINVAL)
	wantErrno(t, "cross-family delete of a missing destination", api.DeleteDestination(ctx, svc, other), "delete destination", syscall.ENOENT)
	wantErrno(t, "cross-family create on a missing service", api.CreateDestination(ctx, ipvs.Service{Protocol: ipvs.UDP, Addr: vip6}, cross),
		"create destination", syscall.ESRCH)
	var b ipvs.Batch
	b.CreateDestination(svc, cross)
	b.CreateDestination(svc, same)
	results, err := api.Apply(ctx, &b)
	if err != nil || len(results) != 2 {
		t.Fatalf("batch: %v, %v", results, err)
	}
	wantErrno(t, "cross-family create in a batch", results[0], "create destination", syscall.EINVAL)
	if results[1] != nil {
		t.Errorf("same-family create in a batch: %v", results[1])
	}
	mustStop(t, api, ipvs.SyncMaster)

	mustStart(t, api, backup)
	wantErrno(t, "cross-family create with a backup", api.CreateDestination(ctx, svc, cross), "create destination", syscall.EINVAL)
	mustStop(t, api, ipvs.SyncBackup)
	mustDest(t, api, svc, cross)
	sameDests(t, listDests(t, api, svc), []ipvs.Destination{cross, same})

	// Deleting the service takes its cross-family destination along.
	if err := api.DeleteService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	mustStart(t, api, master)
	mustStop(t, api, ipvs.SyncMaster)
}

// syncInvalid: a daemon or role the kernel cannot take is refused before
// sending, with a validation error.
func (s *suite) syncInvalid(t *testing.T) {
	api := s.open(t)
	ctx := ctxT(t)
	for what, d := range map[string]ipvs.SyncDaemon{
		"no role":         {Interface: syncIf},
		"role 3":          {State: 3, Interface: syncIf},
		"no interface":    {State: ipvs.SyncMaster},
		"interface name":  {State: ipvs.SyncMaster, Interface: "sixteen-letters0"},
		"syncid 256":      {State: ipvs.SyncMaster, Interface: syncIf, SyncID: 256},
		"unicast group":   {State: ipvs.SyncMaster, Interface: syncIf, Group: netip.MustParseAddr("10.0.0.1")},
		"IPv6 unicast":    {State: ipvs.SyncBackup, Interface: syncIf, Group: netip.MustParseAddr("2001:db8::1")},
		"broadcast group": {State: ipvs.SyncBackup, Interface: syncIf, Group: netip.MustParseAddr("255.255.255.255")},
	} {
		wantInvalid(t, what, api.StartSyncDaemon(ctx, d))
	}
	wantInvalid(t, "stop no role", api.StopSyncDaemon(ctx, 0))
	wantInvalid(t, "stop role 3", api.StopSyncDaemon(ctx, 3))
	if ds := listDaemons(t, api); len(ds) != 0 {
		t.Errorf("sync daemons after refused input: %+v", ds)
	}
}

// syncCancelled: a call with a done context fails with its error and
// starts or stops nothing.
func (s *suite) syncCancelled(t *testing.T) {
	api := s.open(t)
	master := ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: syncIf}
	mustStart(t, api, master)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for op, err := range map[string]error{
		"start sync daemon": api.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: syncIf}),
		"stop sync daemon":  api.StopSyncDaemon(ctx, ipvs.SyncMaster),
	} {
		var e *ipvs.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Op != op {
			t.Errorf("%s: err = %v, want an *ipvs.Error for %q matching context.Canceled", op, err, op)
		}
	}
	if _, err := api.SyncDaemons(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("list: err = %v, want context.Canceled", err)
	}
	if ds := listDaemons(t, api); len(ds) != 1 || ds[0].State != ipvs.SyncMaster {
		t.Errorf("after cancelled calls: %+v, want the master alone", ds)
	}
	mustStop(t, api, ipvs.SyncMaster)
}
