package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/sysctl"
)

// The sync lab: a client linked to the master director d1 (NAT service on
// its own address), d1 linked to the real server rs, and d1 and the backup
// director d2 joined by a veth pair carrying the sync multicast. d2 has the
// same service (as a backup director does), with a route to rs through d1
// so the kernel takes the destination.
var (
	syncVIP  = netip.MustParseAddrPort("192.168.50.1:8080")
	syncRS   = netip.MustParseAddrPort("10.50.0.2:8080")
	syncWait = 10 * time.Second // the note saw 2.1-2.9 s
)

func syncLab() lab.Spec {
	return lab.Spec{
		Hosts: []lab.HostSpec{
			{Name: "client", Routes: []lab.RouteSpec{{Dst: "default", Via: "192.168.50.1"}}},
			{Name: "d1", Sysctls: []lab.SysctlSpec{{Key: "net.ipv4.ip_forward", Value: "1"}}},
			{Name: "d2", Routes: []lab.RouteSpec{{Dst: "10.50.0.0/24", Via: "10.60.0.1"}}},
			{Name: "rs", Routes: []lab.RouteSpec{{Dst: "default", Via: "10.50.0.1"}}},
		},
		Links: []lab.LinkSpec{
			{A: lab.PortSpec{Host: "client", If: "eth0", CIDR: "192.168.50.100/24"}, B: lab.PortSpec{Host: "d1", If: "eth0", CIDR: "192.168.50.1/24"}},
			{A: lab.PortSpec{Host: "d1", If: "eth1", CIDR: "10.60.0.1/24"}, B: lab.PortSpec{Host: "d2", If: "eth1", CIDR: "10.60.0.2/24"}},
			{A: lab.PortSpec{Host: "d1", If: "eth2", CIDR: "10.50.0.1/24"}, B: lab.PortSpec{Host: "rs", If: "eth0", CIDR: "10.50.0.2/24"}},
		},
	}
}

// echoServer accepts TCP connections on addr inside h's namespace and
// echoes what it reads, holding every connection open until the test ends.
func echoServer(t *testing.T, h *lab.Host, addr string) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// holdConns opens n TCP connections from h to the VIP and keeps them open
// until the test ends. With data, each sends a line and reads its echo
// (SYN, ACK, data, ACK: four packets toward the director); without, the
// connection is only the handshake (two packets toward the director). It
// returns the connections' client addresses.
func holdConns(t *testing.T, h *lab.Host, n int, data bool) []netip.AddrPort {
	t.Helper()
	var out []netip.AddrPort
	for i := 0; i < n; i++ {
		var c net.Conn
		err := h.Do(func() (err error) {
			c, err = net.DialTimeout("tcp", syncVIP.String(), 3*time.Second)
			return err
		})
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		if data {
			msg := fmt.Sprintf("hello %d\n", i)
			c.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := io.WriteString(c, msg); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, len(msg))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
				t.Fatalf("echo %q, %v; want %q", buf, err, msg)
			}
		}
		out = append(out, netip.MustParseAddrPort(c.LocalAddr().String()))
	}
	return out
}

// ours reports whether cn is one of the test's connections to the VIP
// through rs, ESTABLISHED, from one of from.
func ours(cn Connection, from []netip.AddrPort) bool {
	return cn.Protocol == TCP && cn.Virtual == syncVIP && cn.Destination == syncRS &&
		cn.State == "ESTABLISHED" && slices.Contains(from, cn.Client)
}

