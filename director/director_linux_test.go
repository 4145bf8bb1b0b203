package director

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"golang.org/x/sys/unix"
)

func testMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == hookArg {
		os.Exit(writeHookEnv(os.Args[2]))
	}
	vmtest.Main(m, vmtest.Config{Modules: []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "ip_vs_mh", "nf_tables", "nft_masq", "nft_chain_nat", "dummy", "veth", "bridge"}})
}

// pageServer returns a func that starts host's page server (answering
// name) on port 80 and returns what stops it.
func pageServer(t *testing.T, host *lab.Host, name string) func() context.CancelFunc {
	return func() context.CancelFunc {
		ctx, cancel := context.WithCancel(context.Background())
		if err := host.Serve(ctx, ":80", name); err != nil {
			t.Fatal(err)
		}
		return cancel
	}
}

// running is a Director's Run in the background, stopped when the test
// ends.
type running struct {
	t       *testing.T
	reports chan Report
}

func runDirector(t *testing.T, d *Director, cfg *Config, reload <-chan *Compiled) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, reports: make(chan Report, 64)}
	done := make(chan error, 1)
	c := compiled(t, cfg)
	go func() { done <- d.Run(ctx, c, reload, func(rep Report) { r.reports <- rep }) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// waitFor returns the first report ok accepts; a report with an error,
// or none within 30 seconds, fails the test.
func (r *running) waitFor(what string, ok func(Report) bool) Report {
	r.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case rep := <-r.reports:
			if rep.Err != nil {
				r.t.Fatalf("while waiting for %s: %v", what, rep.Err)
			}
			if ok(rep) {
				return rep
			}
		case <-timeout:
			r.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// natDirector builds the note's NAT lab and a Director on its director
// namespace with opts (NetNS filled in), closed when the test ends.
func natDirector(t *testing.T, opts Options) (*Director, *lab.Lab) {
	t.Helper()
	l := labtest.Build(t, lab.NAT())
	opts.NetNS = int(labtest.Host(t, l, lab.Director).NS())
	d, err := New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, l
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func get(t *testing.T, h *lab.Host, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := h.Get(ctxT(t), "http://10.0.0.8/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got[body]++
	}
	return got
}

// TestNATLab applies the note's NAT lab from a config file with real
// traffic, then shows no change plans nothing, one weight is one kernel
// change, and Teardown puts everything back.
func TestNATLab(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_wrr", "veth", "bridge")
	l := labtest.Build(t, lab.NAT())
	dir, client := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client)
	d, err := New(&Options{NetNS: int(dir.NS()), StateFile: t.TempDir() + "/state.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := ctxT(t)
	cfg, err := parseConfig([]byte(natLab))
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan for the NAT lab:\n%s", p)
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := get(t, client, 6); got["rs1"] != 2 || got["rs2"] != 4 {
		t.Errorf("answers %v, want rs1:rs2 = 1:2 (wrr)", got)
	}
	if fwd, _ := dir.ReadSysctl("net.ipv4.ip_forward"); fwd != "1" {
		t.Errorf("ip_forward = %s: NAT needs it and the director sets it", fwd)
	}

	again, err := d.Plan(ctx, compiled(t, cfg))
	if err != nil || again.Len() != 0 {
		t.Fatalf("re-plan of an applied config: %v\n%s", err, again)
	}

	before, err := d.IPVS().Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Services[0].RealServers[0].Weight = 3 // was 1 by default
	one, err := d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if one.Len() != 1 || one.Ops[0].Kind != UpdateDestination {
		t.Fatalf("one weight changed, plan:\n%s", one)
	}
	if err := d.Apply(ctx, one); err != nil {
		t.Fatal(err)
	}
	after, err := d.IPVS().Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changed := diffTables(before, after)
	if len(changed) != 1 || !strings.Contains(changed[0], "10.0.0.110:80 weight 1 -> 3") {
		t.Errorf("kernel changes: %q, want exactly rs1's weight", changed)
	}

	if err := d.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if tb, _ := d.IPVS().Table(ctx); len(tb.Services) != 0 {
		t.Errorf("services after Teardown: %+v", tb.Services)
	}
	if fwd, _ := dir.ReadSysctl("net.ipv4.ip_forward"); fwd != "0" {
		t.Errorf("ip_forward = %s after Teardown, want the previous 0", fwd)
	}
}

// diffTables lists destination-level differences.
func diffTables(a, b ipvs.Table) []string {
	idx := func(t ipvs.Table) map[string]ipvs.Destination {
		m := map[string]ipvs.Destination{}
		for _, s := range t.Services {
			m[s.Key().String()] = ipvs.Destination{}
			for _, d := range s.Destinations {
				m[s.Key().String()+" "+d.Addr.String()] = d
			}
		}
		return m
	}
	ia, ib := idx(a), idx(b)
	var out []string
	for k, da := range ia {
		db, ok := ib[k]
		switch {
		case !ok:
			out = append(out, "removed "+k)
		case da.Weight != db.Weight || da.Forward != db.Forward:
			out = append(out, fmt.Sprintf("%s weight %d -> %d", k, da.Weight, db.Weight))
		}
	}
	for k := range ib {
		if _, ok := ia[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	return out
}

// TestDrain: a real server removed from the config while a connection to
// it is open is drained (weight 0, still forwarding that connection), and
// deleted once the connection has closed.
func TestDrain(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_wrr", "veth", "bridge")
	l := labtest.Build(t, lab.NAT())
	dir, client := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client)
	d, err := New(&Options{NetNS: int(dir.NS()), Drain: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := ctxT(t)
	cfg, err := parseConfig([]byte(strings.Replace(natLab, "weight: 2", "weight: 1", 1)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Hold connections open until one lands on rs1.
	var conn net.Conn
	var rd *bufio.Reader
	for i := 0; i < 4 && conn == nil; i++ {
		var c net.Conn
		if err := client.Do(func() error {
			var err error
			c, err = net.DialTimeout("tcp", "10.0.0.8:80", 2*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		if who := ask(t, c, r); who == "rs1" {
			conn, rd = c, r
		} else {
			defer c.Close()
		}
	}
	if conn == nil {
		t.Fatal("no connection reached rs1")
	}
	cfg.Services[0].RealServers = cfg.Services[0].RealServers[1:] // remove rs1
	p, err = d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 || p.Ops[0].Kind != DrainDestination {
		t.Fatalf("plan:\n%s", p)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if who := ask(t, conn, rd); who != "rs1" {
		t.Errorf("the open connection now reaches %q, want rs1: drained, not cut", who)
	}
	if got := get(t, client, 3); got["rs2"] != 3 {
		t.Errorf("new connections went to %v, want rs2 only", got)
	}
	if n, err := d.Collect(ctx); err != nil || n != 0 {
		t.Errorf("Collect with an active connection deleted %d (%v)", n, err)
	}
	conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := d.Collect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the drained real server was never deleted")
		}
		time.Sleep(500 * time.Millisecond)
	}
	ds, err := d.IPVS().Destinations(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: cfg.Services[0].Address})
	if err != nil || len(ds) != 1 || ds[0].Addr.String() != "10.0.0.120:80" {
		t.Errorf("destinations after Collect: %+v, %v", ds, err)
	}
	if again, _ := d.Plan(ctx, compiled(t, cfg)); again.Len() != 0 {
		t.Errorf("plan after the drain:\n%s", again)
	}
}

// ask sends one keep-alive HTTP request on c and returns the body.
func ask(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length: "); ok {
			fmt.Sscan(v, &length)
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// natWithout is the NAT lab with rs1 serving no page: the test runs it.
func natWithout(rs string) lab.Spec {
	s := lab.NAT()
	for i := range s.Hosts {
		if s.Hosts[i].Name == rs {
			s.Hosts[i].Pages = nil
		}
	}
	return s
}

// TestHealthChecks: with rs1's HTTP server stopped, the check quiesces it
// within the fall count and client traffic continues on rs2; with it back,
// rs1 returns to the rotation. Only rs1's destination changes each time.
func TestHealthChecks(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "veth", "bridge")
	l := labtest.Build(t, natWithout(lab.RS1))
	dir, client, rs1 := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client), labtest.Host(t, l, lab.RS1)
	serve := pageServer(t, rs1, "rs1")
	stop := serve()
	d, err := New(&Options{NetNS: int(dir.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after Run has stopped (cleanups run last first)
	cfg, err := parseConfig([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    check: {type: http, path: /, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor := runDirector(t, d, cfg, nil).waitFor
	waitFor("the first apply", func(r Report) bool { return r.Plan != nil })
	if got := get(t, client, 4); got["rs1"] != 2 || got["rs2"] != 2 {
		t.Fatalf("answers %v before the failure", got)
	}

	start := time.Now()
	stop() // rs1's listener dies
	waitFor("rs1 to fail", func(r Report) bool { return r.Health != nil && !r.Health.Healthy })
	r := waitFor("the quiesce", func(r Report) bool { return r.Plan != nil })
	if r.Plan.Len() != 1 || r.Plan.Ops[0].Rule.Destination.Addr.String() != "10.0.0.110:80" || r.Plan.Ops[0].Rule.Destination.Weight != 0 {
		t.Errorf("plan on failure:\n%s", r.Plan)
	}
	// Fall 2 at a 200 ms interval: quiesced within about a second.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("quiesced after %v", took)
	}
	st := d.Status()
	if h := st.RealServers; len(h) != 2 || h[0].Addr.String() != "10.0.0.110:80" || h[0].Healthy || h[0].Since.Before(start) || !h[1].Healthy {
		t.Errorf("health in the status: %+v, want rs1 failed since the stop, rs2 healthy", h)
	}
	if st.Applies != 2 || st.Ops[r.Plan.Ops[0].Kind] == 0 || st.LastResync.IsZero() || st.Errors != 0 {
		t.Errorf("status after the first apply and the quiesce: %+v", st)
	}
	if got := get(t, client, 4); got["rs2"] != 4 {
		t.Errorf("answers %v with rs1 down, want rs2 only", got)
	}

	stop = serve()
	defer stop()
	waitFor("rs1 to recover", func(r Report) bool { return r.Health != nil && r.Health.Healthy })
	r = waitFor("the restore", func(r Report) bool { return r.Plan != nil })
	if r.Plan.Len() != 1 || r.Plan.Ops[0].Rule.Destination.Weight != 1 {
		t.Errorf("plan on recovery:\n%s", r.Plan)
	}
	if got := get(t, client, 4); got["rs1"] != 2 || got["rs2"] != 2 {
		t.Errorf("answers %v after recovery", got)
	}
}

// TestSNAT: the FULLNAT equivalent. The real servers' gateway is not the
// director (it does not exist), so plain NAT fails: replies never come
// back. With snat the director gives forwarded packets its own address,
// and the same requests are answered; Teardown removes the rules.
func TestSNAT(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "nft_masq", "nft_chain_nat", "veth", "bridge")
	spec := lab.NAT()
	for i := range spec.Hosts {
		for j := range spec.Hosts[i].Routes {
			if spec.Hosts[i].Routes[j].Via == "10.0.0.8" {
				spec.Hosts[i].Routes[j].Via = "10.0.0.254" // nobody there
			}
		}
	}
	l := labtest.Build(t, spec)
	dir, client := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client)
	d, err := New(&Options{NetNS: int(dir.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := ctxT(t)
	conf := strings.Replace(natLab, "scheduler: wrr", "scheduler: rr", 1)
	cfg, err := parseConfig([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := client.Get(short, "http://10.0.0.8/"); err == nil {
		t.Error("plain NAT worked without a route back: the test proves nothing")
	}
	cancel()

	cfg, err = parseConfig([]byte(strings.Replace(conf, "scheduler: rr", "scheduler: rr\n    snat: true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	p, err = d.Plan(ctx, compiled(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan adding snat:\n%s", p)
	if p.Len() != 2 || p.Ops[0].Kind != SetSysctl || p.Ops[1].Kind != SyncSNAT {
		t.Errorf("plan: %s, want vs.conntrack then the SNAT rules", kinds(p))
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := get(t, client, 4); got["rs1"] != 2 || got["rs2"] != 2 {
		t.Errorf("answers with snat: %v, want both real servers", got)
	}
	if again, _ := d.Plan(ctx, compiled(t, cfg)); again.Len() != 0 {
		t.Errorf("second plan:\n%s", again)
	}
	if err := d.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := d.backend()
	if err != nil {
		t.Fatal(err)
	}
	if rules, err := b.ListSNAT(ctx); err != nil || len(rules) != 0 {
		t.Errorf("SNAT rules after Teardown: %v, %v", rules, err)
	}
}

// TestProbes: each check type against the NAT lab's real servers, from the
// director's namespace (the real servers are not reachable from anywhere
// else).
func TestProbes(t *testing.T) {
	vmtest.Require(t, "ip_vs", "veth", "bridge")
	l := labtest.Build(t, lab.NAT())
	d, err := New(&Options{NetNS: int(labtest.Host(t, l, lab.Director).NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rs1 := target{addr: netip.MustParseAddrPort("10.0.0.110:80")}
	for _, tc := range []struct {
		name string
		chk  Check
		ok   bool
	}{
		{"tcp open", Check{Spec: &check.TCP{}}, true},
		{"tcp closed port", Check{Spec: &check.TCP{}, Port: 81}, false},
		{"http 200", Check{Spec: &check.HTTP{Path: "/"}}, true},
		{"http wrong status", Check{Spec: &check.HTTP{Path: "/", Status: []int{204}}}, false},
		{"https on a plain port", Check{Spec: &check.HTTPS{HTTP: check.HTTP{Path: "/"}}}, false},
		// The test binary itself as the command: no tests to run exits 0,
		// a bad flag exits 2. Its start (race-instrumented, in an
		// emulated guest on a loaded host) can take longer than the
		// default 2 s timeout: these two get a long one.
		{"command ok", Check{Spec: &check.Command{Argv: []string{self, "-test.run=^$"}}, Timeout: 30 * time.Second}, true},
		{"command fails", Check{Spec: &check.Command{Argv: []string{self, "-test.nosuchflag"}}, Timeout: 30 * time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := compileCheck(tc.chk, false)
			if err != nil {
				t.Fatal(err)
			}
			err = cc.run(ctxT(t), d, rs1.addr)
			if (err == nil) != tc.ok {
				t.Errorf("probe: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestReloadKeepsHealth: a real server that failed before a reload, and
// recovers after it, is reported healthy and gets its weight back (the
// checks restarted by the reload start from what Run acted on).
func TestReloadKeepsHealth(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "veth", "bridge")
	l := labtest.Build(t, natWithout(lab.RS1))
	dir, rs1 := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.RS1)
	serve := pageServer(t, rs1, "rs1")
	stop := serve()
	d, err := New(&Options{NetNS: int(dir.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after Run has stopped (cleanups run last first)
	conf := func(w2 int) *Config {
		cfg, err := parseConfig([]byte(fmt.Sprintf(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    check: {type: tcp, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat, weight: %d}
`, w2)))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	ctx := ctxT(t)
	reload := make(chan *Compiled)
	waitFor := runDirector(t, d, conf(1), reload).waitFor
	weight := func() int {
		ds, err := d.IPVS().Destinations(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80")})
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range ds {
			if dst.Addr == netip.MustParseAddrPort("10.0.0.110:80") {
				return dst.Weight
			}
		}
		t.Fatal("rs1 is gone")
		return -1
	}
	waitFor("the first apply", func(r Report) bool { return r.Plan != nil })
	stop()
	waitFor("rs1 to fail", func(r Report) bool { return r.Health != nil && !r.Health.Healthy })
	waitFor("the quiesce", func(r Report) bool { return r.Plan != nil })
	reload <- compiled(t, conf(3))
	waitFor("the reload's plan", func(r Report) bool { return r.Plan != nil })
	if w := weight(); w != 0 {
		t.Fatalf("rs1's weight %d after the reload, want 0 (still failed)", w)
	}
	stop = serve()
	defer stop()
	waitFor("rs1 to recover", func(r Report) bool { return r.Health != nil && r.Health.Healthy })
	waitFor("the restore", func(r Report) bool { return r.Plan != nil })
	if w := weight(); w != 1 {
		t.Errorf("rs1's weight %d after recovering, want 1", w)
	}
}

// TestNewWithoutIPVS: on a kernel without IPVS New says so (ErrNotAvailable)
// and changes nothing: no state file appears.
func TestNewWithoutIPVS(t *testing.T) {
	nstest.Privileged(t)
	if err := unix.Stat("/sys/module/ip_vs", &unix.Stat_t{}); err == nil {
		t.Skip("this kernel has IPVS")
	}
	state := t.TempDir() + "/state.json"
	d, err := New(&Options{StateFile: state})
	if err == nil {
		d.Close()
		t.Fatal("New succeeded without IPVS")
	}
	if !errors.Is(err, ipvs.ErrNotAvailable) {
		t.Errorf("err = %v, want ipvs.ErrNotAvailable", err)
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state file after a failed New: %v", err)
	}
}
