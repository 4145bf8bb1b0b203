package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Command is the "command" check: healthy when the command, started by
// the Env (in the director's network namespace) with LVS_RS_ADDR and
// LVS_RS_PORT in its environment, exits 0. LVS_RS_PORT is 0 for a target
// without a port (a firewall-mark service's real server checked without
// a port). It runs in a process group of its own, killed whole when the
// check ends, by the command's exit or the check's timeout: nothing it
// started in the background outlives the check. On Linux a process that
// left the group (setsid, a daemon) is found by LVS_CHECK_TOKEN, a random
// value in the command's environment that its descendants inherit, and
// killed too (a process that clears its environment escapes this; see
// finish). Its standard output is discarded; of its standard error the
// check keeps the first 512 bytes, for the error of a failed check, and
// discards the rest.
type Command struct {
	// Argv is the command and its arguments (no shell).
	Argv []string `json:"command,omitempty"`
}

// Type is "command".
func (Command) Type() string { return "command" }

// Compile checks that there is a command.
func (c Command) Compile() (Checker, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return nil, errors.New("needs a command")
	}
	return commandChecker{slices.Clone(c.Argv)}, nil
}

type commandChecker struct{ argv []string }

// commandWaitDelay bounds how long a timed-out command's output pipes may
// keep Wait waiting after the kill.
const commandWaitDelay = time.Second

// commandStderr is how much of the command's standard error a failed
// check reports.
const commandStderr = 512

func (p commandChecker) Check(ctx context.Context, env Env, target netip.AddrPort) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	token := checkToken()
	cmd.Env = append(os.Environ(), "LVS_RS_ADDR="+target.Addr().String(), "LVS_RS_PORT="+strconv.Itoa(int(target.Port())),
		tokenVar+"="+token)
	// Its own process group, killed whole when the check times out or
	// ends: a shell script's children go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	stderr := &headWriter{max: commandStderr}
	cmd.Stderr = stderr
	if err := env.Start(cmd); err != nil {
		return err
	}
	err := finish(cmd, token)
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		// It exited 0; something it left running holds its stderr.
		err = nil
	}
	if msg := strings.TrimSpace(stderr.b.String()); err != nil && msg != "" {
		return fmt.Errorf("%w (stderr: %q)", err, msg)
	}
	return err
}

// tokenVar is the environment variable that marks a command check's
// processes.
const tokenVar = "LVS_CHECK_TOKEN"

// checkToken is a new random token for one run of a command.
func checkToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// headWriter keeps the first max bytes written to it and discards the
// rest, never failing (so that the command never blocks on a full pipe).
type headWriter struct {
	b   bytes.Buffer
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
