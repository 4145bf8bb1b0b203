package ipvstest_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/netip"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

var (
	webSvc = ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin}
	rs110  = ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1}
	rs120  = ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 2}
)

// fakeWith returns a Fake holding webSvc with rs110 and rs120.
func fakeWith(t *testing.T) *ipvstest.Fake {
	t.Helper()
	f := ipvstest.New(nil)
	t.Cleanup(func() { f.Close() })
	var b ipvs.Batch
	b.CreateService(webSvc)
	b.CreateDestination(webSvc, rs110)
	b.CreateDestination(webSvc, rs120)
	results, err := f.Apply(context.Background(), &b)
	if err := errors.Join(append(results, err)...); err != nil {
		t.Fatal(err)
	}
	return f
}

// wantFault checks that err is the client's error for op with errno.
func wantFault(t *testing.T, what string, err error, op string, errno syscall.Errno) {
	t.Helper()
	var e *ipvs.Error
	if !errors.As(err, &e) || e.Op != op || !errors.Is(err, errno) {
		t.Errorf("%s: %v, want an *ipvs.Error for %q with %v", what, err, op, errno)
	}
}

// TestReconcileLeavesBusyDestinations: with traffic counted on its
// destinations, the package example's reconcile rewrites nothing on a
// second pass (comparing whole values, it rewrote every destination), and
// still rewrites one whose configuration changed.
func TestReconcileLeavesBusyDestinations(t *testing.T) {
	ctx := context.Background()
	f := ipvstest.New(nil)
	want := []ipvs.Destination{rs110, rs120}
	if err := reconcile(ctx, f, webSvc, want); err != nil {
		t.Fatal(err)
	}
	for i, d := range want {
		d.ActiveConns, d.InactiveConns, d.Stats = uint32(10+i), 3, ipvs.Stats{Connections: 100, PacketsIn: 900, BytesIn: 65000, CPS: 2}
		if err := f.SetDestinationStats(webSvc, d); err != nil {
			t.Fatal(err)
		}
	}
	have, err := f.Destinations(ctx, webSvc)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range have {
		if h == rs110 || h == rs120 {
			t.Fatalf("%v has no stats: the test would show nothing", h.Addr)
		}
	}

	before := f.Counts()
	if err := reconcile(ctx, f, webSvc, want); err != nil {
		t.Fatal(err)
	}
	after := f.Counts()
	if n := after.Applied() - before.Applied(); n != 0 {
		t.Errorf("a second pass over busy destinations applied %d changes: %v, was %v", n, after.Changes, before.Changes)
	}

	heavier := rs120
	heavier.Weight = 5
	if err := reconcile(ctx, f, webSvc, []ipvs.Destination{rs110, heavier}); err != nil {
		t.Fatal(err)
	}
	last := f.Counts()
	if n := last.Changes[ipvs.UpdateDestination] - after.Changes[ipvs.UpdateDestination]; n != 1 || last.Applied()-after.Applied() != 1 {
		t.Errorf("a weight change applied %v, was %v; want one update", last.Changes, after.Changes)
	}
	d, err := f.Destination(ctx, webSvc, heavier.Addr)
	if err != nil || d.Weight != 5 || d.ActiveConns != 11 || d.Stats.Connections != 100 {
		t.Errorf("updated destination %+v, %v: want weight 5 with its counts kept", d, err)
	}
}

