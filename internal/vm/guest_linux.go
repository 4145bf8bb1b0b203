package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// specPath is where the host puts the guest's instructions in the initramfs.
const specPath = "/lvs-guest/spec.json"

// guestSpec is what the guest's /init is told by the host.
type guestSpec struct {
	Args    []string // argv[1:]
	Env     []string // KEY=VALUE
	Modules []string // guest paths of .ko files, dependencies first
	Dir     string   // working directory
}

// exitMarker precedes the guest program's exit code on the console.
const exitMarker = "LVS-GUEST-EXIT: "

// IsGuest reports whether this process is the /init of a VM started by Run.
func IsGuest() bool {
	if os.Getpid() != 1 {
		return false
	}
	_, err := os.Stat(specPath)
	return err == nil
}

// Guest prepares the VM (mounts /proc, /sys and /dev; loads the
// modules; sets os.Args and the environment as the host asked), calls run,
// reports its exit code to the host and powers the VM off. It never returns.
func Guest(run func() int) {
	code := 1
	if err := setupGuest(); err != nil {
		fmt.Fprintf(os.Stderr, "vm guest: %v\n", err)
	} else {
		code = run()
	}
	os.Stdout.Sync()
	fmt.Printf("\n%s%d\n", exitMarker, code)
	unix.Sync()
	for {
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}
}

func setupGuest() error {
	mounts := []struct{ src, dst, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		// /tmp and /run stay on the initramfs, which is writable already:
		// a tmpfs on them would hide a working directory copied there.
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec guestSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	os.Clearenv()
	for _, kv := range append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/tmp", "TMPDIR=/tmp"}, spec.Env...) {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				os.Setenv(kv[:i], kv[i+1:])
				break
			}
		}
	}
	for _, m := range spec.Modules {
		if err := loadModule(m); err != nil {
			return err
		}
	}
	os.Args = append(os.Args[:1], spec.Args...)
	if spec.Dir != "" {
		if err := os.Chdir(spec.Dir); err != nil {
			return err
		}
	}
	return nil
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("module: %w", err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load module %s: %w", path, err)
	}
	return nil
}
