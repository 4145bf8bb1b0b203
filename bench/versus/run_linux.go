package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/vm"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const keepalivedPath = "/usr/sbin/keepalived"

var modules = []string{"ip_vs", "ip_vs_rr", "veth"}

// start runs the comparison in a guest (always: keepalived runs only
// there), building lvs-director first.
func start() int {
	if vm.IsGuest() {
		vm.Guest(func() int {
			o, err := parseFlags(os.Args[1:])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			return measureAll(o)
		})
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := os.Stat(keepalivedPath); err != nil {
		fmt.Fprintf(os.Stderr, "versus: no keepalived (sh scripts/install-deps.sh installs it): %v\n", err)
		return 1
	}
	if err := vm.Available(); err != nil {
		fmt.Fprintf(os.Stderr, "versus: no VM can be started: %v\n", err)
		return 1
	}
	args := os.Args[1:]
	if o.director == "" {
		dir, err := os.MkdirTemp("", "lvs-versus-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		o.director = filepath.Join(dir, "lvs-director")
		// Built as scripts/deb.sh builds the packaged binary: static, no
		// symbol tables.
		build := exec.Command("go", "build", "-C", "..", "-trimpath", "-ldflags=-s -w", "-o", o.director, "./examples/director")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "versus: build lvs-director (run from the bench directory): %v\n", err)
			return 1
		}
		args = append(args, "-director", o.director)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var out io.Writer = os.Stdout
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		out = &fileSink{out: os.Stdout, dir: o.profile}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	code, err := vm.Run(ctx, vm.Spec{
		Init: self, Args: args, Modules: modules, Programs: []string{keepalivedPath, o.director},
		Output: out, QuietKernel: true, Memory: "3072", ICount: 3,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// figures are one daemon's measurements at one size.
type figures struct {
	table    time.Duration // start to a complete table
	rss      int64         // bytes, the process tree, settled
	cpu      time.Duration // CPU per 1,000 checks
	reaction time.Duration // a refusing real server to its removal
	reload   time.Duration // SIGHUP to the changed weight in the kernel
	moved    int           // other entries the reload changed
}

func measureAll(o *options) int {
	if o.verbose {
		// What starting the binary costs before any work: exec, the
		// runtime and the packages' initialisation.
		for _, c := range [][]string{{o.director, "-version"}, {keepalivedPath, "--version"}} {
			t0 := time.Now()
			err := exec.Command(c[0], c[1:]...).Run()
			fmt.Printf("%s %s: %v (%v)\n", filepath.Base(c[0]), c[1], time.Since(t0).Round(time.Millisecond), err)
		}
	}
	failed := false
	for _, n := range o.sizes {
		// First, in a guest where IPVS has done nothing yet at this size:
		// what the kernel alone costs, and the kernel's first-time costs
		// (its caches and per-CPU chunks growing) are then paid for both
		// daemons alike.
		kernel, err := measureKernel(o, n)
		if err != nil {
			fmt.Printf("versus: N=%d the kernel alone: %v\n", n, err)
		}
		var got [2]figures
		for i, kind := range []string{"keepalived", "lvs-director"} {
			if o.only != "" && kind != o.only {
				continue
			}
			f, err := measure(o, n, kind)
			if err != nil {
				fmt.Printf("versus: N=%d %s: %v\n", n, kind, err)
				failed = true
				break
			}
			got[i] = *f
			fmt.Printf("N=%d %s: %+v\n", n, kind, *f)
		}
		if failed {
			break
		}
		if o.verbose && o.only != "keepalived" {
			if took, err := measureStart(o, n, directorOnKA); err != nil {
				fmt.Printf("versus: N=%d %s: %v\n", n, directorOnKA, err)
			} else {
				fmt.Printf("N=%d %s: a complete table after %v", n, directorOnKA, took.Round(time.Millisecond))
				if ka := got[0].table; ka > 0 {
					fmt.Printf(" (keepalived's own start: %v, ratio %.2f)", ka.Round(time.Millisecond), took.Seconds()/ka.Seconds())
				}
				fmt.Println()
			}
		}
		if o.only == "" {
			report(n, o, got[0], got[1], kernel)
		}
	}
	if failed {
		return 1
	}
	return 0
}

func report(n int, o *options, ka, ld figures, kernel time.Duration) {
	ratio := func(a, b float64) string {
		if a == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", b/a)
	}
	fmt.Printf("\nN = %d (x 4 real servers, %d checks/s, CPU over %v)\n\n", n, o.rate, o.window)
	fmt.Printf("| | keepalived | lvs-director | ratio |\n| --- | ---: | ---: | ---: |\n")
	row := func(name string, a, b time.Duration) {
		fmt.Printf("| %s | %v | %v | %s |\n", name, a.Round(10*time.Millisecond), b.Round(10*time.Millisecond), ratio(a.Seconds(), b.Seconds()))
	}
	row("start to a complete table", ka.table, ld.table)
	fmt.Printf("| RSS of the process tree, settled | %.1f MB | %.1f MB | %s |\n", float64(ka.rss)/1e6, float64(ld.rss)/1e6, ratio(float64(ka.rss), float64(ld.rss)))
	row("CPU per 1,000 checks", ka.cpu, ld.cpu)
	row("reaction to a refusing real server", ka.reaction, ld.reaction)
	row("reload to one changed weight", ka.reload, ld.reload)
	fmt.Printf("| other entries the reload changed | %d | %d | |\n\n", ka.moved, ld.moved)
	if kernel > 0 {
		fmt.Printf("The kernel alone builds the same table (one ipvs batch from the benchmark, its changes built beforehand) in %v: %s of keepalived's start.\n\n",
			kernel.Round(10*time.Millisecond), ratio(ka.table.Seconds(), kernel.Seconds()))
	}
}

// The addresses: virtual servers 10.100.0.0/16, real servers 10.1.0.0/16
// (answered by the rs namespace), the reaction service 10.99.0.1 with its
// real server 10.1.255.1.
var (
	reactVIP = netip.MustParseAddr("10.99.0.1")
	reactRS  = netip.MustParseAddr("10.1.255.1")
)

func vsAddr(s int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 100, byte(s / 250), byte(s%250 + 1)})
}
func rsAddr(k int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(k / 250), byte(k%250 + 1)}) }