// TestFakeFaults: each way of picking requests fails those and no others,
// with the client's error, changing nothing.
func TestFakeFaults(t *testing.T) {
	ctx := context.Background()

	t.Run("Nth", func(t *testing.T) {
		f := fakeWith(t)
		f.Inject(ipvstest.Fault{Nth: 3, Errno: syscall.EBUSY})
		_, err1 := f.Services(ctx)
		_, err2 := f.Info(ctx)
		_, err3 := f.Timeouts(ctx)
		_, err4 := f.Timeouts(ctx)
		if err1 != nil || err2 != nil || err4 != nil {
			t.Errorf("requests 1, 2, 4: %v, %v, %v; want nil", err1, err2, err4)
		}
		wantFault(t, "request 3", err3, "get timeouts", syscall.EBUSY)
	})

	t.Run("OpAndDefaultErrno", func(t *testing.T) {
		f := fakeWith(t)
		remove := f.Inject(ipvstest.Fault{Op: "update destination"})
		err := f.ModifyDestination(ctx, webSvc, rs110.Addr, func(d *ipvs.Destination) error { d.Weight = 9; return nil })
		wantFault(t, "modify", err, "update destination", syscall.EIO)
		if d, _ := f.Destination(ctx, webSvc, rs110.Addr); d.Weight != 1 {
			t.Errorf("a failed update changed the weight to %d", d.Weight)
		}
		if err := f.UpdateService(ctx, webSvc); err != nil {
			t.Errorf("another operation failed: %v", err)
		}
		remove()
		remove()
		if err := f.UpdateDestination(ctx, webSvc, rs110); err != nil {
			t.Errorf("after remove: %v", err)
		}
	})

	t.Run("ServiceAndErrorShape", func(t *testing.T) {
		f := fakeWith(t)
		other := ipvs.Service{FirewallMark: 7}
		if err := f.CreateService(ctx, other); err != nil {
			t.Fatal(err)
		}
		f.Inject(ipvstest.Fault{Service: webSvc.Key(), Errno: syscall.ESRCH})
		_, err := f.Service(ctx, webSvc)
		wantFault(t, "get", err, "get service", syscall.ESRCH)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v does not match fs.ErrNotExist", err)
		}
		if _, err := f.Service(ctx, other); err != nil {
			t.Errorf("another service: %v", err)
		}
		// Table lists the destinations of each service, as the client does.
		_, err = f.Table(ctx)
		wantFault(t, "table", err, "list destinations", syscall.ESRCH)
		if _, err := f.Services(ctx); err != nil {
			t.Errorf("a request naming no service: %v", err)
		}
		// Input is validated before any fault.
		if err := f.DeleteService(ctx, ipvs.Service{Protocol: ipvs.TCP}); !errors.Is(err, ipvs.ErrInvalid) {
			t.Errorf("invalid input: %v, want ErrInvalid", err)
		}
	})

	t.Run("DestinationInABatch", func(t *testing.T) {
		f := fakeWith(t)
		f.Inject(ipvstest.Fault{Destination: rs120.Addr, Errno: syscall.ENOMEM})
		rs130 := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.130:80"), Forward: ipvs.DirectRoute, Weight: 1}
		var b ipvs.Batch
		b.UpdateDestination(webSvc, ipvs.Destination{Addr: rs110.Addr, Forward: ipvs.DirectRoute, Weight: 4})
		b.DeleteDestination(webSvc, rs120)
		b.CreateDestination(webSvc, rs130)
		b.UpdateService(webSvc) // names no destination
		results, err := f.Apply(ctx, &b)
		if err != nil || len(results) != 4 {
			t.Fatalf("apply: %v, %v", results, err)
		}
		if results[0] != nil || results[2] != nil || results[3] != nil {
			t.Errorf("results %v: want only change 1 failed", results)
		}
		wantFault(t, "delete of rs120", results[1], "delete destination", syscall.ENOMEM)
		ds, _ := f.Destinations(ctx, webSvc)
		if len(ds) != 3 {
			t.Errorf("destinations %+v: want rs110, rs120 (its delete failed) and rs130", ds)
		}
		if c := f.Counts(); c.Refused != 1 || c.Changes[ipvs.UpdateDestination] != 1 || c.Changes[ipvs.CreateDestination] != 3 {
			t.Errorf("counts %+v", c)
		}
	})

	t.Run("Match", func(t *testing.T) {
		f := fakeWith(t)
		var seen []string
		f.Inject(ipvstest.Fault{Errno: syscall.EPERM, Match: func(c ipvstest.Call) bool {
			seen = append(seen, c.Op)
			return c.Destination.Weight > 10
		}})
		if err := f.UpdateDestination(ctx, webSvc, ipvs.Destination{Addr: rs110.Addr, Forward: ipvs.DirectRoute, Weight: 5}); err != nil {
			t.Errorf("weight 5: %v", err)
		}
		err := f.UpdateDestination(ctx, webSvc, ipvs.Destination{Addr: rs110.Addr, Forward: ipvs.DirectRoute, Weight: 50})
		wantFault(t, "weight 50", err, "update destination", syscall.EPERM)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%v does not match fs.ErrPermission", err)
		}
		if len(seen) != 2 {
			t.Errorf("the predicate saw %v, want the two updates", seen)
		}
	})

	t.Run("SyncDaemons", func(t *testing.T) {
		f := ipvstest.New(nil)
		f.Inject(ipvstest.Fault{Op: "start sync daemon", Errno: syscall.ENOBUFS,
			Match: func(c ipvstest.Call) bool { return c.SyncDaemon.State == ipvs.SyncBackup }})
		err := f.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo"})
		wantFault(t, "backup", err, "start sync daemon", syscall.ENOBUFS)
		if err := f.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "lo"}); err != nil {
			t.Errorf("master: %v", err)
		}
		if ds, _ := f.SyncDaemons(ctx); len(ds) != 1 {
			t.Errorf("daemons %+v, want the master alone", ds)
		}
	})
}

