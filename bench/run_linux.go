package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/vm"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var modules = []string{"ip_vs", "ip_vs_wrr"}

// start runs the benchmark here when the kernel has IPVS, else in a guest
// (which gets the same arguments).
func start() int {
	parsed := func() (*options, int) {
		o, err := parseFlags(os.Args[1:])
		if err == nil {
			loaders, err = selectLoaders(o.loaders)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return nil, 2
		}
		return o, 0
	}
	if vm.IsGuest() {
		vm.Guest(func() int {
			o, code := parsed()
			if o == nil {
				return code
			}
			return measureAll(o)
		})
	}
	o, code := parsed()
	if o == nil {
		return code
	}
	if os.Getenv("LVS_VM") != "1" && vm.HostHas(modules) {
		return measureAll(o)
	}
	if err := vm.Available(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: this kernel lacks IPVS and no VM can be started: %v\n", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "(this kernel lacks IPVS: running in a QEMU guest on Debian's kernel)")
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	out := &console{w: os.Stdout, dir: o.profileDir}
	code, err = vm.Run(ctx, vm.Spec{
		Init: self, Args: os.Args[1:], Modules: modules, Programs: []string{"/usr/sbin/ipvsadm"},
		Output: out, QuietKernel: true, Memory: "2048", ICount: o.icount,
	})
	if err == nil {
		err = out.close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// selectLoaders returns the loaders named in names, comma-separated (a
// name may itself hold a comma: "raw, errors only"), in the table's order;
// every loader if names is empty.
func selectLoaders(names string) ([]loader, error) {
	if names == "" {
		return loaders, nil
	}
	want := map[string]bool{}
	cur := ""
	for _, f := range strings.Split(names, ",") {
		if cur != "" {
			cur += ","
		}
		cur += f
		for _, l := range loaders {
			if l.name == strings.TrimSpace(cur) {
				want[l.name], cur = true, ""
				break
			}
		}
	}
	if cur != "" {
		return nil, fmt.Errorf("bench: -loaders: no loader %q", strings.TrimSpace(cur))
	}
	var out []loader
	for _, l := range loaders {
		if want[l.name] {
			out = append(out, l)
		}
	}
	return out, nil
}

// A sample is one timed run of one workload by one loader.
type sample struct {
	wall, user, sys time.Duration
	allocs, bytes   uint64
}

type resultKey struct {
	n        int
	workload string
	loader   string
}

var workloads = []string{"create", "dump", "weights 1%", "delete"}

func measureAll(o *options) int {
	results := map[resultKey][]sample{}
	for _, n := range o.sizes {
		w := newWork(n)
		for rep := 0; rep < o.reps; rep++ {
			if err := measureRep(w, rep, results); err != nil {
				fmt.Fprintf(os.Stderr, "bench: N=%d rep %d: %v\n", n, rep+1, err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "bench: N=%d rep %d of %d done\n", n, rep+1, o.reps)
		}
		if o.profile {
			if err := profileLVS(w, o.profileDir); err != nil {
				fmt.Fprintf(os.Stderr, "bench: profiles: %v\n", err)
				return 1
			}
		}
	}
	printReport(os.Stdout, o, results)
	return 0
}

func newWork(n int) *work {
	w := &work{table: make([]ipvs.TableService, n)}
	for i := range w.table {
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), Scheduler: ipvs.WeightedRoundRobin}
		ds := make([]ipvs.Destination, 4)
		for j := range ds {
			ds[j] = ipvs.Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2 + byte(j), byte(i >> 8), byte(i)}), 8080), Forward: ipvs.Masquerade, Weight: j + 1}
		}
		w.table[i] = ipvs.TableService{Service: svc, Destinations: ds}
	}
	// 1% of the destinations, spread over the table.
	for i := 0; i < n*4/100 || i == 0; i++ {
		ts := w.table[(i*100/4)%n]
		d := ts.Destinations[i%4]
		d.Weight += 10
		w.weights = append(w.weights, weightChange{ts.Service, d})
	}
	return w
}

