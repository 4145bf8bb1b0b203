package keepalived

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
)

// TestVRRPCorpus imports the keepalived VRRP configurations of
// testdata/vrrp and compares the notes and the Config (its vrrp section
// included) with the golden files (go test -update rewrites them).
func TestVRRPCorpus(t *testing.T) {
	confs, err := filepath.Glob("testdata/vrrp/*.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(confs) < 8 {
		t.Fatalf("%d configurations in testdata/vrrp, want 8", len(confs))
	}
	for _, path := range confs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got, services := golden(t, path)
			if services == 0 {
				t.Errorf("no service carried over")
			}
			gold := path[:len(path)-len(".conf")] + ".yaml"
			if *update {
				if err := os.WriteFile(gold, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gold)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("differs from %s (go test -update rewrites it):\n%s", gold, got)
			}
		})
	}
}

// vrrpOf imports src (with a service, so that the import succeeds) and
// returns its vrrp section, nil if none, and the notes.
func vrrpOf(t *testing.T, src string) (*director.VRRP, []Note) {
	t.Helper()
	cfg, notes := imp(t, src+"\n"+oneService, nil)
	return cfg.VRRP, notes
}

// instance is the instance named name, failing the test if there is none.
func instance(t *testing.T, v *director.VRRP, name string) director.VRRPInstance {
	t.Helper()
	if v != nil {
		for _, in := range v.Instances {
			if in.Name == name {
				return in
			}
		}
	}
	t.Fatalf("no instance %s in %+v", name, v)
	return director.VRRPInstance{}
}

// TestVRRPPair: the two sides of a classic pair differ only by priority,
// and the sync daemon follows the instance it names.
func TestVRRPPair(t *testing.T) {
	want := director.VRRPInstance{
		Name: "VI_1", Interface: "eth0", VRID: 51, Priority: 150, Version: 2, Interval: time.Second,
		Password: "s3cretpa",
		GARP:     &director.VRRPGARP{Repeat: 3, Delay: 10 * time.Second},
		VIPs:     []director.VRRPAddress{{Address: netip.MustParsePrefix("192.0.2.100/24")}, {Address: netip.MustParsePrefix("192.0.2.101/24")}},
		Notify: &director.VRRPNotify{Master: []string{"/etc/keepalived/notify.sh", "MASTER", "VI_1"},
			Backup: []string{"/etc/keepalived/notify.sh"}, Any: []string{"/etc/keepalived/any.sh"}},
	}
	for _, side := range []string{"master", "backup"} {
		cfg, notes, err := ImportFile("testdata/vrrp/pair-"+side+".conf", nil)
		if err != nil {
			t.Fatal(err)
		}
		w := want
		if side == "backup" {
			w.Priority = 100
		}
		if cfg.VRRP == nil || len(cfg.VRRP.Instances) != 1 || !reflect.DeepEqual(cfg.VRRP.Instances[0], w) {
			t.Errorf("%s: vrrp %+v, want the instance\n%+v", side, cfg.VRRP, w)
			continue
		}
		sd := &director.VRRPSyncDaemon{Instance: "VI_1", Sync: director.Sync{Interface: "eth1", SyncID: 51}}
		if !reflect.DeepEqual(cfg.VRRP.SyncDaemon, sd) || cfg.Cluster != nil {
			t.Errorf("%s: sync daemon %+v and cluster %+v, want %+v and no cluster", side, cfg.VRRP.SyncDaemon, cfg.Cluster, sd)
		}
		wantNote(t, notes, "pair-"+side+".conf:21: vrrp_instance VI_1: virtual_ipaddress: 192.0.2.100: label not carried over")
		wantNote(t, notes, "pair-"+side+".conf:18: vrrp_instance VI_1: authentication: auth_pass: longer than 8 bytes")
		if hasNote(notes, "s3cretpass") {
			t.Errorf("a note shows the password:\n%s", notesText(notes))
		}
	}
}

// TestVRRPPriority: keepalived's default priority is 100, and 255 (the
// address owner) for an instance with state MASTER and no priority.
func TestVRRPPriority(t *testing.T) {
	for _, tc := range []struct {
		lines string
		want  uint8
		note  string
	}{
		{"", 100, ""},
		{"state BACKUP", 100, ""},
		{"state MASTER", 255, "state: MASTER without a priority: keepalived makes the instance the address owner, priority 255"},
		{"state MASTER\npriority 101", 101, ""},
		{"priority 255", 255, "priority: 255 makes the instance the address owner"},
		{"priority 0", 100, "priority: priority 0 is not 1-255: 100"},
		{"priority 256", 100, "priority: priority 256 is not 1-255: 100"},
	} {
		v, notes := vrrpOf(t, "vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n"+tc.lines+"\n}")
		if got := instance(t, v, "VI").Priority; got != tc.want {
			t.Errorf("%q: priority %d, want %d", tc.lines, got, tc.want)
		}
		if tc.note != "" {
			wantNote(t, notes, tc.note)
		}
	}
}

