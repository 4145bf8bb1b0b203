package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// lookBin finds a program by name in $PATH, then in the sbin directories
// that an unprivileged $PATH often lacks.
func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in $PATH, /usr/sbin or /sbin (install the iptables package): %w", name, fs.ErrNotExist)
}

// run runs the program at path with args and stdin in network namespace ns
// (0: the caller's) and returns its standard output. A failure's error holds
// the program's standard error.
func run(ctx context.Context, ns int, path string, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var err error
	if ns == 0 {
		err = cmd.Start()
	} else {
		err = startIn(ns, cmd)
	}
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		return "", fmt.Errorf("%s: %s: %w", filepath.Base(path), msg, err)
	}
	return stdout.String(), nil
}

// startIn starts cmd inside network namespace ns.
//
// A child process inherits the network namespace of the thread that forks
// it, and os/exec forks from the calling goroutine's thread (syscall.forkExec
// runs synchronously on it). exec.Cmd's SysProcAttr can only make a new
// namespace (Cloneflags), not join an existing one, and starting "nsenter"
// would add a dependency on util-linux. So a fresh goroutine locks its
// thread, joins ns, starts cmd, and joins the original namespace again
// before unlocking. If switching back fails, the goroutine ends still
// locked, and the runtime then terminates that thread instead of reusing it:
// no thread ever returns to the scheduler in a foreign namespace. (Since Go
// 1.10 the runtime never clones new threads from a locked thread, so no other
// thread can inherit ns meanwhile.) The caller's thread never moves.
func startIn(ns int, cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(netns.NsHandle(ns)); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		startErr := cmd.Start()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			if startErr == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
			errc <- errors.Join(startErr, fmt.Errorf("restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- startErr
	}()
	return <-errc
}
