package director_test

// VRRP pairs on the in-memory kernel: two Directors, each on its own
// directortest.Kernel, speak VRRP over a directortest.VRRPNetwork.

import (
	"context"
	"errors"
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
	if !slices.ContainsFunc(a.vrrpEvents(), func(e director.VRRPEvent) bool {
		return e.Instance == "VI_1" && e.From == vrrp.Backup && e.To == vrrp.Master && e.Priority == 150
	}) {
		t.Errorf("a's reports: %v, want BACKUP -> MASTER", a.vrrpEvents())
	}
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

// TestVRRPTrackInterface: the master's own interface down puts it in
// FAULT and its peer takes over; back up, it preempts again. A tracked
// interface with a weight lowers the priority instead.
func TestVRRPTrackInterface(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	track := "    track: {interfaces: [{name: eth1, weight: -60}]}\n"
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, track, ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)

	a.k.Links.SetLinkUp("eth0", false)
	eventually(t, "a in FAULT", func() bool { return a.state() == vrrp.Fault })
	master(t, b, a)
	if st := a.instance("VI_1"); !slices.Contains(st.Failing, "interface eth0") {
		t.Errorf("a's failing items: %v", st.Failing)
	}
	a.k.Links.SetLinkUp("eth0", true)
	master(t, a, b)

	a.k.Links.SetLinkUp("eth1", false)
	master(t, b, a)
	if st := a.instance("VI_1"); st.EffectivePriority != 90 || st.State != vrrp.Backup || !slices.Equal(st.Failing, []string{"interface eth1"}) {
		t.Errorf("a with eth1 down: %+v", st)
	}
	a.k.Links.SetLinkUp("eth1", true)
	master(t, a, b)
}

// TestVRRPTrackService: a tracked service below its quorum puts the
// master in FAULT, and back at quorum it preempts again.
func TestVRRPTrackService(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "10.0.0.110", true)
	touch(t, dir, "10.0.0.120", true)
	n := directortest.NewVRRPNetwork()
	svc := strings.Replace(healthConf(dir, 2), "  - protocol: tcp\n", "  - name: web\n    protocol: tcp\n", 1)
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "    track: {services: [{name: web}]}\n", svc), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	touch(t, dir, "10.0.0.110", false)
	eventually(t, "a in FAULT", func() bool { return a.state() == vrrp.Fault })
	master(t, b, a)
	if st := a.instance("VI_1"); !slices.Equal(st.Failing, []string{"service web"}) {
		t.Errorf("a's failing items: %v", st.Failing)
	}
	touch(t, dir, "10.0.0.110", true)
	master(t, a, b)
}