// TestVRRPVersion: vrrp_version sets the IPv4 instances' version, IPv6 is
// version 3, and an IPv6 instance keepalived would run as version 2 is
// left out.
func TestVRRPVersion(t *testing.T) {
	for _, tc := range []struct {
		global, lines, vip string
		want               uint8 // 0: not carried
		note               string
	}{
		{"", "", "10.0.0.1", 2, ""},
		{"vrrp_version 3", "", "10.0.0.1", 3, ""},
		{"vrrp_version 3", "version 2", "10.0.0.1", 2, ""},
		{"", "", "2001:db8::1", 3, ""},
		{"vrrp_version 2", "", "2001:db8::1", 3, ""},
		{"", "version 2", "2001:db8::1", 0, "not carried over (IPv6 with version 2"},
		{"vrrp_strict", "version 2", "2001:db8::1", 3, "version: 2 with IPv6: version 3, as keepalived's strict mode sets it"},
		{"", "native_ipv6\nversion 2", "2001:db8::1", 3, "version: version 2 conflicts with the version already set or deduced, ignored"},
		{"vrrp_version 4", "", "10.0.0.1", 2, "vrrp_version: 4 is not 2 or 3, ignored"},
	} {
		src := "global_defs {\n" + tc.global + "\n}\nvrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\n" + tc.lines + "\nvirtual_ipaddress {\n" + tc.vip + "\n}\n}"
		v, notes := vrrpOf(t, src)
		if tc.want == 0 {
			if v != nil {
				t.Errorf("%q %q: carried as %+v", tc.global, tc.lines, v)
			}
		} else if got := instance(t, v, "VI").Version; got != tc.want {
			t.Errorf("%q %q: version %d, want %d", tc.global, tc.lines, got, tc.want)
		}
		if tc.note != "" {
			wantNote(t, notes, tc.note)
		}
	}
}

// TestVRRPInterval: advert_int is whole seconds in version 2 and
// centiseconds in version 3, rounded as keepalived rounds it.
func TestVRRPInterval(t *testing.T) {
	for _, tc := range []struct {
		version, interval string
		want              time.Duration
	}{
		{"2", "", time.Second},
		{"2", "3", 3 * time.Second},
		{"2", "0.5", time.Second},
		{"2", "1.5", 2 * time.Second},
		{"3", "0.5", 500 * time.Millisecond},
		{"3", "0.255", 260 * time.Millisecond},
		{"3", "50", 40950 * time.Millisecond},
		{"3", "0.001", time.Second}, // below 0.01: ignored, as keepalived does
	} {
		src := "vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\nversion " + tc.version + "\nvirtual_ipaddress {\n10.0.0.1\n}\n"
		if tc.interval != "" {
			src += "advert_int " + tc.interval + "\n"
		}
		v, _ := vrrpOf(t, src+"}")
		if got := instance(t, v, "VI").Interval; got != tc.want {
			t.Errorf("version %s, advert_int %s: %v, want %v", tc.version, tc.interval, got, tc.want)
		}
	}
}

// TestVRRPRefused: what keepalived refuses, or the director would, is
// left out with a note naming the instance's line.
func TestVRRPRefused(t *testing.T) {
	cfg, notes, err := ImportFile("testdata/vrrp/refused.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range cfg.VRRP.Instances {
		names = append(names, in.Name)
	}
	if want := []string{"FIRST", "OTHERIF", "MIXED"}; !reflect.DeepEqual(names, want) {
		t.Errorf("instances carried %v, want %v", names, want)
	}
	for _, want := range []string{
		"refused.conf:3: vrrp_instance AH: not carried over (auth_type AH",
		"refused.conf:23: vrrp_instance SAMEVRID: not carried over (VRID 2 on interface eth0 is FIRST's too (line 15)",
		"refused.conf:39: vrrp_instance NOVRID: not carried over (no virtual_router_id",
		"refused.conf:47: vrrp_instance NOIF: not carried over (no interface",
		"refused.conf:54: vrrp_instance NOVIP: not carried over (no virtual_ipaddress",
		"refused.conf:64: vrrp_instance MIXED: virtual_ipaddress: virtual address 2001:db8::8 is not of the instance's family",
		"refused.conf:69: vrrp_instance FIRST: not carried over (defined again",
	} {
		wantNote(t, notes, want)
	}
	if mixed := instance(t, cfg.VRRP, "MIXED"); len(mixed.VIPs) != 2 || mixed.VIPs[1].Address != netip.MustParsePrefix("192.0.2.9/32") {
		t.Errorf("MIXED's VIPs %v, want 192.0.2.8/24 and 192.0.2.9/32", mixed.VIPs)
	}
}