// TestFakeStats: set counters and connection counts read back everywhere
// the kernel reports them, survive updates, and are reset as the kernel
// resets them.
func TestFakeStats(t *testing.T) {
	ctx := context.Background()
	f := fakeWith(t)
	svcStats := ipvs.Stats{Connections: 10, PacketsIn: 20, PacketsOut: 30, BytesIn: 40, BytesOut: 50, CPS: 1, PPSIn: 2, PPSOut: 3, BPSIn: 4, BPSOut: 5}
	busy := webSvc
	busy.Scheduler = ipvs.RoundRobin // not used: only the key and Stats
	busy.Stats = svcStats
	if err := f.SetServiceStats(busy); err != nil {
		t.Fatal(err)
	}
	load := rs110
	load.Weight = 99 // not used
	load.ActiveConns, load.InactiveConns, load.PersistentConns, load.Stats = 7, 8, 9, ipvs.Stats{Connections: 6, BytesOut: 1000, BPSOut: 10}
	if err := f.SetDestinationStats(webSvc, load); err != nil {
		t.Fatal(err)
	}
	check := func(what string, wantSvc ipvs.Stats, wantConns [3]uint32, wantDest ipvs.Stats) {
		t.Helper()
		s, err := f.Service(ctx, webSvc)
		if err != nil || s.Stats != wantSvc || s.Scheduler != webSvc.Scheduler {
			t.Errorf("%s: service %+v, %v; want stats %+v", what, s, err, wantSvc)
		}
		tb, err := f.Table(ctx)
		if err != nil || len(tb.Services) != 1 || tb.Services[0].Stats != wantSvc {
			t.Fatalf("%s: table %+v, %v", what, tb, err)
		}
		d, err := f.Destination(ctx, webSvc, rs110.Addr)
		got := [3]uint32{d.ActiveConns, d.InactiveConns, d.PersistentConns}
		if err != nil || got != wantConns || d.Stats != wantDest || d.Settings() != rs110.Settings() {
			t.Errorf("%s: destination %+v, %v; want connections %v, stats %+v", what, d, err, wantConns, wantDest)
		}
		var inTable ipvs.Destination
		for _, td := range tb.Services[0].Destinations {
			if td.Addr == rs110.Addr {
				inTable = td
			}
		}
		if inTable != d {
			t.Errorf("%s: the table has %+v, Destination %+v", what, inTable, d)
		}
		if other, _ := f.Destination(ctx, webSvc, rs120.Addr); other != rs120 {
			t.Errorf("%s: the other destination reads %+v", what, other)
		}
	}
	check("set", svcStats, [3]uint32{7, 8, 9}, load.Stats)
	if err := f.UpdateService(ctx, webSvc); err != nil {
		t.Fatal(err)
	}
	if err := f.UpdateDestination(ctx, webSvc, rs110); err != nil {
		t.Fatal(err)
	}
	check("after updates", svcStats, [3]uint32{7, 8, 9}, load.Stats)
	if err := f.ZeroService(ctx, webSvc); err != nil {
		t.Fatal(err)
	}
	check("after ZeroService", ipvs.Stats{}, [3]uint32{7, 8, 9}, ipvs.Stats{})
	if err := errors.Join(f.SetServiceStats(busy), f.SetDestinationStats(webSvc, load), f.ZeroAll(ctx)); err != nil {
		t.Fatal(err)
	}
	check("after ZeroAll", ipvs.Stats{}, [3]uint32{7, 8, 9}, ipvs.Stats{})
	if err := errors.Join(f.SetDestinationStats(webSvc, load), f.DeleteDestination(ctx, webSvc, rs110), f.CreateDestination(ctx, webSvc, rs110)); err != nil {
		t.Fatal(err)
	}
	check("re-created", ipvs.Stats{}, [3]uint32{}, ipvs.Stats{})

	missing := ipvs.Service{Protocol: ipvs.UDP, Addr: webSvc.Addr}
	for what, err := range map[string]error{
		"missing service":     f.SetServiceStats(missing),
		"missing service (d)": f.SetDestinationStats(missing, load),
		"missing destination": f.SetDestinationStats(webSvc, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.99:80")}),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want fs.ErrNotExist", what, err)
		}
	}
	if err := f.SetServiceStats(ipvs.Service{Protocol: ipvs.TCP}); !errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("invalid key: %v, want ErrInvalid", err)
	}
	// An IPv4-mapped address names the destination, as with the kernel.
	if err := f.SetDestinationStats(webSvc, ipvs.Destination{Addr: netip.MustParseAddrPort("[::ffff:10.0.0.120]:80"), ActiveConns: 1}); err != nil {
		t.Errorf("mapped address: %v", err)
	}
}

