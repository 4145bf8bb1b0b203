package vm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Spec describes one boot.
type Spec struct {
	// Init is the host path of the program that becomes the guest's /init.
	// It must call Guest when IsGuest reports true. A dynamically linked
	// program is shipped with its interpreter and libraries.
	Init string
	// Args are the program's arguments (argv[1:]) in the guest.
	Args []string
	// Env is added to the guest program's environment (KEY=VALUE).
	Env []string
	// Modules are kernel modules to load before the program runs; their
	// dependencies are found and loaded first.
	Modules []string
	// Programs are host executables to copy into the guest at the same path,
	// with their shared libraries (for example /usr/sbin/ipvsadm). Shared
	// objects that a program loads with dlopen, which its ELF headers do not
	// name, go here as well (for example iptables' extensions under
	// /usr/lib/x86_64-linux-gnu/xtables). A path that is a symbolic link
	// stays one in the guest, to the file it resolves to, which is copied
	// once however many names lead to it.
	Programs []string
	// Output receives the guest's console (kernel messages at loglevel 3 and
	// the program's stdout and stderr), with "\r\n" turned into "\n".
	Output io.Writer
	// Memory is QEMU's -m value; "1024" if empty.
	Memory string
	// QuietKernel drops the kernel's own console lines ("[    2.1] ...")
	// from Output.
	QuietKernel bool
	// ICount, if nonzero, runs the guest with QEMU's -icount
	// shift=ICount,sleep=off: the guest's clock counts instructions (2^ICount
	// ns each) instead of the host's time, and skips ahead while the guest
	// is idle, so that CPU and time figures taken in the guest repeat on a
	// busy host. For benchmarks.
	ICount int
	// Dir, if set, is a host directory copied into the guest at the same
	// path (files up to 1 MiB; no symbolic links) and made the program's
	// working directory: a test's package directory, for its testdata.
	Dir string
}

// Available reports nil when Run can boot a VM here: QEMU is installed and a
// kernel with IPVS modules is found. Otherwise the error says what is missing.
func Available() error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("vm: qemu-system-x86_64 not found (run scripts/install-deps.sh): %w", err)
	}
	_, err := FindKernel()
	return err
}

// Run boots the kernel with an initramfs built from spec and returns the
// guest program's exit code. It stops the VM when ctx is done. An error means
// the VM could not be run or ended without reporting an exit code (a kernel
// panic, a program that exited instead of returning, a timeout); it carries
// the last lines of the console.
func Run(ctx context.Context, spec Spec) (int, error) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return -1, fmt.Errorf("vm: qemu-system-x86_64 not found (run scripts/install-deps.sh): %w", err)
	}
	k, err := FindKernel()
	if err != nil {
		return -1, err
	}
	initrd, err := buildInitramfs(k, spec)
	if err != nil {
		return -1, err
	}
	defer os.Remove(initrd)

	mem := spec.Memory
	if mem == "" {
		mem = "1024"
	}
	args := []string{"-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", mem,
		"-nodefaults", "-no-user-config", "-nic", "none",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", k.Image, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 loglevel=3 quiet"}
	if spec.ICount > 0 {
		args = append(args, "-icount", fmt.Sprintf("shift=%d,sleep=off", spec.ICount))
	}
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	// If this process dies, so does the VM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return -1, fmt.Errorf("vm: %w", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("vm: start qemu: %w", err)
	}
	code, tail := scanConsole(out, spec.Output, spec.QuietKernel)
	werr := cmd.Wait()
	if code >= 0 {
		return code, nil
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("vm: guest killed: %w; last console lines:\n%s", ctx.Err(), tail)
	}
	return -1, fmt.Errorf("vm: guest ended without an exit code (qemu: %v %s); last console lines:\n%s",
		werr, strings.TrimSpace(stderr.String()), tail)
}

// kernelLine matches a kernel console message.
var kernelLine = regexp.MustCompile(`^\[ *[0-9]+\.[0-9]+\] `)

// kernelPanic matches the line that says why the kernel stopped: a call trace
// after it can be longer than the tail the errors carry.
var kernelPanic = regexp.MustCompile(`\] (Kernel panic|BUG:|Oops|general protection fault)`)

// scanConsole copies the console to w and returns the exit code the guest
// reported (-1 if none) and the last lines seen.
func scanConsole(r io.Reader, w io.Writer, quietKernel bool) (int, string) {
	if w == nil {
		w = io.Discard
	}
	const keep = 40
	var last []string
	var panicked string // the kernel's first panic or oops line, kept past the window
	code := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if v, ok := strings.CutPrefix(line, exitMarker); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				code = n
			}
			continue
		}
		last = append(last, line)
		if panicked == "" && kernelPanic.MatchString(line) {
			panicked = line
		}
		if !quietKernel || !kernelLine.MatchString(line) {
			fmt.Fprintln(w, line)
		}
		if len(last) > keep {
			last = last[1:]
		}
	}
	io.Copy(io.Discard, r)
	if panicked != "" && !slices.Contains(last, panicked) {
		last = append([]string{panicked, "..."}, last...)
	}
	return code, strings.Join(last, "\n")
}

// buildInitramfs writes the initramfs for spec to a temporary file.
func buildInitramfs(k *Kernel, spec Spec) (string, error) {
	a := newArchive()
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/root", "/etc"} {
		a.dir(d)
	}
	a.chardev("/dev/console", 5, 1)
	a.chardev("/dev/null", 1, 3)
	if err := a.addProgram("/init", spec.Init); err != nil {
		return "", err
	}
	for _, p := range spec.Programs {
		if err := a.addHostFile(p); err != nil {
			return "", err
		}
	}
	mods, err := k.moduleClosure(spec.Modules)
	if err != nil {
		return "", err
	}
	gs := guestSpec{Args: spec.Args, Env: spec.Env, Dir: spec.Dir}
	if spec.Dir != "" {
		if err := a.tree(spec.Dir); err != nil {
			return "", err
		}
	}
	for _, m := range mods {
		dst := path.Join("/usr/lib/modules", k.Release, m.rel)
		a.file(dst, m.path, 0o644)
		gs.Modules = append(gs.Modules, dst)
	}
	b, err := json.Marshal(gs)
	if err != nil {
		return "", err
	}
	a.bytes(specPath, b, 0o644)

	f, err := os.CreateTemp("", "lvs-initramfs-*.cpio")
	if err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	if err := errors.Join(a.writeTo(f), f.Close()); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("vm: writing initramfs: %w", err)
	}
	return f.Name(), nil
}
