package director_test

// VRRP pairs on the in-memory kernel: two Directors, each on its own
// directortest.Kernel, speak VRRP over a directortest.VRRPNetwork.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

var vip = netip.MustParsePrefix("10.0.0.100/24")

// vrrpConf is a configuration of one instance VI_1 on eth0 (VRRPv3,
// 100ms adverts) at priority prio; inst is added to the instance, rest to
// the file.
func vrrpConf(prio int, inst, rest string) string {
	return fmt.Sprintf(`allowNoServices: true
vrrp:
  instances:
  - name: VI_1
    interface: eth0
    vrid: 51
    priority: %d
    version: 3
    interval: 100ms
    garp: {repeat: 1, delay: 1s}
    vips: [10.0.0.100/24]
%s%s`, prio, inst, rest)
}

// vrrpNode is a Director running a configuration on its own Kernel.
type vrrpNode struct {
	t      *testing.T
	name   string
	d      *director.Director
	k      *directortest.Kernel
	reload chan *director.Compiled
	cancel context.CancelFunc
	done   chan error
	once   sync.Once

	mu      sync.Mutex
	reports []director.Report
}

// startNode starts a Director called name with source address src on
// eth0 of the network, running conf.
func startNode(t *testing.T, n *directortest.VRRPNetwork, name, src, conf string, opts *director.Options) *vrrpNode {
	t.Helper()
	k := directortest.NewKernel()
	k.IPVS = ipvstest.New(&ipvstest.Config{Interfaces: map[string]int{"eth0": 1500, "eth1": 1500}})
	k.Links.AddLink("eth0", "", true, netip.MustParsePrefix(src+"/24"))
	k.Links.AddLink("eth1", "", true)
	var o director.Options
	if opts != nil {
		o = *opts
	}
	o.VRRP = n.Host(name, netip.MustParseAddr(src))
	d, err := director.New(k.Options(&o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	node := &vrrpNode{t: t, name: name, d: d, k: k, reload: make(chan *director.Compiled), done: make(chan error, 1)}
	c := parse(t, conf)
	ctx, cancel := context.WithCancel(context.Background())
	node.cancel = cancel
	go func() {
		node.done <- d.Run(ctx, c, node.reload, func(r director.Report) {
			node.mu.Lock()
			node.reports = append(node.reports, r)
			node.mu.Unlock()
		})
	}()
	t.Cleanup(node.stop)
	return node
}

// stop ends the node's Run and waits for it.
func (n *vrrpNode) stop() {
	n.once.Do(func() {
		n.cancel()
		select {
		case err := <-n.done:
			if err != nil {
				n.t.Errorf("%s: Run: %v", n.name, err)
			}
		case <-time.After(20 * time.Second):
			n.t.Errorf("%s: Run did not return within 20 s of its context's end", n.name)
		}
	})
}

// holds reports whether the node has the VIP on eth0.
func (n *vrrpNode) holds() bool {
	_, addrs, _ := n.k.Links.State("eth0")
	return slices.Contains(addrs, vip)
}

// instance returns the status of the node's instance name.
func (n *vrrpNode) instance(name string) director.VRRPInstanceStatus {
	for _, s := range n.d.Status().VRRP {
		if s.Name == name {
			return s
		}
	}
	return director.VRRPInstanceStatus{}
}

func (n *vrrpNode) state() vrrp.State { return n.instance("VI_1").State }

// vrrpEvents returns the VRRP state changes reported.
func (n *vrrpNode) vrrpEvents() []director.VRRPEvent {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []director.VRRPEvent
	for _, r := range n.reports {
		if r.VRRP != nil {
			out = append(out, *r.VRRP)
		}
	}
	return out
}

// eventually waits up to 10 seconds (a busy machine) for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// master waits until m is the master holding the VIP and every other
// node a backup without it.
func master(t *testing.T, m *vrrpNode, others ...*vrrpNode) {
	t.Helper()
	eventually(t, m.name+" master, the others backup", func() bool {
		if m.state() != vrrp.Master || !m.holds() {
			return false
		}
		for _, o := range others {
			if o.state() == vrrp.Master || o.holds() {
				return false
			}
		}
		return true
	})
}

// TestVRRPPair: the higher priority is master and alone holds the VIP;
// stopped, its peer takes over at once (priority 0) and it has removed
// the VIP.
func TestVRRPPair(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	st := a.instance("VI_1")
	if st.Priority != 150 || st.EffectivePriority != 150 || st.VRID != 51 || st.Interface != "eth0" || st.Since.IsZero() ||
		st.Stats.AdvertsSent == 0 || st.Stats.Transitions < 2 || st.Stats.LastMasterChange.IsZero() || len(st.Failing) != 0 || st.Err != nil {
		t.Errorf("master's status: %+v", st)
	}
	eventually(t, "the backup to count adverts", func() bool { return b.instance("VI_1").Stats.AdvertsRecvd > 0 })
	if got := n.Announced("a"); len(got) == 0 || got[0] != vip.Addr() {
		t.Errorf("a announced %v, want the VIP", got)
	}
	eventually(t, "a's report of BACKUP -> MASTER", func() bool {
		return slices.ContainsFunc(a.vrrpEvents(), func(e director.VRRPEvent) bool {
			return e.Instance == "VI_1" && e.From == vrrp.Backup && e.To == vrrp.Master && e.Priority == 150
		})
	})
	start := time.Now()
	a.stop()
	if a.holds() {
		t.Error("a stopped still holds the VIP")
	}
	if ev := a.vrrpEvents(); ev[len(ev)-1].To != vrrp.Stopped {
		t.Errorf("a's last report %v, want STOP", ev[len(ev)-1])
	}
	if len(a.d.Status().VRRP) != 0 {
		t.Errorf("Status().VRRP after Run: %v", a.d.Status().VRRP)
	}
	master(t, b, a)
	// Priority 0: the backup waits its skew, not three intervals.
	t.Logf("takeover %v after the stop", time.Since(start))
}

// TestVRRPSplitBrain: partitioned, both become master; joined again,
// the higher priority alone stays master within a few intervals.
func TestVRRPSplitBrain(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	n.Cut("b", true)
	eventually(t, "both master", func() bool { return a.state() == vrrp.Master && b.state() == vrrp.Master && b.holds() })
	n.Cut("b", false)
	master(t, a, b)
}

// TestVRRPNoPreempt: a higher priority with noPreempt leaves a running
// master in place; it takes over when that master stops.
func TestVRRPNoPreempt(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	eventually(t, "b master", func() bool { return b.state() == vrrp.Master })
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "    noPreempt: true\n", ""), nil)
	eventually(t, "a backup", func() bool { return a.state() == vrrp.Backup })
	time.Sleep(time.Second) // ten intervals: it would have preempted
	if a.state() != vrrp.Backup || b.state() != vrrp.Master || a.holds() || !b.holds() {
		t.Fatalf("a %v, b %v: a preempted", a.state(), b.state())
	}
	b.stop()
	master(t, a, b)
}

