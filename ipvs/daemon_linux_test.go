package ipvs

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

func TestSyncDaemons(t *testing.T) {
	vmtest.Require(t, "ip_vs", "veth")
	l := labtest.New(t)
	a, err := l.NewHost("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.NewHost("b")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Link(lab.Port{Host: a, If: "eth0", CIDR: "10.9.0.1/24"}, lab.Port{Host: b, If: "eth0", CIDR: "10.9.0.2/24"}); err != nil {
		t.Fatal(err)
	}
	c, err := New(&Config{NetNS: int(a.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)

	master := SyncDaemon{State: SyncMaster, Interface: "eth0", SyncID: 5}
	if err := c.StartSyncDaemon(ctx, master); err != nil {
		t.Fatal(err)
	}
	backup := SyncDaemon{State: SyncBackup, Interface: "eth0", SyncID: 7, Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 3, MaxLength: 1200}
	if err := c.StartSyncDaemon(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := c.StartSyncDaemon(ctx, master); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second master: err = %v, want fs.ErrExist", err)
	}
	ds, err := c.SyncDaemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[SyncState]SyncDaemon{}
	for _, d := range ds {
		got[d.State] = d
	}
	// The kernel reports its defaults for what the master left zero: group
	// 224.0.0.81, port 8848, TTL 1, and a length derived from the MTU.
	m := got[SyncMaster]
	if m.Interface != "eth0" || m.SyncID != 5 || m.Group != netip.MustParseAddr("224.0.0.81") || m.Port != 8848 || m.TTL != 1 || m.MaxLength == 0 {
		t.Errorf("master read back as %+v", m)
	}
	if got[SyncBackup] != backup {
		t.Errorf("backup read back as %+v, want %+v", got[SyncBackup], backup)
	}
	// ipvsadm reads the same daemons (and the same port byte order).
	out := ipvsadm(t, int(a.NS()), "", "-L", "--daemon")
	for _, want := range []string{
		"master sync daemon (mcast=eth0, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)",
		"backup sync daemon (mcast=eth0, syncid=7, maxlen=1200, group=239.1.2.3, port=9000, ttl=3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ipvsadm -L --daemon lacks %q:\n%s", want, out)
		}
	}
	if err := c.StopSyncDaemon(ctx, SyncMaster); err != nil {
		t.Fatal(err)
	}
	if err := c.StopSyncDaemon(ctx, SyncBackup); err != nil {
		t.Fatal(err)
	}
	if ds, err := c.SyncDaemons(ctx); err != nil || len(ds) != 0 {
		t.Errorf("after stopping both: %+v, %v", ds, err)
	}
	if err := c.StartSyncDaemon(ctx, SyncDaemon{State: SyncMaster, Interface: "nope0"}); err == nil {
		t.Error("a daemon on a missing interface started")
	}
	if err := c.StartSyncDaemon(ctx, SyncDaemon{State: SyncMaster, Interface: "eth0", Group: netip.MustParseAddr("10.0.0.1")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unicast group: err = %v, want ErrInvalid", err)
	}
}