// TestVRRPTrack: keepalived's weights carried as the director's, a
// vrrp_script as a command check; the address owner and sync group
// members lose their weighted tracking as in keepalived.
func TestVRRPTrack(t *testing.T) {
	cfg, notes, err := ImportFile("testdata/vrrp/track.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	vt := instance(t, cfg.VRRP, "VI_T")
	wantIf := []director.VRRPTrackItem{{Name: "eth1"}, {Name: "eth2", Weight: -20}, {Name: "eth3", Weight: 253}}
	if vt.Track == nil || !reflect.DeepEqual(vt.Track.Interfaces, wantIf) || len(vt.Track.Checks) != 2 {
		t.Fatalf("VI_T tracks %+v, want interfaces %+v and two checks", vt.Track, wantIf)
	}
	web := vt.Track.Checks[0]
	wantWeb := director.Check{Spec: &check.Command{Argv: []string{"/usr/bin/curl", "-fsS", "http://127.0.0.1/health"}},
		Interval: 3 * time.Second, Timeout: 3 * time.Second, Rise: 1, Fall: 2}
	if web.Name != "chk_web" || web.Weight != 10 || !reflect.DeepEqual(*web.Check, wantWeb) {
		t.Errorf("chk_web tracked as %+v %+v, want weight 10 and %+v", web, web.Check, wantWeb)
	}
	db := vt.Track.Checks[1]
	if db.Name != "chk_db" || db.Weight != -40 || !reflect.DeepEqual(db.Check.Spec, &check.Command{Argv: []string{"/bin/sh", "-c", "</dev/tcp/127.0.0.1/5432"}}) {
		t.Errorf("chk_db tracked as %+v %+v, want weight -40 (the instance's) run with /bin/sh -c", db, db.Check.Spec)
	}
	owner := instance(t, cfg.VRRP, "VI_OWNER")
	if owner.NoPreempt || owner.Track == nil || !reflect.DeepEqual(owner.Track.Interfaces, []director.VRRPTrackItem{{Name: "eth3"}}) || len(owner.Track.Checks) != 0 {
		t.Errorf("VI_OWNER: nopreempt %v, tracks %+v; want preempting, tracking eth3 alone", owner.NoPreempt, owner.Track)
	}
	wantNote(t, notes, "track.conf:38: vrrp_instance VI_T: track_script: chk_flip: not carried over (reverse weights")
	wantNote(t, notes, "track.conf:39: vrrp_instance VI_T: track_script: chk_missing: not carried over (no vrrp_script of that name")
	wantNote(t, notes, "track.conf:52: vrrp_instance VI_OWNER: track_interface: eth2: not carried over (keepalived ignores weighted tracking on the address owner")

	cfg, notes, err = ImportFile("testdata/vrrp/sync-notify.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	ext := instance(t, cfg.VRRP, "EXT")
	if ext.Track == nil || !reflect.DeepEqual(ext.Track.Interfaces, []director.VRRPTrackItem{{Name: "eth3"}, {Name: "eth2", Weight: -10}}) ||
		len(ext.Track.Checks) != 1 || ext.Track.Checks[0].Name != "chk_ok" {
		t.Errorf("EXT tracks %+v, want eth3 unweighted, the group's eth2 and chk_ok", ext.Track)
	}
	wantNote(t, notes, "sync-notify.conf:49: vrrp_instance EXT: track_script: chk_haproxy: not carried over (keepalived ignores weighted tracking on a member of a sync group")
	wantNote(t, notes, "sync-notify.conf:52: vrrp_instance EXT: track_interface: eth3: weight -5 ignored")
}

// TestVRRPSyncGroup: a sync group's members and notify commands, split
// into words as keepalived splits them.
func TestVRRPSyncGroup(t *testing.T) {
	cfg, notes, err := ImportFile("testdata/vrrp/sync-notify.conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []director.VRRPSyncGroup{{Name: "G1", Instances: []string{"EXT", "INT"}, Notify: &director.VRRPNotify{
		Master: []string{"/usr/local/bin/group.sh", "master"}, Backup: []string{"/usr/local/bin/group.sh", "backup"},
		Fault: []string{"/usr/local/bin/group.sh", "fault"}, Stop: []string{"/usr/local/bin/group.sh", "stop"},
		Any: []string{"/usr/local/bin/group-any.sh", "two words"}}}}
	if !reflect.DeepEqual(cfg.VRRP.SyncGroups, want) {
		t.Errorf("sync groups %+v, want %+v", cfg.VRRP.SyncGroups, want)
	}
	wantNote(t, notes, "sync-notify.conf:36: vrrp_sync_group G2: group: INT: already in vrrp_sync_group G1")
	wantNote(t, notes, "sync-notify.conf:37: vrrp_sync_group G2: group: NOSUCH: no vrrp_instance of that name")
	wantNote(t, notes, "sync-notify.conf:34: vrrp_sync_group G2: not carried over (none of its instances is")
}

