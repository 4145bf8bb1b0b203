package vmtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/vm"
)

// Config says what a package's real-kernel tests need from the guest.
type Config struct {
	// Modules are loaded in the guest (with their dependencies) before the
	// tests run, for example "ip_vs", "ip_vs_rr", "ipip".
	Modules []string
	// Programs are host executables the guest tests run, copied with their
	// shared libraries (for example "/usr/sbin/ipvsadm"), and the shared
	// objects the programs dlopen (iptables' extensions). A symbolic link
	// stays one: see vm.Spec.Programs.
	Programs []string
	// Memory is the guest's memory in MiB as QEMU's -m takes it; "1024" if empty.
	Memory string
}

// Env controls where the real-kernel tests run: "vm" always in the VM,
// "host" never in the VM (tests needing missing modules skip), unset: in the
// VM only when the host lacks a required module.
const Env = "LVS_VMTEST"

// deferred collects the tests that Require moved to the VM.
var deferred struct {
	sync.Mutex
	tests, benchmarks []string
	seen              map[string]bool
}

// InGuest reports whether the tests are running inside the VM.
func InGuest() bool { return vm.IsGuest() }

// Main runs the package's tests and then, if any test called Require for a
// module the host lacks, boots one VM that runs exactly those tests with the
// same flags. It exits with the host run's failure or else the guest's. A
// run, on the host or in the guest, that leaves open files or goroutines
// behind fails.
func Main(m *testing.M, cfg Config) {
	run := func() int { return runChecked(m.Run) }
	if vm.IsGuest() {
		vm.Guest(run)
	}
	code := run()
	deferred.Lock()
	tests, benches := deferred.tests, deferred.benchmarks
	deferred.Unlock()
	if len(tests)+len(benches) == 0 {
		os.Exit(code)
	}
	if err := vmAvailable(); err != nil {
		// Require already failed or skipped each test with this reason.
		os.Exit(code)
	}
	gcode := runGuest(cfg, tests, benches)
	if code == 0 {
		code = gcode
	}
	os.Exit(code)
}

// Require states that the test needs the named kernel modules. Where the
// host has them (loaded, or loadable with modprobe) it returns and the test
// runs here. Otherwise the test is skipped here and run in the VM after the
// host tests. Without a usable VM the test is skipped with the reason, and
// under CI=true it fails instead: CI never passes by skipping.
func Require(tb testing.TB, modules ...string) {
	tb.Helper()
	if vm.IsGuest() {
		if !vm.HostHas(modules) {
			tb.Fatalf("the guest lacks kernel modules %v: add them to vmtest.Config.Modules in TestMain", modules)
		}
		return
	}
	mode := os.Getenv(Env)
	if mode != "vm" && vm.HostHas(modules) {
		return
	}
	if mode == "host" {
		skipOrFail(tb, fmt.Sprintf("needs kernel modules %v, which this host lacks, and %s=host", modules, Env))
		return
	}
	if err := vmAvailable(); err != nil {
		skipOrFail(tb, fmt.Sprintf("needs kernel modules %v; the VM tier cannot run: %v", modules, err))
		return
	}
	deferToGuest(tb, modules)
}

// RequireGuest is Require for a test that must only ever run inside the
// guest (it starts daemons that must never run on the host, such as
// keepalived): on the host it is always skipped here and run in the VM tier,
// or skipped with the reason when there is no VM (or LVS_VMTEST=host).
func RequireGuest(tb testing.TB, modules ...string) {
	tb.Helper()
	if vm.IsGuest() {
		Require(tb, modules...)
		return
	}
	if os.Getenv(Env) == "host" {
		skipOrFail(tb, fmt.Sprintf("runs only in the VM guest, and %s=host", Env))
		return
	}
	if err := vmAvailable(); err != nil {
		skipOrFail(tb, fmt.Sprintf("runs only in the VM guest; the VM tier cannot run: %v", err))
		return
	}
	deferToGuest(tb, modules)
}

// deferToGuest records tb's top-level test for the VM run and skips it here.
func deferToGuest(tb testing.TB, modules []string) {
	tb.Helper()
	top, _, _ := strings.Cut(tb.Name(), "/")
	deferred.Lock()
	if deferred.seen == nil {
		deferred.seen = map[string]bool{}
	}
	if !deferred.seen[top] {
		deferred.seen[top] = true
		if _, ok := tb.(*testing.B); ok {
			deferred.benchmarks = append(deferred.benchmarks, top)
		} else {
			deferred.tests = append(deferred.tests, top)
		}
	}
	deferred.Unlock()
	tb.Skipf("needs kernel modules %v: runs in the VM tier below", modules)
}

func skipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	tb.Skip(msg)
}

var vmCheck = sync.OnceValue(vm.Available)

func vmAvailable() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the VM tier needs root (to build network namespaces in the guest it does not, but reading the kernel image does)")
	}
	return vmCheck()
}

// runGuest boots the VM with this test binary as /init and runs the deferred
// tests and benchmarks there.
func runGuest(cfg Config, tests, benches []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		return 1
	}
	args := guestArgs(tests, benches)
	timeout := 10 * time.Minute
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CI=") || strings.HasPrefix(kv, "LVS_") {
			env = append(env, kv)
		}
	}
	start := time.Now()
	fmt.Printf("=== VM tier: %d test(s), %d benchmark(s) in a QEMU guest: %s\n", len(tests), len(benches), strings.Join(append(append([]string{}, tests...), benches...), " "))
	dir, _ := os.Getwd() // the package directory: its testdata goes along
	code, err := vm.Run(ctx, vm.Spec{
		Init: self, Args: args, Env: env, Dir: dir,
		Modules: cfg.Modules, Programs: cfg.Programs, Memory: cfg.Memory,
		Output: os.Stdout,
	})
	if err != nil {
		fmt.Printf("--- FAIL: VM tier: %v\n", err)
		return 1
	}
	fmt.Printf("=== VM tier: guest exited %d after %.1fs\n", code, time.Since(start).Seconds())
	return code
}

// guestArgs rebuilds the host's test flags for the guest: the same verbosity,
// count, timeout and so on, with -test.run and -test.bench narrowed to the
// deferred names (keeping any subtest part of the original patterns) and the
// host-only outputs (test log, profiles) left out.
func guestArgs(tests, benches []string) []string {
	hostOnly := map[string]bool{
		"test.run": true, "test.bench": true, "test.testlogfile": true, "test.outputdir": true,
		"test.coverprofile": true, "test.cpuprofile": true, "test.memprofile": true,
		"test.blockprofile": true, "test.mutexprofile": true, "test.trace": true,
		"test.gocoverdir": true, "test.fuzzcachedir": true, "test.list": true,
	}
	var args []string
	flag.Visit(func(f *flag.Flag) {
		if !hostOnly[f.Name] {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	narrow := func(names []string, flagName string) string {
		if len(names) == 0 {
			return "^$"
		}
		p := "^(" + strings.Join(names, "|") + ")$"
		if f := flag.Lookup(flagName); f != nil {
			if _, sub, ok := strings.Cut(f.Value.String(), "/"); ok {
				p += "/" + sub
			}
		}
		return p
	}
	args = append(args, "-test.run="+narrow(tests, "test.run"))
	if len(benches) > 0 {
		args = append(args, "-test.bench="+narrow(benches, "test.bench"))
	}
	return args
}