// TestVRRPSyncDaemon: the sync daemon follows the instance: the master
// daemon on the master, the backup daemon on the backup; with both, the
// two always.
func TestVRRPSyncDaemon(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	sd := "  syncDaemon: {instance: VI_1, interface: eth0, syncID: 7}\n"
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", sd), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", sd), nil)
	c := startNode(t, n, "c", "10.0.0.3", vrrpConf(50, "", strings.Replace(sd, "syncID: 7", "syncID: 7, both: true", 1)), nil)
	master(t, a, b, c)
	daemons := func(n *vrrpNode) []ipvs.SyncState {
		ds, err := n.k.IPVS.SyncDaemons(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []ipvs.SyncState
		for _, d := range ds {
			if d.SyncID != 7 || d.Interface != "eth0" {
				t.Errorf("%s's daemon %+v", n.name, d)
			}
			out = append(out, d.State)
		}
		slices.Sort(out)
		return out
	}
	is := func(n *vrrpNode, want ...ipvs.SyncState) func() bool {
		return func() bool { return slices.Equal(daemons(n), want) }
	}
	defer func() {
		if t.Failed() {
			for _, n := range []*vrrpNode{a, b, c} {
				n.mu.Lock()
				for _, r := range n.reports {
					t.Logf("%s: %+v", n.name, r)
				}
				n.mu.Unlock()
			}
		}
	}()
	eventually(t, "a's master daemon", is(a, ipvs.SyncMaster))
	eventually(t, "b's backup daemon", is(b, ipvs.SyncBackup))
	eventually(t, "c's two daemons", is(c, ipvs.SyncMaster, ipvs.SyncBackup))
	a.stop()
	master(t, b, c)
	eventually(t, "b's master daemon", is(b, ipvs.SyncMaster))
	if !is(c, ipvs.SyncMaster, ipvs.SyncBackup)() {
		t.Errorf("c's daemons %v", daemons(c))
	}
}