// TestVRRPSyncDaemonFollows: lvs_sync_daemon naming a carried instance is
// vrrp.syncDaemon, its id that instance's VRID unless given; naming no
// instance, cluster.sync (both daemons, as keepalived runs them); naming
// an instance that does not exist, nothing, as keepalived clears it.
func TestVRRPSyncDaemonFollows(t *testing.T) {
	inst := "vrrp_instance VI_1 {\ninterface eth0\nvirtual_router_id 42\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n"
	cfg, notes := imp(t, "global_defs {\nlvs_sync_daemon eth1 VI_1 port 8849\n}\n"+inst+oneService, nil)
	want := &director.VRRPSyncDaemon{Instance: "VI_1", Sync: director.Sync{Interface: "eth1", SyncID: 42, Port: 8849}}
	if cfg.VRRP == nil || !reflect.DeepEqual(cfg.VRRP.SyncDaemon, want) || cfg.Cluster != nil {
		t.Errorf("vrrp %+v, cluster %+v; want the sync daemon %+v alone", cfg.VRRP, cfg.Cluster, want)
	}
	wantNote(t, notes, "keepalived.conf:2: global_defs: lvs_sync_daemon: carried as vrrp.syncDaemon {instance: VI_1, interface: eth1, syncID: 42, port: 8849}")
	wantNote(t, notes, "keepalived.conf:1: global_defs: not carried over (except lvs_sync_daemon, carried as vrrp.syncDaemon)")

	// Without an instance, keepalived runs both daemons always: so does
	// vrrp.syncDaemon with both; without a vrrp section, cluster.sync.
	cfg, notes = imp(t, "global_defs {\nlvs_sync_daemon eth1\n}\n"+inst+oneService, nil)
	want = &director.VRRPSyncDaemon{Instance: "VI_1", Both: true, Sync: director.Sync{Interface: "eth1"}}
	if cfg.Cluster != nil || !reflect.DeepEqual(cfg.VRRP.SyncDaemon, want) {
		t.Errorf("without an instance: cluster %+v, vrrp sync daemon %+v; want %+v", cfg.Cluster, cfg.VRRP.SyncDaemon, want)
	}
	wantNote(t, notes, "carried as vrrp.syncDaemon {instance: VI_1, both: true, interface: eth1}: the master and backup daemons always (as keepalived runs them without an instance)")
	cfg, _ = imp(t, "global_defs {\nlvs_sync_daemon eth1\n}\n"+oneService, nil)
	if cfg.Cluster == nil || cfg.Cluster.Sync == nil || cfg.VRRP != nil {
		t.Errorf("without VRRP: cluster %+v, vrrp %+v; want cluster.sync", cfg.Cluster, cfg.VRRP)
	}

	cfg, notes = imp(t, "global_defs {\nlvs_sync_daemon eth1 inst VI_9\n}\n"+inst+oneService, nil)
	if cfg.Cluster != nil || cfg.VRRP.SyncDaemon != nil {
		t.Errorf("with an instance that does not exist: cluster %+v, vrrp sync daemon %+v; want neither", cfg.Cluster, cfg.VRRP.SyncDaemon)
	}
	wantNote(t, notes, "lvs_sync_daemon: not carried over (no vrrp_instance VI_9: keepalived clears lvs_sync_daemon)")
}