// TestVRRPTrackCheck: a tracked check failing lowers the priority by its
// weight.
func TestVRRPTrackCheck(t *testing.T) {
	dir := t.TempDir()
	touch(t, dir, "invalid IP", true) // a command check without an address
	n := directortest.NewVRRPNetwork()
	check := fmt.Sprintf("    track:\n      checks: [{name: file, weight: -100, check: {type: command, command: [%q, %q, %q], interval: 100ms, rise: 1, fall: 1}}]\n",
		exe(t), director.ExistsArg, dir)
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, check, ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	touch(t, dir, "invalid IP", false)
	master(t, b, a)
	if st := a.instance("VI_1"); st.EffectivePriority != 50 || !slices.Equal(st.Failing, []string{"check file"}) {
		t.Errorf("a with its check failing: %+v", st)
	}
	touch(t, dir, "invalid IP", true)
	master(t, a, b)
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
	if !slices.Equal(b.d.Status().Announced, []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")}) {
		t.Errorf("b's Status().Announced = %v", b.d.Status().Announced)
	}
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

// TestVRRPConfigErrors: bad vrrp sections are refused with the field
// named, before anything runs.
func TestVRRPConfigErrors(t *testing.T) {
	// one is an instance: fields (each ", key: value") and the defaults
	// of the keys they do not have.
	one := func(defaults, fields string) string {
		for _, d := range strings.Split(defaults, ";") {
			if !strings.Contains(fields, ", "+strings.Split(d, ":")[0]+":") {
				fields = ", " + d + fields
			}
		}
		return "  - {" + strings.TrimPrefix(fields, ", ") + "}\n"
	}
	const d1, d2 = "name: VI_1;interface: eth0;vrid: 51;vips: [10.0.0.100/24]", "name: VI_2;interface: eth0;vrid: 52;vips: [10.0.0.101/24]"
	inst := func(fields string) string {
		return "allowNoServices: true\nvrrp:\n  instances:\n" + one(d1, fields)
	}
	two := func(a, b string) string {
		return "allowNoServices: true\nvrrp:\n  instances:\n" + one(d1, a) + one(d2, b)
	}
	svc := "services:\n  - {name: web, protocol: tcp, address: 10.0.0.100:80}\n"
	for _, tc := range []struct{ conf, where string }{
		{"allowNoServices: true\nvrrp: {}\n", "vrrp.instances"},
		{inst(", vrid: 0"), "vrrp.instances[0].vrid"},
		{inst(", name: ''"), "vrrp.instances[0].name"},
		{inst(", interface: ''"), "vrrp.instances[0].interface"},
		{inst(", vips: []"), "vrrp.instances[0].vips"},
		{inst(", vips: [224.0.0.1]"), "vrrp.instances[0].vips[0]"},
		{inst(", vips: [10.0.0.1, '2001:db8::1']"), "vrrp.instances[0].vips[1]"},
		{inst(", vips: [{address: 10.0.0.1,interface: 'a b'}]"), "vrrp.instances[0].vips[0].interface"},
		{inst(", version: 4"), "vrrp.instances[0].version"},
		{inst(", version: 2, vips: ['2001:db8::1']"), "vrrp.instances[0].version"},
		{inst(", interval: 0.5"), "vrrp.instances[0].interval"},
		{inst(", interval: 300s"), "vrrp.instances[0].interval"},
		{inst(", version: 3, interval: 5ms"), "vrrp.instances[0].interval"},
		{inst(", version: 3, interval: 41s"), "vrrp.instances[0].interval"},
		{inst(", password: '123456789'"), "vrrp.instances[0].password"},
		{inst(", version: 3, password: secret"), "vrrp.instances[0].password"},
		{inst(", source: 10.0.0.1, peers: [10.0.0.1]"), "vrrp.instances[0].peers[0]"},
		{inst(", peers: ['2001:db8::2']"), "vrrp.instances[0].peers[0]"},
		{inst(", preemptDelay: 2000s"), "vrrp.instances[0].preemptDelay"},
		{inst(", track: {services: [{name: nosuch}]}"), "vrrp.instances[0].track.services[0].name"},
		{inst(", track: {interfaces: [{name: eth1, weight: 300}]}"), "vrrp.instances[0].track.interfaces[0].weight"},
		{inst(", priority: 255, track: {interfaces: [{name: eth1, weight: -10}]}"), "vrrp.instances[0].track.interfaces[0].weight"},
		{inst(", track: {checks: [{name: c, check: {type: tcp}}]}"), "vrrp.instances[0].track.checks[0].address"},
		{inst(", track: {checks: [{name: c, check: {type: tcp, interval: 1ms}, address: '10.0.0.9:80'}]}"), "vrrp.instances[0].track.checks[0].check"},
		{inst(", notify: {master: []}"), "vrrp.instances[0].notify.master"},
		{two("", ", vrid: 51"), "vrrp.instances[1].vrid"},
		{two("", ", name: VI_1"), "vrrp.instances[1].name"},
		{two("", ", vips: [10.0.0.100]"), "vrrp.instances[1].vips[0]"},
		{inst("") + "vips: [{address: 10.0.0.100}]\n", "vrrp.instances[0].vips[0]"},
		{inst("") + "  syncGroups: [{name: G, instances: [VI_9]}]\n", "vrrp.syncGroups[0].instances[0]"},
		{two("", "") + "  syncGroups: [{name: G, instances: [VI_1]}, {name: H, instances: [VI_2, VI_1]}]\n", "vrrp.syncGroups[1].instances[1]"},
		{inst("") + "  syncDaemon: {instance: VI_9, interface: eth0}\n", "vrrp.syncDaemon.instance"},
		{inst("") + "  syncDaemon: {instance: VI_1, interface: eth0}\ncluster: {sync: {interface: eth0}}\n", "vrrp.syncDaemon"},
		{inst("") + "  announceWith: VI_9\n", "vrrp.announceWith"},
		{inst("") + "cluster: {announce: [10.0.0.100/32]}\n", "vrrp.announceWith"},
	} {
		_, err := director.Parse([]byte(tc.conf))
		var ce *director.ConfigError
		if !errors.As(err, &ce) || ce.Where != tc.where || !errors.Is(err, director.ErrInvalid) {
			t.Errorf("%s\n  = %v, want a *ConfigError at %s", tc.conf, err, tc.where)
		} else if ce.Line == 0 {
			t.Errorf("%s\n  = %v, without the line", tc.conf, err)
		}
	}
	// Valid: a service on a VRRP VIP, the address owner, unicast peers, IPv6.
	for _, ok := range []string{
		svc + strings.TrimPrefix(inst(", track: {services: [{name: web, weight: -20}]}"), "allowNoServices: true\n"),
		inst(", priority: 255, track: {interfaces: [{name: eth1}]}"),
		inst(", source: 10.0.0.1, peers: [10.0.0.2], password: secret"),
		inst(", vips: ['2001:db8::100/64'], interval: 20ms"),
		two("", "") + "  syncGroups: [{name: G, instances: [VI_1, VI_2]}]\n  syncDaemon: {instance: VI_1, interface: eth0, both: true}\n",
	} {
		if _, err := director.Parse([]byte(ok)); err != nil {
			t.Errorf("%s\n  = %v", ok, err)
		}
	}
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
	if !slices.ContainsFunc(b.vrrpEvents(), func(e director.VRRPEvent) bool { return e.Instance == "" && e.Group == "G" && e.To == vrrp.Master }) {
		t.Errorf("b's reports: %v, want group G MASTER", b.vrrpEvents())
	}
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
	go func() { done <- d.Run(ctx, parse(t, vrrpConf(100, "", "")), nil, nil) }()
	eventually(t, "the stale VIP removed", func() bool {
		_, addrs, _ := k.Links.State("eth0")
		return !slices.Contains(addrs, vip)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestVRRPWithdraw: Withdraw puts the instances in FAULT, so that the
// peer takes the VIP; Rejoin brings them back, and the master preempts.
func TestVRRPWithdraw(t *testing.T) {
	n := directortest.NewVRRPNetwork()
	a := startNode(t, n, "a", "10.0.0.1", vrrpConf(150, "", ""), nil)
	b := startNode(t, n, "b", "10.0.0.2", vrrpConf(100, "", ""), nil)
	master(t, a, b)
	if err := a.d.Withdraw(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	master(t, b, a)
	if st := a.instance("VI_1"); st.State != vrrp.Fault || !slices.Equal(st.Failing, []string{"withdrawn"}) {
		t.Errorf("withdrawn: %v, failing %v", st.State, st.Failing)
	}
	if err := a.d.Rejoin(stepCtx(t)); err != nil {
		t.Fatal(err)
	}
	master(t, a, b)
}