// TestFakeCounts: calls are counted per method whatever their outcome, and
// changes per command when applied.
func TestFakeCounts(t *testing.T) {
	ctx := context.Background()
	f := ipvstest.New(nil)
	svc := ipvs.Service{FirewallMark: 1}
	f.CreateService(ctx, svc)
	f.CreateService(ctx, svc)            // EEXIST: refused
	f.CreateService(ctx, ipvs.Service{}) // invalid: never reaches the kernel
	f.ModifyService(ctx, svc, func(s *ipvs.Service) error { s.Scheduler = ipvs.RoundRobin; return nil })
	f.Services(ctx)
	var b ipvs.Batch
	b.CreateDestination(svc, ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.1:0"), Forward: ipvs.DirectRoute, Weight: 1})
	b.DeleteService(svc)
	b.DeleteService(svc) // ESRCH
	f.Apply(ctx, &b)
	f.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "lo"})
	c := f.Counts()
	wantCalls := map[string]int{"CreateService": 3, "ModifyService": 1, "Services": 1, "Apply": 1, "StartSyncDaemon": 1}
	wantChanges := map[ipvs.Command]int{ipvs.CreateService: 1, ipvs.UpdateService: 1, ipvs.CreateDestination: 1, ipvs.DeleteService: 1}
	if !maps.Equal(c.Calls, wantCalls) || !maps.Equal(c.Changes, wantChanges) || c.Refused != 2 || c.Applied() != 4 {
		t.Errorf("counts %+v\nwant calls %v, changes %v, 2 refused", c, wantCalls, wantChanges)
	}
	c.Calls["Apply"] = 100
	if f.Counts().Calls["Apply"] != 1 {
		t.Error("changing the returned counts changed the Fake's")
	}
}

// TestFakeSyncDaemonInterfaces: daemons start on lo and on the interfaces
// the Config names, with MaxLength following each one's MTU as the
// kernel's does (seen on Linux 6.1: a dummy link of MTU 1500, lo).
func TestFakeSyncDaemonInterfaces(t *testing.T) {
	ctx := context.Background()
	f := ipvstest.New(&ipvstest.Config{Interfaces: map[string]int{"eth1": 0, "jumbo0": 9000}})
	g6 := netip.MustParseAddr("ff02::81")
	for _, c := range []struct {
		d      ipvs.SyncDaemon
		maxLen uint16
	}{
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth1"}, 1472},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth1", Group: g6}, 1452},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "jumbo0"}, 1472},
		{ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "jumbo0", MaxLength: 1}, 1},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "eth1"}, 1472},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "eth1", Group: g6}, 1452},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "jumbo0"}, 8972},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo"}, 65507},
		{ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "jumbo0", MaxLength: 2000}, 2000},
	} {
		if err := f.StartSyncDaemon(ctx, c.d); err != nil {
			t.Fatalf("%+v: %v", c.d, err)
		}
		ds, err := f.SyncDaemons(ctx)
		if err != nil || len(ds) != 1 || ds[0].MaxLength != c.maxLen {
			t.Errorf("%+v: %+v, %v; want MaxLength %d", c.d, ds, err, c.maxLen)
		}
		if err := f.StopSyncDaemon(ctx, c.d.State); err != nil {
			t.Fatal(err)
		}
	}
	err := f.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth2"})
	wantFault(t, "unknown interface", err, "start sync daemon", syscall.ENODEV)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v does not match fs.ErrNotExist", err)
	}
	if err := f.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncMaster, Interface: "eth1", Group: g6}); err != nil {
		t.Errorf("an IPv6 group off lo: %v", err)
	}
	other := ipvstest.New(&ipvstest.Config{Interfaces: map[string]int{"lo": 1500}})
	if err := other.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: ipvs.SyncBackup, Interface: "lo"}); err != nil {
		t.Fatal(err)
	}
	if ds, _ := other.SyncDaemons(ctx); len(ds) != 1 || ds[0].MaxLength != 1472 {
		t.Errorf("lo set to MTU 1500: %+v", ds)
	}
}