// TestVRRPAddresses: virtual_ipaddress' dev is the VIP's interface,
// virtual_ipaddress_excluded goes to excludedVIPs (of either family), a
// duplicate is carried once with a note, and the words the director has
// no counterpart of are noted.
func TestVRRPAddresses(t *testing.T) {
	v, notes := vrrpOf(t, `vrrp_instance VI {
interface eth0
virtual_router_id 1
virtual_ipaddress {
10.0.0.1/24 dev eth0
10.0.0.2/24 dev eth1 scope link
10.0.0.1
}
virtual_ipaddress_excluded {
2001:db8::1/64 dev eth1
10.0.0.3
}
}`)
	in := instance(t, v, "VI")
	wantVIPs := []director.VRRPAddress{{Address: netip.MustParsePrefix("10.0.0.1/24")}, {Address: netip.MustParsePrefix("10.0.0.2/24"), Interface: "eth1"}}
	wantEx := []director.VRRPAddress{{Address: netip.MustParsePrefix("2001:db8::1/64"), Interface: "eth1"}, {Address: netip.MustParsePrefix("10.0.0.3/32")}}
	if !reflect.DeepEqual(in.VIPs, wantVIPs) || !reflect.DeepEqual(in.ExcludedVIPs, wantEx) {
		t.Errorf("VIPs %v, excluded %v; want %v, %v", in.VIPs, in.ExcludedVIPs, wantVIPs, wantEx)
	}
	wantNote(t, notes, "keepalived.conf:6: vrrp_instance VI: virtual_ipaddress: 10.0.0.2: scope not carried over")
	wantNote(t, notes, "keepalived.conf:7: vrrp_instance VI: virtual_ipaddress: 10.0.0.1 listed twice: carried once", "expected 3 VIPs")
}

// TestVRRPNotesShowNoContent: a file of secrets included in a VRRP block
// is not shown by the notes, nor is a password.
func TestVRRPNotesShowNoContent(t *testing.T) {
	_, notes := vrrpOf(t, `vrrp_instance VI {
interface eth0
virtual_router_id 1
virtual_ipaddress {
10.0.0.1
root:$6$Salt1234$HASHVALUE
}
unicast_peer {
alice:$6$Salt9$ANOTHERHASH
}
root:$6$Salt1234$HASHVALUE:19000
authentication {
auth_type PASS
auth_pass TOPSECRETPASSWORD
}
}`)
	text := notesText(notes)
	for _, secret := range []string{"HASHVALUE", "Salt1234", "ANOTHERHASH", "TOPSECRET"} {
		if strings.Contains(text, secret) {
			t.Errorf("the notes show %q:\n%s", secret, text)
		}
	}
}

// TestVRRPBounded: sync groups' tracking copied to every member is
// bounded (a *LimitError past it), and large blocks are read in linear
// time.
func TestVRRPBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("vrrp_sync_group G {\ngroup {\n")
	for i := range 1 << 11 {
		fmt.Fprintf(&b, "VI%d\n", i)
	}
	b.WriteString("}\ntrack_interface {\n")
	for i := range 1 << 10 {
		fmt.Fprintf(&b, "if%d\n", i)
	}
	b.WriteString("}\n}\n")
	for i := range 1 << 11 {
		fmt.Fprintf(&b, "vrrp_instance VI%d {\ninterface eth%d\nvirtual_router_id 1\nvirtual_ipaddress {\n10.0.0.1\n}\n}\n", i, i)
	}
	_, _, err := Import(strings.NewReader(b.String()+oneService), nil)
	var le *LimitError
	if !errors.As(err, &le) || !strings.Contains(le.Limit, "tracked by sync groups") {
		t.Errorf("error %v, want a *LimitError on the sync groups' tracking", err)
	}

	// One instance with 50,000 VIPs, peers and tracked interfaces.
	b.Reset()
	b.WriteString("vrrp_instance VI {\ninterface eth0\nvirtual_router_id 1\nvirtual_ipaddress_excluded {\n")
	for i := range 50000 {
		fmt.Fprintf(&b, "10.%d.%d.1\n", i>>8, i&255)
	}
	b.WriteString("}\nvirtual_ipaddress {\n10.0.0.1\n}\nunicast_peer {\n")
	for i := range 50000 {
		fmt.Fprintf(&b, "10.%d.%d.2\n", i>>8, i&255)
	}
	b.WriteString("}\ntrack_interface {\n")
	for i := range 50000 {
		fmt.Fprintf(&b, "if%d\n", i)
	}
	b.WriteString("}\n}\n")
	start := time.Now()
	v, _ := vrrpOf(t, b.String())
	if in := instance(t, v, "VI"); len(in.ExcludedVIPs) != 49999 || len(in.Peers) != 50000 || len(in.Track.Interfaces) != 50000 {
		t.Errorf("%d excluded VIPs, %d peers, %d tracked interfaces; want 49,999 (the first is a VIP), 50,000 and 50,000", len(in.ExcludedVIPs), len(in.Peers), len(in.Track.Interfaces))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}