// measureRep runs every workload once with every loader, the loaders in an
// order that turns with the repetition. Create and delete run in a fresh
// namespace per loader (its delete removes what its create made); dump and
// weights run in one namespace the SDK loaded, untimed.
func measureRep(w *work, rep int, results map[resultKey][]sample) error {
	order := slices.Clone(loaders)
	for i := 0; i < rep%len(order); i++ {
		order = append(order[1:], order[0])
	}
	n := len(w.table)
	for _, l := range order {
		err := inNamespace(func(ns int) error {
			s, err := l.open(ns, w)
			if err != nil {
				return err
			}
			defer s.close()
			check, err := newChecker(ns)
			if err != nil {
				return err
			}
			defer check.close()
			if err := timed(results, resultKey{n, "create", l.name}, s.create); err != nil {
				return fmt.Errorf("%s create: %w", l.name, err)
			}
			if err := check.loaded(w); err != nil {
				return fmt.Errorf("%s create: %w", l.name, err)
			}
			if err := timed(results, resultKey{n, "delete", l.name}, s.remove); err != nil {
				return fmt.Errorf("%s delete: %w", l.name, err)
			}
			return check.empty()
		})
		if err != nil {
			return err
		}
	}
	return inNamespace(func(ns int) error {
		check, err := newChecker(ns)
		if err != nil {
			return err
		}
		defer check.close()
		if err := check.load(w); err != nil {
			return err
		}
		for i, l := range order {
			// Each loader sets the weights to values of its own, so every
			// update is a change; loaders encode their input when opened.
			for j := range w.weights {
				w.weights[j].dest.Weight = 10 + rep*len(order) + i
			}
			s, err := l.open(ns, w)
			if err != nil {
				return err
			}
			err = measureShared(w, s, l, results, check)
			s.close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func measureShared(w *work, s *session, l loader, results map[resultKey][]sample, check *checker) error {
	n := len(w.table)
	if s.dump != nil && l.name != "lvs one by one" {
		var got int
		err := timed(results, resultKey{n, "dump", l.name}, func() (err error) {
			got, err = s.dump()
			return err
		})
		if err != nil {
			return fmt.Errorf("%s dump: %w", l.name, err)
		}
		if want := 5 * n; got != want {
			return fmt.Errorf("%s dump: read %d objects, want %d", l.name, got, want)
		}
	}
	if err := timed(results, resultKey{n, "weights 1%", l.name}, s.weights); err != nil {
		return fmt.Errorf("%s weights: %w", l.name, err)
	}
	return check.weights(w)
}

// timed runs fn once and records its wall time, CPU time and allocations.
func timed(results map[resultKey][]sample, k resultKey, fn func() error) error {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := cpu()
	t0 := time.Now()
	err := fn()
	wall := time.Since(t0)
	u1, s1 := cpu()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return err
	}
	results[k] = append(results[k], sample{
		wall: wall, user: u1 - u0, sys: s1 - s0,
		allocs: m1.Mallocs - m0.Mallocs, bytes: m1.TotalAlloc - m0.TotalAlloc,
	})
	return nil
}

// cpu is the CPU time of this process and its waited-for children (ipvsadm).
func cpu() (user, sys time.Duration) {
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if err := unix.Getrusage(who, &ru); err == nil {
			user += time.Duration(ru.Utime.Nano())
			sys += time.Duration(ru.Stime.Nano())
		}
	}
	return user, sys
}

// inNamespace runs fn with a fresh network namespace in which lo is up and
// 10.0.0.0/8 is routed through it (the kernel refuses masqueraded
// destinations it has no route to).
func inNamespace(fn func(ns int) error) error {
	ns, err := netnsx.New(true)
	if err != nil {
		return err
	}
	defer unix.Close(ns)
	rt, err := rtnetlink.Dial(&netlink.Config{NetNS: ns})
	if err != nil {
		return err
	}
	lo, err := net.InterfaceByName("lo")
	if err == nil {
		err = rt.Route.Add(&rtnetlink.RouteMessage{
			Family: unix.AF_INET, DstLength: 8, Table: unix.RT_TABLE_MAIN,
			Protocol: unix.RTPROT_STATIC, Scope: unix.RT_SCOPE_LINK, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{Dst: net.IPv4(10, 0, 0, 0), OutIface: uint32(lo.Index)},
		})
	}
	rt.Close()
	if err != nil {
		return fmt.Errorf("route 10.0.0.0/8 dev lo: %w", err)
	}
	return fn(ns)
}

// checker verifies, untimed and through the SDK, what a workload left.
type checker struct{ c *ipvs.Client }

func newChecker(ns int) (*checker, error) {
	c, err := ipvs.New(&ipvs.Config{NetNS: ns})
	return &checker{c}, err
}

func (k *checker) close() { k.c.Close() }

func (k *checker) load(w *work) error {
	var b ipvs.Batch
	for _, ts := range w.table {
		b.CreateService(ts.Service)
		for _, d := range ts.Destinations {
			b.CreateDestination(ts.Service, d)
		}
	}
	results, err := k.c.Apply(bg, &b)
	if err == nil {
		err = errors.Join(results...)
	}
	return err
}

// loaded checks the service count and every destination of the first and
// last service (a full read of each loader's table would double the run).
func (k *checker) loaded(w *work) error {
	svcs, err := k.c.Services(bg)
	if err != nil {
		return err
	}
	if len(svcs) != len(w.table) {
		return fmt.Errorf("%d services in the kernel, want %d", len(svcs), len(w.table))
	}
	for _, ts := range []ipvs.TableService{w.table[0], w.table[len(w.table)-1]} {
		ds, err := k.c.Destinations(bg, ts.Service)
		if err != nil {
			return err
		}
		if len(ds) != len(ts.Destinations) {
			return fmt.Errorf("service %v: %d destinations, want %d", ts.Addr, len(ds), len(ts.Destinations))
		}
		for _, want := range ts.Destinations {
			i := slices.IndexFunc(ds, func(d ipvs.Destination) bool { return d.Addr == want.Addr })
			if i < 0 || ds[i].Weight != want.Weight || ds[i].Forward != want.Forward {
				return fmt.Errorf("service %v: destination %v missing or different: %v", ts.Addr, want.Addr, ds)
			}
		}
	}
	return nil
}

func (k *checker) empty() error {
	svcs, err := k.c.Services(bg)
	if err == nil && len(svcs) > 0 {
		err = fmt.Errorf("%d services left after delete", len(svcs))
	}
	return err
}

func (k *checker) weights(w *work) error {
	for _, wc := range []weightChange{w.weights[0], w.weights[len(w.weights)-1]} {
		d, err := k.c.Destination(bg, wc.svc, wc.dest.Addr)
		if err != nil {
			return err
		}
		if d.Weight != wc.dest.Weight {
			return fmt.Errorf("%v weight %d, want %d", wc.dest.Addr, d.Weight, wc.dest.Weight)
		}
	}
	return nil
}

// profileLVS takes a CPU profile of the SDK's create (both ways) and dump,
// in a run of its own. In the guest the profiles go to the console, where
// the host's side of the run writes them to dir.
func profileLVS(w *work, dir string) error {
	n := len(w.table)
	for _, l := range loaders {
		if !strings.HasPrefix(l.name, "lvs ") {
			continue
		}
		name := strings.ReplaceAll(l.name, " ", "-")
		err := inNamespace(func(ns int) error {
			s, err := l.open(ns, w)
			if err != nil {
				return err
			}
			defer s.close()
			if err := profiled(fmt.Sprintf("%s-create-%d", name, n), dir, s.create); err != nil {
				return err
			}
			if s.dump == nil {
				return nil
			}
			return profiled(fmt.Sprintf("%s-dump-%d", name, n), dir, func() error { _, err := s.dump(); return err })
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func profiled(name, dir string, fn func() error) error {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return err
	}
	err := fn()
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if !vm.IsGuest() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".pprof"), buf.Bytes(), 0o644)
	}
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	for len(enc) > 0 {
		k := min(len(enc), 96)
		fmt.Printf("%s %s %s\n", profileMarker, name, enc[:k])
		enc = enc[k:]
	}
	fmt.Printf("%s %s end\n", profileMarker, name)
	return nil
}

const profileMarker = "LVS-BENCH-PROFILE"

// console passes the guest's console through to w, except the profile
// lines, which it decodes into files in dir.
type console struct {
	w       io.Writer
	dir     string
	partial []byte
	profile map[string]*strings.Builder
	err     error
}

func (c *console) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		c.line(string(bytes.TrimRight(c.partial[:i], "\r")))
		c.partial = c.partial[i+1:]
	}
}

func (c *console) line(l string) {
	rest, ok := strings.CutPrefix(l, profileMarker+" ")
	if !ok {
		fmt.Fprintln(c.w, l)
		return
	}
	name, chunk, _ := strings.Cut(rest, " ")
	if c.profile == nil {
		c.profile = map[string]*strings.Builder{}
	}
	if chunk != "end" {
		if c.profile[name] == nil {
			c.profile[name] = &strings.Builder{}
		}
		c.profile[name].WriteString(chunk)
		return
	}
	data, err := base64.StdEncoding.DecodeString(c.profile[name].String())
	delete(c.profile, name)
	if err == nil {
		err = os.MkdirAll(c.dir, 0o755)
	}
	if err == nil {
		path := filepath.Join(c.dir, filepath.Base(name)+".pprof")
		if err = os.WriteFile(path, data, 0o644); err == nil {
			fmt.Fprintf(c.w, "(profile written to %s)\n", path)
		}
	}
	c.err = errors.Join(c.err, err)
}

func (c *console) close() error {
	if len(c.profile) > 0 {
		c.err = errors.Join(c.err, fmt.Errorf("bench: %d profiles cut short", len(c.profile)))
	}
	return c.err
}
