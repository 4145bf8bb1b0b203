package director_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/vrrp"
)

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