// waitSynced polls c's connection table until every connection from want
// is there, ESTABLISHED and marked as synced, and returns how long that
// took; it fails t after syncWait.
func waitSynced(t *testing.T, c *Client, want []netip.AddrPort) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		conns, err := c.Connections(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []netip.AddrPort
		for _, cn := range conns {
			// An entry that arrived between the two reads of a listing
			// reads as not synced (AllConnections): the next poll has it.
			if ours(cn, want) && cn.Synced {
				got = append(got, cn.Client)
			}
		}
		if len(got) == len(want) {
			return time.Since(start)
		}
		if time.Since(start) > syncWait {
			t.Fatalf("after %v the backup has %v of %v; its table:\n%+v", syncWait, got, want, conns)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSyncReplication: connections through the master director appear in
// the backup's connection table, ESTABLISHED, within the sync period; a
// handshake-only connection does not with the default sync_threshold (3 50)
// and does with 2 50; stopping and starting both daemons works again; what
// the kernel refuses is a typed error.
func TestSyncReplication(t *testing.T) {
	vmtest.Require(t, "ip_vs", "veth")
	l := labtest.Build(t, syncLab())
	client, d1, d2, rs := labtest.Host(t, l, "client"), labtest.Host(t, l, "d1"), labtest.Host(t, l, "d2"), labtest.Host(t, l, "rs")
	echoServer(t, rs, ":8080")
	ctx := ctxT(t)

	var clients []*Client
	for _, d := range []*lab.Host{d1, d2} {
		c, err := New(&Config{NetNS: int(d.NS())})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
		svc := Service{Protocol: TCP, Addr: syncVIP, Scheduler: RoundRobin}
		if err := c.CreateService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		if err := c.CreateDestination(ctx, svc, Destination{Addr: syncRS, Forward: Masquerade, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	master, backup := clients[0], clients[1]
	mcfg := SyncDaemon{State: SyncMaster, Interface: "eth1", SyncID: 9}
	bcfg := SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 9}
	start := func() {
		t.Helper()
		if err := master.StartSyncDaemon(ctx, mcfg); err != nil {
			t.Fatal(err)
		}
		if err := backup.StartSyncDaemon(ctx, bcfg); err != nil {
			t.Fatal(err)
		}
	}
	start()
	t.Cleanup(func() {
		master.StopSyncDaemon(context.Background(), SyncMaster)
		backup.StopSyncDaemon(context.Background(), SyncBackup)
	})

	// Round 1: a handshake-only connection first, then three with data.
	bare := holdConns(t, client, 1, false)
	withData := holdConns(t, client, 3, true)
	took := waitSynced(t, backup, withData)
	t.Logf("round 1: %v synced to the backup in %v", withData, took)
	if n := countOn(t, master, withData); n != 3 {
		t.Errorf("the master holds %d of its 3 connections", n)
	}
	masterConns, err := master.Connections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, cn := range masterConns {
		if cn.Synced {
			t.Errorf("the master's own entry %+v is marked as synced", cn)
		}
	}
	if n := countOn(t, backup, bare); n != 0 {
		t.Errorf("a handshake-only connection was synced with the default sync_threshold (3 50)")
	}

	// What the kernel refuses, typed.
	if err := master.StartSyncDaemon(ctx, mcfg); !errors.Is(err, fs.ErrExist) || !errors.Is(err, syscall.EEXIST) {
		t.Errorf("a second master: %v, want fs.ErrExist (EEXIST)", err)
	}
	if err := backup.StartSyncDaemon(ctx, bcfg); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a second backup: %v, want fs.ErrExist", err)
	}
	if err := backup.StopSyncDaemon(ctx, SyncMaster); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("stopping a master that is not running: %v, want fs.ErrNotExist (ESRCH)", err)
	}
	if err := startMasterOn(ctx, backup, "nope0"); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENODEV) {
		t.Errorf("a master on an unknown interface: %v, want fs.ErrNotExist (ENODEV)", err)
	}
	if err := backup.StartSyncDaemon(ctx, SyncDaemon{State: SyncMaster, Interface: "eth1", SyncID: 256}); !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("syncid 256: %v, want ErrInvalid", err)
	}
	if ds, err := backup.SyncDaemons(ctx); err != nil || len(ds) != 1 || ds[0] != (SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 9, MaxLength: ds[0].MaxLength, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}) {
		t.Errorf("after the refusals the backup runs %+v, %v; want only its backup daemon", ds, err)
	}

	// Stop both roles: nothing runs; stopping again is fs.ErrNotExist.
	if err := master.StopSyncDaemon(ctx, SyncMaster); err != nil {
		t.Fatal(err)
	}
	if err := backup.StopSyncDaemon(ctx, SyncBackup); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if ds, err := c.SyncDaemons(ctx); err != nil || len(ds) != 0 {
			t.Errorf("d%d after stopping: %+v, %v", i+1, ds, err)
		}
	}
	if err := master.StopSyncDaemon(ctx, SyncMaster); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stopping the stopped master: %v, want fs.ErrNotExist", err)
	}

	// Round 2: restarted, with sync_threshold 2 50 on the master, so that
	// handshake-only connections are synced too.
	sc, err := sysctl.New(&sysctl.Config{NetNS: int(d1.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	threshold := sysctl.Key("net.ipv4.vs.sync_threshold")
	undo, err := sc.Apply(ctx, sysctl.Setting{Key: threshold, Value: "2 50"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sc.Restore(context.Background(), undo); err != nil {
			t.Error(err)
		}
	}()
	if len(undo) != 1 || undo[0].Value != "3\t50" {
		t.Errorf("sync_threshold was %q, want the default 3 50", undo)
	}
	start()
	round2 := append(holdConns(t, client, 2, false), holdConns(t, client, 2, true)...)
	took = waitSynced(t, backup, round2)
	t.Logf("round 2 (restarted, sync_threshold 2 50): %v synced in %v", round2, took)
}

// countOn counts c's ESTABLISHED connections from the given clients.
func countOn(t *testing.T, c *Client, from []netip.AddrPort) int {
	t.Helper()
	conns, err := c.Connections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, cn := range conns {
		if ours(cn, from) {
			n++
		}
	}
	return n
}

// startMasterOn starts a master daemon on the interface ifname.
func startMasterOn(ctx context.Context, c *Client, ifname string) error {
	return c.StartSyncDaemon(ctx, SyncDaemon{State: SyncMaster, Interface: ifname, SyncID: 9})
}
