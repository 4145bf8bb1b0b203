//go:build linux

package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
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
	a.symlink("/sbin/init-alias", "/init")
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
	for _, want := range []string{"lvs-guest/spec.json", "dev/console", "init", "crw-------", "sbin/init-alias -> /init"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio listing lacks %q:\n%s", want, out)
		}
	}
}

// cpioEntry is one member of a newc archive as readNewc reads it.
type cpioEntry struct {
	mode         uint32
	major, minor uint32
	body         []byte // a file's content, a link's target
}

// readNewc reads an uncompressed newc cpio archive up to its trailer.
func readNewc(b []byte) (map[string]cpioEntry, error) {
	out := map[string]cpioEntry{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; ; {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("offset %d: no newc header", off)
		}
		var f [13]uint32
		for i := range f {
			var v uint64
			if _, err := fmt.Sscanf(string(b[off+6+8*i:off+14+8*i]), "%08X", &v); err != nil {
				return nil, fmt.Errorf("offset %d: field %d: %w", off, i, err)
			}
			f[i] = uint32(v)
		}
		mode, size, major, minor, namesize := f[1], int(f[6]), f[9], f[10], int(f[11])
		if len(b) < off+110+namesize {
			return nil, fmt.Errorf("offset %d: name past the end", off)
		}
		name := string(b[off+110 : off+110+namesize-1])
		off = align(off + 110 + namesize)
		if name == "TRAILER!!!" {
			return out, nil
		}
		if len(b) < off+size {
			return nil, fmt.Errorf("%s: body past the end", name)
		}
		out[name] = cpioEntry{mode: mode, major: major, minor: minor, body: b[off : off+size]}
		off = align(off + size)
	}
}

// The archive reads back, by a reader written from the format (cpio(5)
// "New ASCII Format") rather than from the writer: every kind of member.
func TestInitramfsReadsBack(t *testing.T) {
	a := newArchive()
	a.bytes("/lvs-guest/spec.json", []byte(`{"Args":["x"]}`), 0o644)
	a.chardev("/dev/console", 5, 1)
	a.symlink("/usr/sbin/tool-save", "/usr/sbin/multi")
	a.bytes("/usr/sbin/multi", []byte("#!"), 0o755)
	var buf bytes.Buffer
	if err := a.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := readNewc(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]cpioEntry{
		"lvs-guest":           {mode: cpioDir | 0o755, body: []byte{}},
		"lvs-guest/spec.json": {mode: cpioReg | 0o644, body: []byte(`{"Args":["x"]}`)},
		"dev/console":         {mode: cpioChr | 0o600, major: 5, minor: 1, body: []byte{}},
		"usr/sbin/tool-save":  {mode: cpioLink | 0o777, body: []byte("/usr/sbin/multi")},
		"usr/sbin/multi":      {mode: cpioReg | 0o755, body: []byte("#!")},
		"usr/sbin":            {mode: cpioDir | 0o755, body: []byte{}},
	} {
		if g, ok := got[name]; !ok || g.mode != want.mode || g.major != want.major || g.minor != want.minor || !bytes.Equal(g.body, want.body) {
			t.Errorf("%s: %+v (present %v), want %+v", name, g, ok, want)
		}
	}
	if len(got) != 8 { // and "usr", "dev"
		t.Errorf("%d members, want 8: %v", len(got), got)
	}
}

// A program given by a symbolic link (one binary under many names, as
// xtables-nft-multi is iptables-nft-restore and iptables-nft-save) stays a
// link in the guest, and the file it resolves to is carried once, at its own
// path, with its libraries.
func TestProgramSymlinksStayLinks(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	multi := filepath.Join(dir, "multi")
	if err := os.Symlink(exe, multi); err != nil {
		t.Fatal(err)
	}
	names := []string{filepath.Join(dir, "tool-restore"), filepath.Join(dir, "tool-save")}
	for _, n := range names {
		if err := os.Symlink("multi", n); err != nil { // relative, as Debian's
			t.Fatal(err)
		}
	}
	a := newArchive()
	for _, p := range append([]string{exe}, names...) {
		if err := a.addHostFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if e := a.entries[exe]; e.mode&^0o7777 != cpioReg || e.hostPath != exe {
		t.Errorf("%s: mode %o from %q, want the regular file itself", exe, e.mode, e.hostPath)
	}
	for _, n := range names {
		if e := a.entries[n]; e.mode != cpioLink|0o777 || e.linkTarget != exe {
			t.Errorf("%s: mode %o -> %q, want a link to %s", n, e.mode, e.linkTarget, exe)
		}
	}
	if _, ok := a.entries[multi]; ok {
		t.Errorf("the intermediate link %s was carried too", multi)
	}
	regular := 0
	for _, e := range a.entries {
		if e.hostPath == exe {
			regular++
		}
	}
	if regular != 1 {
		t.Errorf("the program was carried %d times, want once", regular)
	}
	if f, err := elf.Open(exe); err == nil {
		defer f.Close()
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 && len(a.entries) < len(names)+1+len(libs) {
			t.Errorf("%d entries: the libraries %v are missing", len(a.entries), libs)
		}
	}
	if err := a.addHostFile(filepath.Join(dir, "dangling")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing program: %v, want fs.ErrNotExist", err)
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