// conf is the keepalived.conf: weight is the first real server's.
func conf(n, rate, weight int) string {
	delay := max(1, 4*n/rate)
	var b strings.Builder
	b.WriteString("global_defs {\n\trouter_id versus\n}\n")
	for s := range n {
		fmt.Fprintf(&b, "virtual_server %v 80 {\n\tdelay_loop %d\n\tlb_algo rr\n\tlb_kind DR\n\tprotocol TCP\n", vsAddr(s), delay)
		for k := 4 * s; k < 4*s+4; k++ {
			w := 1
			if k == 0 {
				w = weight
			}
			fmt.Fprintf(&b, "\treal_server %v 80 {\n\t\tweight %d\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 3\n\t\t}\n\t}\n", rsAddr(k), w)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "virtual_server %v 80 {\n\tdelay_loop 1\n\tlb_algo rr\n\tlb_kind DR\n\tprotocol TCP\n\treal_server %v 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 1\n\t\t}\n\t}\n}\n", reactVIP, reactRS)
	return b.String()
}

// bench is one daemon's run.
type bench struct {
	o    *options
	n    int
	kind string
	dir  string
	lab  *lab.Lab
	lb   *lab.Host
	rs   *lab.Host
	ln   net.Listener
	cmd  *exec.Cmd
	out  bytes.Buffer
	ipvs *ipvs.Client
}

func measure(o *options, n int, kind string) (*figures, error) {
	if o.profile != "" && kind == "lvs-director" {
		if err := profileStart(o, n); err != nil {
			return nil, fmt.Errorf("start profile: %w", err)
		}
	}
	b := &bench{o: o, n: n, kind: kind}
	defer b.close()
	if err := b.setup(); err != nil {
		return nil, err
	}
	f := &figures{}
	g0 := readGuestCPU()
	start := time.Now()
	if err := b.start(1); err != nil {
		return nil, err
	}
	complete, err := b.waitComplete(10 * time.Minute)
	if err != nil {
		return nil, fmt.Errorf("complete table: %w", err)
	}
	f.table = complete.Sub(start)
	if o.verbose {
		user, sys, faults := b.cpuSplit()
		fmt.Printf("N=%d %s: a complete table after %v, the daemon's CPU then %v (user %v, system %v, %d page faults); the guest's meanwhile: %s\n",
			n, kind, f.table.Round(time.Millisecond), user+sys, user, sys, faults, readGuestCPU().since(g0))
	}

	// Settle: every real server checked at least once.
	time.Sleep(time.Duration(max(1, 4*n/o.rate))*time.Second + 5*time.Second)
	if f.rss, err = b.rss(); err != nil {
		return nil, err
	}
	if o.profile != "" {
		fmt.Printf("N=%d %s memory: %s\n", n, kind, b.smaps())
	}
	if b.profiling() {
		heap, err := b.fetchProfile("heap?gc=1", time.Minute)
		if err != nil {
			return nil, fmt.Errorf("heap profile: %w", err)
		}
		emitFile(fmt.Sprintf("heap-%d.pprof", n), heap)
	}
	cpu0, err := b.cpu()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if b.profiling() {
		// The profile spans the window.
		prof, err := b.fetchProfile(fmt.Sprintf("profile?seconds=%d", int(o.window.Seconds())), o.window+time.Minute)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		emitFile(fmt.Sprintf("cpu-%d.pprof", n), prof)
	} else {
		time.Sleep(o.window)
	}
	cpu1, err := b.cpu()
	if err != nil {
		return nil, err
	}
	checks := time.Since(t0).Seconds() * (float64(4*n)/float64(max(1, 4*n/o.rate)) + 1)
	f.cpu = time.Duration(float64(cpu1-cpu0) / checks * 1000)

	// Reaction: the reaction service's real server refuses.
	if err := b.refuse(true); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := b.waitWeight(time.Minute, reactVIP, reactRS, func(w int) bool { return w <= 0 }); err != nil {
		return nil, fmt.Errorf("reaction: %w", err)
	}
	f.reaction = time.Since(t0)
	if err := b.refuse(false); err != nil {
		return nil, err
	}
	if err := b.waitWeight(time.Minute, reactVIP, reactRS, func(w int) bool { return w > 0 }); err != nil {
		return nil, fmt.Errorf("reaction, back: %w", err)
	}

	// Reload with the first real server's weight changed.
	before, err := b.ipvs.Table(context.Background())
	if err != nil {
		return nil, err
	}
	if err := b.writeConf(2); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return nil, err
	}
	if err := b.waitWeight(10*time.Minute, vsAddr(0), rsAddr(0), func(w int) bool { return w == 2 }); err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	f.reload = time.Since(t0)
	after, err := b.ipvs.Table(context.Background())
	if err != nil {
		return nil, err
	}
	f.moved = changed(before, after, rsAddr(0))
	if b.profiling() {
		// A second reload (the weight back to 1), profiled over a little
		// more than the first took.
		if err := b.writeConf(1); err != nil {
			return nil, err
		}
		type result struct {
			data []byte
			err  error
		}
		got := make(chan result, 1)
		secs := int(f.reload.Seconds()*1.2) + 2
		go func() {
			data, err := b.fetchProfile(fmt.Sprintf("profile?seconds=%d", secs), time.Duration(secs)*time.Second+time.Minute)
			got <- result{data, err}
		}()
		time.Sleep(100 * time.Millisecond) // the profile has started
		if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return nil, err
		}
		if err := b.waitWeight(10*time.Minute, vsAddr(0), rsAddr(0), func(w int) bool { return w == 1 }); err != nil {
			return nil, fmt.Errorf("second reload: %w", err)
		}
		r := <-got
		if r.err != nil {
			return nil, fmt.Errorf("reload profile: %w", r.err)
		}
		emitFile(fmt.Sprintf("reload-%d.pprof", n), r.data)
	}
	if b.o.verbose {
		fmt.Printf("--- %s's last log lines:\n%s\n", kind, lastLines(b.out.String(), 25))
	}
	return f, nil
}

