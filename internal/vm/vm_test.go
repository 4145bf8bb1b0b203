//go:build linux

package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The guest side of the tests below: this test binary is also the guest's
// /init, and LVS_VM_SELFTEST tells it what to do there.
func TestMain(m *testing.M) {
	if IsGuest() {
		Guest(func() int {
			switch os.Getenv("LVS_VM_SELFTEST") {
			case "hang":
				time.Sleep(time.Hour)
			case "exit":
				os.Exit(0) // PID 1 exiting panics the guest kernel
			case "report":
				b, err := os.ReadFile("/proc/net/ip_vs")
				if err != nil {
					return 4
				}
				os.Stdout.Write(b[:bytes.IndexByte(b, '\n')+1])
				os.Stdout.WriteString("args=" + strings.Join(os.Args[1:], ",") + "\n")
				return 3
			}
			return 5
		})
	}
	os.Exit(m.Run())
}

func bootable(t *testing.T) {
	t.Helper()
	if os.Getenv("LVS_VMTEST") == "host" {
		// The same switch that keeps the other packages' tests out of the
		// VM keeps the runner's own boots from happening.
		t.Skip("LVS_VMTEST=host: no QEMU guest is booted")
	}
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func selftest(t *testing.T, mode string, timeout time.Duration) (int, string, error) {
	t.Helper()
	bootable(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out bytes.Buffer
	code, err := Run(ctx, Spec{
		Init: self, Args: []string{"a", "b c"}, Env: []string{"LVS_VM_SELFTEST=" + mode},
		Modules: []string{"ip_vs"}, Output: &out,
	})
	return code, out.String(), err
}

func TestRunReportsExitCodeAndOutput(t *testing.T) {
	code, out, err := selftest(t, "report", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 {
		t.Errorf("exit code = %d, want 3; console:\n%s", code, out)
	}
	for _, want := range []string{"IP Virtual Server version", "args=a,b c"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
}

func TestRunKillsHungGuest(t *testing.T) {
	start := time.Now()
	_, out, err := selftest(t, "hang", 25*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error; console:\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "guest killed") {
		t.Errorf("error %q does not say the guest was killed", err)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("hung guest stopped after %v, want soon after the 25s deadline", d)
	}
}

func TestRunGuestWithoutExitCode(t *testing.T) {
	_, out, err := selftest(t, "exit", 2*time.Minute)
	if err == nil || !strings.Contains(err.Error(), "without an exit code") {
		t.Fatalf("err = %v, want 'without an exit code'; console:\n%s", err, out)
	}
	if !strings.Contains(err.Error(), "Kernel panic") {
		t.Errorf("error should carry the console's last lines (the panic):\n%v", err)
	}
}

func TestInitramfsIsValidCpio(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed")
	}
	a := newArchive()
	a.bytes("/lvs-guest/spec.json", []byte(`{"Args":["x"]}`), 0o644)
	a.chardev("/dev/console", 5, 1)
	a.file("/init", "/proc/self/exe", 0o755)
	var buf bytes.Buffer
	if err := a.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cpio, "-t", "-v")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, out)
	}
	for _, want := range []string{"lvs-guest/spec.json", "dev/console", "init", "crw-------"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio listing lacks %q:\n%s", want, out)
		}
	}
}

func TestModuleClosureOrdersDependenciesFirst(t *testing.T) {
	k, err := FindKernel()
	if err != nil {
		bootable(t)
	}
	mods, err := k.moduleClosure([]string{"ip_vs_rr", "ipip"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		pos[m.name] = i
	}
	for _, pair := range [][2]string{
		{"crc32c_generic", "libcrc32c"}, {"libcrc32c", "ip_vs"}, {"nf_conntrack", "ip_vs"},
		{"ip_vs", "ip_vs_rr"}, {"tunnel4", "ipip"}, {"ip_tunnel", "ipip"},
	} {
		a, aok := pos[pair[0]]
		b, bok := pos[pair[1]]
		if !aok || !bok || a > b {
			t.Errorf("%s must come before %s: order %v", pair[0], pair[1], pos)
		}
	}
}

func TestScanConsole(t *testing.T) {
	in := "boot\r\nline one\r\n" + exitMarker + "7\r\n[ 1.0] reboot: Power down\r\n"
	var out bytes.Buffer
	code, tail := scanConsole(strings.NewReader(in), &out, false)
	if code != 7 {
		t.Errorf("code = %d, want 7", code)
	}
	if want := "boot\nline one\n[ 1.0] reboot: Power down\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if !strings.HasSuffix(tail, "Power down") {
		t.Errorf("tail = %q", tail)
	}
	var trace strings.Builder
	trace.WriteString("[ 2.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n")
	for i := range 100 {
		fmt.Fprintf(&trace, "[ 2.1]  frame%d+0x1/0x2\n", i)
	}
	if _, tail := scanConsole(strings.NewReader(trace.String()), nil, false); !strings.HasPrefix(tail, "[ 2.0] Kernel panic") ||
		!strings.HasSuffix(tail, "frame99+0x1/0x2") {
		t.Errorf("a panic followed by a long trace: tail = %q, want the panic line and the last frames", tail)
	}
	out.Reset()
	scanConsole(strings.NewReader(in), &out, true)
	if want := "boot\nline one\n"; out.String() != want {
		t.Errorf("quiet output = %q, want %q", out.String(), want)
	}
}
