package director

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// commandProber is the "command" check: healthy when the command, started
// in the director's namespace with LVS_RS_ADDR and LVS_RS_PORT set, exits 0.
type commandProber struct{ argv []string }

func newCommandProber(c *Check) (prober, error) {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return nil, errors.New("needs a command")
	}
	return commandProber{slices.Clone(c.Command)}, nil
}

// portless: the command connects where it likes; LVS_RS_PORT is 0 on a
// firewall-mark service checked without a port.
func (commandProber) portless() {}

// commandWaitDelay bounds how long a timed-out command's output pipes may
// keep Wait waiting after the kill.
const commandWaitDelay = time.Second

func (p commandProber) probe(ctx context.Context, env probeEnv, addr netip.AddrPort) error {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), "LVS_RS_ADDR="+addr.Addr().String(), "LVS_RS_PORT="+strconv.Itoa(int(addr.Port())))
	// Its own process group, killed whole when the check times out: a
	// shell script's children go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	if err := env.start(cmd); err != nil {
		return err
	}
	return cmd.Wait()
}
