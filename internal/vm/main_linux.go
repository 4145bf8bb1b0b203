package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// HostHas reports whether every module is present in the running kernel,
// loading it with modprobe when the host's module tree has it.
func HostHas(modules []string) bool {
	for _, m := range modules {
		name := strings.ReplaceAll(m, "-", "_")
		if _, err := os.Stat(filepath.Join("/sys/module", name)); err == nil {
			continue
		}
		if os.Geteuid() != 0 || exec.Command("modprobe", "-q", m).Run() != nil {
			return false
		}
		if _, err := os.Stat(filepath.Join("/sys/module", name)); err != nil {
			return false
		}
	}
	return true
}

// Main is for programs (the examples) that need kernel modules the host may
// lack: it runs run here when the host kernel has the modules, and otherwise
// boots a VM with this same program as /init, passing its arguments, and
// runs run there. It exits with run's exit code. LVS_VM=1 forces the VM.
func Main(modules, programs []string, run func() int) {
	if IsGuest() {
		Guest(run)
	}
	if os.Getenv("LVS_VM") != "1" && HostHas(modules) {
		os.Exit(run())
	}
	if err := Available(); err != nil {
		fmt.Fprintf(os.Stderr, "this host's kernel lacks %v and no VM can be started: %v\n", modules, err)
		os.Exit(1)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "(this kernel lacks %v: running in a QEMU guest on Debian's kernel)\n", modules)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LVS_") {
			env = append(env, kv)
		}
	}
	code, err := Run(ctx, Spec{Init: self, Args: os.Args[1:], Env: env, Modules: modules, Programs: programs, Output: os.Stdout, QuietKernel: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}