// TestVRRPAnnounceWith: with a cluster, Options.Announcer announces only
// while vrrp.announceWith's instance is master.
func TestVRRPAnnounceWith(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	cl := "  announceWith: VI_1\ncluster: {announce: [10.0.0.100/32]}\n"
	aa, ba := &announcer{calls: make(chan string, 16)}, &announcer{calls: make(chan string, 16)}
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", cl), &director.Options{Announcer: aa})
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", cl), &director.Options{Announcer: ba})
	aa.next(t, "announce 10.0.0.100/32")
	master(t, a, b)
	a.k.Links.SetLinkUp("eth0", false)
	aa.next(t, "withdraw 10.0.0.100/32")
	ba.next(t, "announce 10.0.0.100/32")
	eventually(t, "b's Status().Announced", func() bool {
		return slices.Equal(b.d.Status().Announced, []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")})
	})
	a.k.Links.SetLinkUp("eth0", true)
	aa.next(t, "announce 10.0.0.100/32")
	ba.next(t, "withdraw 10.0.0.100/32")
}

// exe is the test binary, a command for checks and notify.
func exe(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVRRPNotify: the state's command runs with the environment, and
// "any" with keepalived's four arguments; the sync group's too; stop on
// Run's end.
func TestVRRPNotify(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/calls"
	rec := fmt.Sprintf("[%q, %q, %q", exe(t), director.RecordArg, file)
	notify := "    notify: {master: " + rec + ", master], stop: " + rec + ", stop], any: " + rec + ", any]}\n"
	conf := vrrpConf(150, notify, "  syncGroups: [{name: G, instances: [VI_1], notify: {any: "+rec+", group]}}]\n")
	n := directortest.NewVRRPNetwork()
	a := startNode(t, n, "a", "10.0.0.1", conf, nil)
	eventually(t, "a master", func() bool { return a.state() == vrrp.Master })
	a.stop()
	want := []string{
		"master\tLVS_EVENT=vrrp_master\tLVS_VRRP_INSTANCE=VI_1\tLVS_VRRP_STATE=MASTER\tLVS_VRRP_PRIORITY=150",
		"any\tINSTANCE\tVI_1\tMASTER\t150\tLVS_EVENT=vrrp_master\tLVS_VRRP_INSTANCE=VI_1\tLVS_VRRP_STATE=MASTER\tLVS_VRRP_PRIORITY=150",
		"group\tGROUP\tG\tMASTER\t0\tLVS_EVENT=vrrp_master\tLVS_VRRP_GROUP=G\tLVS_VRRP_STATE=MASTER\tLVS_VRRP_PRIORITY=0",
		"stop\tLVS_EVENT=vrrp_stop\tLVS_VRRP_INSTANCE=VI_1\tLVS_VRRP_STATE=STOP\tLVS_VRRP_PRIORITY=150",
		"any\tINSTANCE\tVI_1\tSTOP\t150\tLVS_EVENT=vrrp_stop\tLVS_VRRP_INSTANCE=VI_1\tLVS_VRRP_STATE=STOP\tLVS_VRRP_PRIORITY=150",
		"group\tGROUP\tG\tSTOP\t0\tLVS_EVENT=vrrp_stop\tLVS_VRRP_GROUP=G\tLVS_VRRP_STATE=STOP\tLVS_VRRP_PRIORITY=0",
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// The environment in a fixed order: the variables are appended
		// to the director's, in the order the hook gives them.
		f := strings.Split(l, "\t")
		args, env := f, []string(nil)
		if i := slices.IndexFunc(f, func(s string) bool { return strings.HasPrefix(s, "LVS_") }); i >= 0 {
			args, env = f[:i], f[i:]
		}
		slices.Sort(env)
		got = append(got, strings.Join(append(args, env...), "\t"))
	}
	for i := range want {
		f := strings.Split(want[i], "\t")
		i0 := slices.IndexFunc(f, func(s string) bool { return strings.HasPrefix(s, "LVS_") })
		env := f[i0:]
		slices.Sort(env)
		want[i] = strings.Join(append(f[:i0], env...), "\t")
	}
	slices.Sort(got)
	slices.Sort(want)
	// BACKUP at start runs "any" too.
	got = slices.DeleteFunc(got, func(s string) bool { return strings.Contains(s, "BACKUP") })
	if !slices.Equal(got, want) {
		t.Errorf("notify calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestVRRPReload: a reload that leaves an instance as it was (its notify
// and track may change) keeps it running, master; one that changes it
// restarts it, and one without it stops it.
func TestVRRPReload(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	before := a.instance("VI_1").Stats.Transitions
	reload := func(conf string) {
		t.Helper()
		select {
		case a.reload <- parse(t, conf):
		case <-time.After(10 * time.Second):
			t.Fatal("reload not taken")
		}
		if err := a.d.Ping(stepCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	reload(vrrpConf(150, "    track: {interfaces: [{name: eth1, weight: -60}]}\n    notify: {any: [/bin/true]}\n", ""))
	if st := a.instance("VI_1"); st.State != vrrp.Master || st.Stats.Transitions != before {
		t.Errorf("after a reload of track and notify: %v, %d transitions (was %d)", st.State, st.Stats.Transitions, before)
	}
	// The new track applies.
	a.k.Links.SetLinkUp("eth1", false)
	master(t, b, a)
	a.k.Links.SetLinkUp("eth1", true)
	master(t, a, b)
	// A new priority restarts the instance: it gives way, then preempts
	// back as a backup of priority 200.
	reload(vrrpConf(200, "", ""))
	master(t, a, b)
	if st := a.instance("VI_1"); st.Priority != 200 || st.Stats.Transitions > 3 {
		t.Errorf("after a restart: %+v", st)
	}
	reload("allowNoServices: true\n")
	if a.holds() || len(a.d.Status().VRRP) != 0 {
		t.Errorf("without vrrp: holds %v, status %v", a.holds(), a.d.Status().VRRP)
	}
	master(t, b, a)
}

// TestVRRPSyncGroup: a group's instances change state together: one's
// interface down puts the other in FAULT too, and the peer takes both.
func TestVRRPSyncGroup(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	second := `  - name: VI_2
    interface: eth1
    vrid: 52
    priority: %d
    version: 3
    interval: 100ms
    vips: [{address: 10.0.1.100/24, interface: eth1}]
  syncGroups: [{name: G, instances: [VI_1, VI_2]}]
`
	conf := func(prio int) string { return vrrpConf(prio, "", fmt.Sprintf(second, prio)) }
	a := startNode(t, n, "a", "10.0.0.1", conf(150), nil)
	b := startNode(t, n, "b", "10.0.0.2", conf(100), nil)
	state := func(n *vrrpNode, name string) vrrp.State { return n.instance(name).State }
	both := func(m, o *vrrpNode) func() bool {
		return func() bool {
			return state(m, "VI_1") == vrrp.Master && state(m, "VI_2") == vrrp.Master &&
				state(o, "VI_1") != vrrp.Master && state(o, "VI_2") != vrrp.Master
		}
	}
	eventually(t, "a master of both", both(a, b))
	if st := a.instance("VI_2"); st.Group != "G" {
		t.Errorf("VI_2's group %q", st.Group)
	}
	_, addrs, _ := a.k.Links.State("eth1")
	if !slices.Contains(addrs, netip.MustParsePrefix("10.0.1.100/24")) {
		t.Errorf("a's eth1: %v", addrs)
	}
	a.k.Links.SetLinkUp("eth1", false)
	eventually(t, "b master of both", both(b, a))
	if state(a, "VI_1") != vrrp.Fault {
		t.Errorf("a's VI_1 %v, want FAULT with its group", state(a, "VI_1"))
	}
	// Reported once Run's loop has taken both instances' changes.
	eventually(t, "b's report of group G MASTER", func() bool {
		return slices.ContainsFunc(b.vrrpEvents(), func(e director.VRRPEvent) bool { return e.Instance == "" && e.Group == "G" && e.To == vrrp.Master })
	})
	a.k.Links.SetLinkUp("eth1", true)
	eventually(t, "a master of both again", both(a, b))
}

// TestVRRPStaleVIP: a VIP left on the interface (a director killed while
// master) is removed when the instance starts as a backup.
func TestVRRPStaleVIP(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(200, "", ""), nil)
	eventually(t, "b master", func() bool { return b.state() == vrrp.Master })
	k := directortest.NewKernel()
	k.Links.AddLink("eth0", "", true, netip.MustParsePrefix("10.0.0.1/24"), vip)
	d, err := director.New(k.Options(&director.Options{VRRP: n.Host("a", netip.MustParseAddr("10.0.0.1"))}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := parse(t, vrrpConf(100, "", ""))
	go func() { done <- d.Run(ctx, c, nil, nil) }()
	eventually(t, "the stale VIP removed", func() bool {
		_, addrs, _ := k.Links.State("eth0")
		return !slices.Contains(addrs, vip)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestVRRPPairVariants: election and clean-stop takeover with VRRPv2
// unicast peers and a password, and with IPv6.
func TestVRRPPairVariants(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a, b       string
		srcA, srcB string
		vip        string
		insA, insB string
	}{
		{"v2 unicast", "", "", "10.0.0.1", "10.0.0.2", "10.0.0.100/24",
			"    version: 2\n    interval: 1s\n    password: secret\n    peers: [10.0.0.2]\n",
			"    version: 2\n    interval: 1s\n    password: secret\n    peers: [10.0.0.1]\n"},
		{"v3 IPv6", "", "", "fe80::1", "fe80::2", "2001:db8::100/64", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := func(prio int, ins string) string {
				c := vrrpConf(prio, ins, "")
				c = strings.Replace(c, "vips: [10.0.0.100/24]", "vips: ["+tc.vip+"]", 1)
				if strings.Contains(ins, "version: 2") {
					c = strings.Replace(c, "    version: 3\n    interval: 100ms\n", "", 1)
				}
				return c
			}
			n := directortest.NewVRRPNetwork()
			mk := func(name, src string, prio int, ins string) *vrrpNode {
				k := directortest.NewKernel()
				k.Links.AddLink("eth0", "", true)
				d, err := director.New(k.Options(&director.Options{VRRP: n.Host(name, netip.MustParseAddr(src))}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				node := &vrrpNode{t: t, name: name, d: d, k: k, done: make(chan error, 1)}
				ctx, cancel := context.WithCancel(context.Background())
				node.cancel = cancel
				c := parse(t, conf(prio, ins))
				go func() { node.done <- d.Run(ctx, c, nil, nil) }()
				t.Cleanup(node.stop)
				return node
			}
			p := netip.MustParsePrefix(tc.vip)
			has := func(n *vrrpNode) bool {
				_, addrs, _ := n.k.Links.State("eth0")
				return slices.Contains(addrs, p)
			}
			a := mk("a", tc.srcA, 150, tc.insA)
			b := mk("b", tc.srcB, 100, tc.insB)
			eventually(t, "a master", func() bool { return a.state() == vrrp.Master && has(a) && b.state() == vrrp.Backup && !has(b) })
			eventually(t, "b to see a's adverts", func() bool { return b.instance("VI_1").Stats.Master == netip.MustParseAddr(tc.srcA) })
			a.stop()
			eventually(t, "b master", func() bool { return b.state() == vrrp.Master && has(b) && !has(a) })
		})
	}
}

// failingSides fail Listen until ok is set.
type failingSides struct {
	director.VRRPSides
	mu sync.Mutex
	ok bool
}

func (f *failingSides) Listen(cfg *vrrp.Config) (vrrp.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ok {
		return nil, fmt.Errorf("no socket for %s", cfg.Name)
	}
	return f.VRRPSides.Listen(cfg)
}

// TestVRRPOpenFails: an instance whose socket cannot be opened is reported
// once, shown with its error in Status, and started once it can be.
func TestVRRPOpenFails(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	k := directortest.NewKernel()
	k.Links.AddLink("eth0", "", true)
	sides := &failingSides{VRRPSides: n.Host("a", netip.MustParseAddr("10.0.0.1"))}
	d, err := director.New(k.Options(&director.Options{VRRP: sides}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan director.Report, 64)
	done := make(chan error, 1)
	c := parse(t, vrrpConf(150, "", ""))
	go func() { done <- d.Run(ctx, c, nil, func(r director.Report) { reports <- r }) }()
	eventually(t, "the error in Status", func() bool {
		st := d.Status().VRRP
		return len(st) == 1 && st[0].Err != nil
	})
	time.Sleep(2500 * time.Millisecond) // two retries
	errs := 0
	for len(reports) > 0 {
		r := <-reports
		if r.VRRP != nil && r.VRRP.Err != nil && r.Err != nil {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d error reports, want 1", errs)
	}
	sides.mu.Lock()
	sides.ok = true
	sides.mu.Unlock()
	eventually(t, "master", func() bool {
		st := d.Status().VRRP
		return len(st) == 1 && st[0].State == vrrp.Master && st[0].Err == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
