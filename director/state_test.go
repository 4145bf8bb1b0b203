package director_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/sysctl"
)

// writeState writes a state file of mode 0600 in a new directory.
func writeState(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStateFileRefused: a state file is refused, with an error saying
// why, when it is not what the director writes: another user's, null,
// only unknown fields, data after the object, a directory, a FIFO (at
// once: opening it does not wait for a writer).
func TestStateFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
		is                  error
	}{
		{"null", "null", "null", fs.ErrInvalid},
		{"unknown fields only", `{"service":[1],"vip":"10.0.0.1"}`, "none of a state file's fields", fs.ErrInvalid},
		{"trailing data", `{"marks":true} {"marks":false}`, "after top-level value", nil},
		{"array", `[]`, "cannot unmarshal array", nil},
		{"empty", ``, "unexpected end", nil},
		{"bad sysctl key", `{"sysctls":[{"Key":"net/../../etc","Value":"1"}]}`, "net/../../etc", sysctl.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := director.LoadStateFile(writeState(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) || tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%q: %v, want an error saying %q (is %v)", tc.content, err, tc.want, tc.is)
			}
		})
	}
	t.Run("unknown fields with known ones", func(t *testing.T) {
		// A newer director's file: its own fields are kept.
		if _, vips, err := director.LoadStateFile(writeState(t, `{"vips":[{"address":"10.0.0.8"}],"later":1}`)); err != nil || len(vips) != 1 {
			t.Errorf("%v %v", vips, err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, _, err := director.LoadStateFile(dir)
		if err == nil || !strings.Contains(err.Error(), "is a directory") || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("a directory: %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skip("no FIFO:", err)
		}
		done := make(chan error, 1)
		go func() { _, _, err := director.LoadStateFile(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("a FIFO: %v", err)
			}
		case <-time.After(10 * time.Second):
			// Unblock the open so the goroutine ends.
			if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
			t.Fatal("loading a FIFO as the state file hangs")
		}
	})
	t.Run("another owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a file away")
		}
		path := writeState(t, `{"sysctls":[{"Key":"net.ipv4.ip_forward","Value":"0"}]}`)
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, _, err := director.LoadStateFile(path)
		if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("another user's state file: %v", err)
		}
		if _, err := director.New(directortest.NewKernel().Options(&director.Options{StateFile: path})); err == nil {
			t.Error("New accepted another user's state file")
		}
	})
}

// TestTeardownRestoresOnlyDirectorSysctls: Teardown puts back the sysctls
// under net. a state file lists, and refuses one the director never sets
// (here kernel.core_pattern, which a state file could use to run a
// command as root), saying so.
func TestTeardownRestoresOnlyDirectorSysctls(t *testing.T) {
	path := writeState(t, `{"sysctls":[{"Key":"net.ipv4.ip_forward","Value":"0"},{"Key":"kernel.core_pattern","Value":"|/tmp/x"}]}`)
	k := directortest.NewKernel()
	k.Sysctls.Set(sysctl.IPv4Forward, "1")
	k.Sysctls.Set("kernel.core_pattern", "core")
	d, err := director.New(k.Options(&director.Options{StateFile: path}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.Teardown(stepCtx(t))
	if err == nil || !strings.Contains(err.Error(), "kernel.core_pattern") || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Teardown: %v, want kernel.core_pattern refused", err)
	}
	if v, _ := k.Sysctls.Value("kernel.core_pattern"); v != "core" {
		t.Errorf("kernel.core_pattern = %q after Teardown: written from the state file", v)
	}
	if v, _ := k.Sysctls.Value(sysctl.IPv4Forward); v != "0" {
		t.Errorf("ip_forward = %q after Teardown, want the state file's 0", v)
	}
}
