package director

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// TestQuorumAndNotify: a service with quorum 2 of 2 goes down when rs1's
// check fails: both real servers are quiesced and the sorry server (rs2 on
// port 88) takes the traffic; it comes back when rs1 recovers. Each real
// server and quorum change is a Report and runs its Notify command, inside
// the director's namespace, with the documented environment.
func TestQuorumAndNotify(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "veth", "bridge")
	l := labtest.Build(t, natWithout(lab.RS1))
	dir, client, rs1 := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client), labtest.Host(t, l, lab.RS1)
	serve := pageServer(t, rs1, "rs1")
	stop := serve()
	d, err := New(&Options{NetNS: int(dir.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	out := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Each command (this test binary, see writeHookEnv) appends its event's
	// environment, and the namespace it ran in, to a file of its own.
	hook := func(name string) string {
		return fmt.Sprintf("[%q, %q, %q]", self, hookArg, filepath.Join(out, name))
	}
	cfg := mustConfig(t, fmt.Sprintf(`
services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    quorum: 2
    check: {type: http, path: /, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}
    sorryServer: {address: 10.0.0.120:88, forward: nat}
    notify: {realServerUp: %s, realServerDown: %s, quorumUp: %s, quorumDown: %s}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`, hook("rs-up"), hook("rs-down"), hook("q-up"), hook("q-down")))
	waitFor := runDirector(t, d, cfg, nil).waitFor
	waitFor("the first apply", func(r Report) bool { return r.Plan != nil })
	if got := get(t, client, 4); got["rs1"] != 2 || got["rs2"] != 2 {
		t.Fatalf("answers %v before the failure", got)
	}
	var ns string
	if err := dir.Do(func() (err error) { ns, err = os.Readlink("/proc/thread-self/ns/net"); return }); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		t.Helper()
		var b []byte
		for end := time.Now().Add(10 * time.Second); len(b) == 0 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			b, _ = os.ReadFile(filepath.Join(out, name))
		}
		return strings.TrimSpace(string(b))
	}

	stop()
	q := waitFor("the quorum lost", func(r Report) bool { return r.Quorum != nil }).Quorum
	if q.Up || q.InService != 1 || q.Quorum != 2 || q.Service != "TCP  10.0.0.8:80" {
		t.Errorf("quorum event %+v", q)
	}
	r := waitFor("the plan below quorum", func(r Report) bool { return r.Plan != nil })
	t.Logf("below quorum:\n%s", r.Plan)
	if st := d.Status(); len(st.BelowQuorum) != 1 || st.BelowQuorum[0].Addr.Port() != 80 {
		t.Errorf("Status().BelowQuorum = %v", st.BelowQuorum)
	}
	ds, err := d.IPVS().Destinations(ctxT(t), ipvs.Service{Protocol: ipvs.TCP, Addr: cfg.Services[0].Address})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]int{}
	for _, dst := range ds {
		weights[dst.Addr.String()] = dst.Weight
	}
	if len(weights) != 3 || weights["10.0.0.110:80"] != 0 || weights["10.0.0.120:80"] != 0 || weights["10.0.0.120:88"] != 1 {
		t.Errorf("below quorum the kernel has %v, want both real servers at 0 and the sorry server at 1", weights)
	}
	if got := get(t, client, 3); len(got) != 1 || got["rs2"] != 3 {
		t.Errorf("answers below quorum %v, want the sorry server (rs2's :88 page) only", got)
	}
	if got, want := read("rs-down"), "realserver_down tcp 10.0.0.8:80|web|10.0.0.110:80|/|"+ns; got != want {
		t.Errorf("realServerDown ran with\n%q, want\n%q", got, want)
	}
	if got, want := read("q-down"), "quorum_down tcp 10.0.0.8:80|web|:|1/2|"+ns; got != want {
		t.Errorf("quorumDown ran with\n%q, want\n%q", got, want)
	}

	stop = serve()
	defer stop()
	q = waitFor("the quorum back", func(r Report) bool { return r.Quorum != nil }).Quorum
	if !q.Up || q.InService != 2 {
		t.Errorf("quorum event %+v", q)
	}
	r = waitFor("the plan back up", func(r Report) bool { return r.Plan != nil })
	t.Logf("back up:\n%s", r.Plan)
	// Four new connections split between rs1 and rs2. A connection that
	// gets no answer is logged with the kernel's connection table (seen
	// once under the race detector, not understood yet: see the issue's
	// notes) and the round is tried again.
	for round := 0; ; round++ {
		got := map[string]int{}
		var failed error
		for range 4 {
			body, err := client.Get(ctxT(t), "http://10.0.0.8/")
			if err != nil {
				failed = err
				break
			}
			got[body]++
		}
		if failed == nil && got["rs1"] == 2 && got["rs2"] == 2 {
			break
		}
		conns, _ := d.IPVS().(*ipvs.Client).Connections(ctxT(t))
		t.Logf("round %d after the quorum came back: answers %v, error %v; connections: %+v", round, got, failed, conns)
		if round == 2 {
			t.Fatalf("answers after the quorum came back: %v, %v", got, failed)
		}
	}
	if got := read("q-up"); !strings.HasPrefix(got, "quorum_up tcp 10.0.0.8:80|web|:|2/2|") {
		t.Errorf("quorumUp ran with %q", got)
	}
	if got := read("rs-up"); !strings.HasPrefix(got, "realserver_up tcp 10.0.0.8:80|web|10.0.0.110:80|/|") {
		t.Errorf("realServerUp ran with %q", got)
	}
	if st := d.Status(); len(st.BelowQuorum) != 0 {
		t.Errorf("Status().BelowQuorum = %v after the quorum came back", st.BelowQuorum)
	}
}

// hookArg makes the test binary writeHookEnv instead of testing.
const hookArg = "write-notify-env"

// writeHookEnv appends a line with the Notify environment and the network
// namespace the process runs in to the file at path, and returns the exit
// status.
func writeHookEnv(path string) int {
	ns, _ := os.Readlink("/proc/self/ns/net")
	e := os.Getenv
	line := fmt.Sprintf("%s %s|%s|%s:%s|%s/%s|%s\n", e("LVS_EVENT"), e("LVS_SERVICE"), e("LVS_SERVICE_NAME"), e("LVS_RS_ADDR"), e("LVS_RS_PORT"),
		e("LVS_IN_SERVICE"), e("LVS_QUORUM"), ns)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 1
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		return 1
	}
	return 0
}