func (b *bench) setup() error {
	var err error
	if b.dir, err = os.MkdirTemp("", "versus-"); err != nil {
		return err
	}
	b.lab, err = lab.Build(lab.Spec{
		Hosts: []lab.HostSpec{{Name: "lb", Routes: []lab.RouteSpec{{Dst: "10.1.0.0/16", Via: "10.0.0.2"}}}, {Name: "rs"}},
		Links: []lab.LinkSpec{{A: lab.PortSpec{Host: "lb", If: "eth0", CIDR: "10.0.0.1/24"}, B: lab.PortSpec{Host: "rs", If: "eth0", CIDR: "10.0.0.2/24"}}},
	})
	if err != nil {
		return err
	}
	b.lb, b.rs = b.lab.Host("lb"), b.lab.Host("rs")
	// The real servers: every address of 10.1.0.0/16 is the rs
	// namespace's own (a local route), one listener answers them all.
	if err := b.rs.Do(func() error { return localRoute(unix.RTN_LOCAL, netip.MustParsePrefix("10.1.0.0/16"), true) }); err != nil {
		return fmt.Errorf("local route: %w", err)
	}
	if err := b.rs.Do(func() (err error) { b.ln, err = net.Listen("tcp", ":80"); return }); err != nil {
		return err
	}
	go func() {
		for {
			c, err := b.ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if b.ipvs, err = ipvs.New(&ipvs.Config{NetNS: int(b.lb.NS())}); err != nil {
		return err
	}
	return b.writeConf(1)
}

// refuse makes the reaction real server refuse (a prohibit route for it in
// the rs namespace, ahead of the local one), or answer again.
func (b *bench) refuse(on bool) error {
	return b.rs.Do(func() error { return localRoute(unix.RTN_PROHIBIT, netip.PrefixFrom(reactRS, 32), on) })
}

// localRoute adds (or deletes) a route of type typ to p in the local table.
func localRoute(typ uint8, p netip.Prefix, add bool) error {
	c, err := rtnetlink.Dial(&netlink.Config{})
	if err != nil {
		return err
	}
	defer c.Close()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	msg := &rtnetlink.RouteMessage{
		Family: unix.AF_INET, DstLength: uint8(p.Bits()), Table: unix.RT_TABLE_LOCAL,
		Protocol: unix.RTPROT_STATIC, Scope: unix.RT_SCOPE_HOST, Type: typ,
		Attributes: rtnetlink.RouteAttributes{Dst: p.Addr().AsSlice(), Table: unix.RT_TABLE_LOCAL},
	}
	if typ == unix.RTN_LOCAL {
		msg.Attributes.OutIface = uint32(lo.Index)
	} else {
		msg.Scope = unix.RT_SCOPE_UNIVERSE
	}
	if add {
		return c.Route.Add(msg)
	}
	return c.Route.Delete(msg)
}

// writeConf writes the keepalived.conf and, for lvs-director, its
// import.
func (b *bench) writeConf(weight int) error {
	text := conf(b.n, b.o.rate, weight)
	path := filepath.Join(b.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return err
	}
	if b.kind != "lvs-director" {
		return nil
	}
	// As an operator would: lvs-director -import keepalived.conf.
	t0 := time.Now()
	imp := exec.Command(b.o.director, "-import", path)
	var errb bytes.Buffer
	imp.Stderr = &errb
	y, err := imp.Output()
	if err != nil {
		return fmt.Errorf("lvs-director -import: %v: %s", err, errb.String())
	}
	if b.o.verbose {
		fmt.Printf("lvs-director -import of %d virtual servers: %v\n", b.n+1, time.Since(t0).Round(time.Millisecond))
	}
	tmp := filepath.Join(b.dir, "director.yaml.new")
	if err := os.WriteFile(tmp, y, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(b.dir, "director.yaml")); err != nil {
		return err
	}
	if b.o.verbose {
		t0 = time.Now()
		out, err := exec.Command(b.o.director, "-check", filepath.Join(b.dir, "director.yaml")).CombinedOutput()
		fmt.Printf("lvs-director -check: %v (%v, %s)\n", time.Since(t0).Round(time.Millisecond), err, bytes.TrimSpace(out))
	}
	return nil
}

func (b *bench) start(weight int) error {
	if b.profiling() {
		return b.startWith("-metrics", pprofAddr, "-pprof")
	}
	return b.startWith()
}

// startWith starts the daemon, lvs-director with more flags.
func (b *bench) startWith(more ...string) error {
	if b.kind == "keepalived" {
		pid := func(s string) string { return filepath.Join(b.dir, s+".pid") }
		b.cmd = exec.Command(keepalivedPath, "-n", "-C", "-f", filepath.Join(b.dir, "keepalived.conf"),
			"-p", pid("keepalived"), "-c", pid("checkers"), "-r", pid("vrrp"))
	} else {
		level := "warn"
		if b.o.verbose {
			level = "info"
		}
		cfg := filepath.Join(b.dir, "director.yaml")
		if b.kind == directorOnKA {
			cfg = filepath.Join(b.dir, "keepalived.conf")
		}
		args := append([]string{"-config", cfg, "-control", "", "-log-level", level}, b.o.flags...)
		args = append(args, more...)
		b.cmd = exec.Command(b.o.director, args...)
	}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.out
	if b.kind != "keepalived" && len(b.o.env) > 0 {
		b.cmd.Env = append(os.Environ(), b.o.env...)
	}
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return netnsx.Do(int(b.lb.NS()), b.cmd.Start)
}

// waitWeight reads one destination every 20ms (one small request, so
// that the benchmark's own polling costs the guest little) until ok holds
// for its weight (-1 when it is not in the kernel), or limit passes.
func (b *bench) waitWeight(limit time.Duration, vip, rs netip.Addr, ok func(int) bool) error {
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80)}
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		w := -1
		d, err := b.ipvs.Destination(ctx, svc, netip.AddrPortFrom(rs, 80))
		cancel()
		if err == nil {
			w = d.Weight
		}
		if ok(w) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v in %v: weight %d after %v\n%s", rs, vip, w, limit, lastLines(b.out.String(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitComplete waits until the table holds all 4N+1 destinations, or
// limit passes, and returns when the last of them was seen. Reading the
// whole table costs the one emulated CPU (a dump request per service) what
// the daemon being measured would have had, a second at N = 1,000: it reads
// a few sample destinations every 100ms (the last real server of nine
// virtual servers across the file, and the reaction one, the file's last),
// and the whole table only once they are all there; the table is complete
// when they were, the whole read confirming it.
func (b *bench) waitComplete(limit time.Duration) (time.Time, error) {
	var samples [][2]netip.Addr
	for i := range 9 {
		s := i * (b.n - 1) / 8
		samples = append(samples, [2]netip.Addr{vsAddr(s), rsAddr(4*s + 3)})
	}
	samples = append(samples, [2]netip.Addr{reactVIP, reactRS})
	deadline := time.Now().Add(limit)
	for {
		all := true
		for _, sm := range samples {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := b.ipvs.Destination(ctx, ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(sm[0], 80)}, netip.AddrPortFrom(sm[1], 80))
			cancel()
			if err != nil {
				all = false
				break
			}
		}
		if all {
			seen := time.Now()
			if _, err := b.waitFor(0, func(t ipvs.Table) bool { return destinations(t) == 4*b.n+1 }); err == nil {
				return seen, nil
			}
		}
		if time.Now().After(deadline) {
			_, err := b.waitFor(0, func(t ipvs.Table) bool { return destinations(t) == 4*b.n+1 })
			return time.Now(), err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor reads the whole table every 250ms until ok, or limit passes.
func (b *bench) waitFor(limit time.Duration, ok func(ipvs.Table) bool) (ipvs.Table, error) {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t, err := b.ipvs.Table(ctx)
		cancel()
		if err == nil && ok(t) {
			return t, nil
		}
		if time.Now().After(deadline) {
			return t, fmt.Errorf("not after %v (%d destinations, error %v)\n%s", limit, destinations(t), err, lastLines(b.out.String(), 20))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func destinations(t ipvs.Table) int {
	n := 0
	for _, s := range t.Services {
		n += len(s.Destinations)
	}
	return n
}

// changed counts the services and destinations that differ between two
// tables, but for the destination except.
func changed(a, b ipvs.Table, except netip.Addr) int {
	key := func(t ipvs.Table) map[string]string {
		m := map[string]string{}
		for _, s := range t.Services {
			m[s.Key().String()] = fmt.Sprintf("%v %v %v", s.Scheduler, s.Flags, s.Timeout)
			for _, d := range s.Destinations {
				if d.Addr.Addr() != except {
					m[s.Key().String()+" "+d.Addr.String()] = fmt.Sprintf("%v %d", d.Forward, d.Weight)
				}
			}
		}
		return m
	}
	ka, kb := key(a), key(b)
	n := 0
	for k, v := range ka {
		if kb[k] != v {
			n++
		}
	}
	for k := range kb {
		if _, ok := ka[k]; !ok {
			n++
		}
	}
	return n
}

// tree is the daemon's process and its descendants.
func (b *bench) tree() []int {
	root := b.cmd.Process.Pid
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := stat(pid); err == nil {
			parent[pid] = st.ppid
		}
	}
	in := map[int]bool{root: true}
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if in[pp] && !in[pid] {
				in[pid], changed = true, true
			}
		}
	}
	var out []int
	for pid := range in {
		out = append(out, pid)
	}
	return out
}

type procStat struct {
	ppid int
	cpu  time.Duration // user + system
	user time.Duration
	sys  time.Duration
	// faults counts minor page faults: each a page of memory first touched.
	faults int64
}

func stat(pid int) (procStat, error) {
	b, err := readAtMost(fmt.Sprintf("/proc/%d/stat", pid), 4<<10)
	if err != nil {
		return procStat{}, err
	}
	// The command may hold spaces and parentheses: fields start after the
	// last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	ppid, _ := strconv.Atoi(f[1])
	faults, _ := strconv.ParseInt(f[7], 10, 64)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	// USER_HZ is 100 on Linux.
	return procStat{ppid: ppid, cpu: time.Duration(ut+st) * 10 * time.Millisecond,
		user: time.Duration(ut) * 10 * time.Millisecond, sys: time.Duration(st) * 10 * time.Millisecond, faults: faults}, nil
}

// guestCPU is the guest's time by kind (user, nice, system, idle, iowait,
// irq, softirq) from /proc/stat, to show what else than the daemon took
// the one emulated CPU during a measurement.
type guestCPU [7]time.Duration

func readGuestCPU() guestCPU {
	var g guestCPU
	b, err := readAtMost("/proc/stat", 1<<20)
	if err != nil {
		return g
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i := range g {
		if i+1 < len(f) {
			v, _ := strconv.ParseInt(f[i+1], 10, 64)
			g[i] = time.Duration(v) * 10 * time.Millisecond
		}
	}
	return g
}

func (g guestCPU) since(o guestCPU) string {
	names := [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq"}
	var parts []string
	for i, n := range names {
		if d := g[i] - o[i]; d != 0 {
			parts = append(parts, fmt.Sprintf("%s %v", n, d))
		}
	}
	return strings.Join(parts, ", ")
}

// cpuSplit is the tree's user and system time and its page faults.
func (b *bench) cpuSplit() (user, sys time.Duration, faults int64) {
	for _, pid := range b.tree() {
		if st, err := stat(pid); err == nil {
			user += st.user
			sys += st.sys
			faults += st.faults
		}
	}
	return user, sys, faults
}

func (b *bench) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, pid := range b.tree() {
		st, err := stat(pid)
		if err != nil {
			continue
		}
		sum += st.cpu
	}
	return sum, nil
}

func (b *bench) rss() (int64, error) {
	var sum int64
	for _, pid := range b.tree() {
		data, err := readAtMost(fmt.Sprintf("/proc/%d/status", pid), 64<<10)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb * 1024
			}
		}
	}
	if sum == 0 {
		return 0, fmt.Errorf("no RSS for the %s tree", b.kind)
	}
	return sum, nil
}

func (b *bench) close() {
	if b.cmd != nil && b.cmd.Process != nil {
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if b.ln != nil {
		b.ln.Close()
	}
	if b.ipvs != nil {
		b.ipvs.Close()
	}
	if b.lab != nil {
		b.lab.Close()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// measureKernel is what the kernel alone costs for the table: the same
// services and real servers created by this process as one ipvs batch (the
// changes built beforehand, so that the time is the kernel's and the
// client's sending), in a fresh lab, with this process's user and system
// time meanwhile. Neither daemon can start faster than this.
func measureKernel(o *options, n int) (time.Duration, error) {
	b := &bench{o: o, n: n, kind: "kernel"}
	defer b.close()
	if err := b.setup(); err != nil {
		return 0, err
	}
	var batch ipvs.Batch
	add := func(vip netip.Addr, rss ...netip.Addr) {
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(vip, 80), Scheduler: ipvs.RoundRobin}
		batch.CreateService(svc)
		for _, rs := range rss {
			batch.CreateDestination(svc, ipvs.Destination{Addr: netip.AddrPortFrom(rs, 80), Forward: ipvs.DirectRoute, Weight: 1})
		}
	}
	for s := range n {
		add(vsAddr(s), rsAddr(4*s), rsAddr(4*s+1), rsAddr(4*s+2), rsAddr(4*s+3))
	}
	add(reactVIP, reactRS)
	var r0, r1 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &r0)
	g0 := readGuestCPU()
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	results, err := b.ipvs.Apply(ctx, &batch)
	took := time.Since(t0)
	_ = unix.Getrusage(unix.RUSAGE_SELF, &r1)
	if err == nil {
		err = errors.Join(results...)
	}
	if err != nil {
		return 0, err
	}
	tv := func(a, b unix.Timeval) time.Duration { return time.Duration(b.Nano() - a.Nano()) }
	fmt.Printf("N=%d the kernel: %d changes as one batch from this process in %v (user %v, system %v, %d page faults); the guest's meanwhile: %s\n",
		n, batch.Len(), took.Round(time.Millisecond), tv(r0.Utime, r1.Utime), tv(r0.Stime, r1.Stime), r1.Minflt-r0.Minflt, readGuestCPU().since(g0))
	return took, b.ipvs.Flush(ctx)
}

// directorOnKA is lvs-director started on the keepalived.conf itself
// (-config keepalived.conf: the import at every start), as an operator
// replacing keepalived may first run it.
const directorOnKA = "lvs-director -config keepalived.conf"

// measureStart is the time from kind's start to a complete table, alone.
func measureStart(o *options, n int, kind string) (time.Duration, error) {
	b := &bench{o: o, n: n, kind: kind}
	defer b.close()
	if err := b.setup(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := b.startWith(); err != nil {
		return 0, err
	}
	complete, err := b.waitComplete(10 * time.Minute)
	if err != nil {
		return 0, err
	}
	return complete.Sub(start), nil
}

// readAtMost reads at most limit bytes of the file at path: what the
// benchmark reads of /proc and of the files the daemons write is bounded.
func readAtMost(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
