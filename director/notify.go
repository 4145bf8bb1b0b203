package director

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lvs-go/lvs/director/vrrp"
)

// hooks runs a Run's Notify commands: started in the director's namespace,
// not waited for by the loop, each killed (its process group) after
// NotifyTimeout; what fails is sent on errs, for Run to report.
type hooks struct {
	d    *Director
	wg   sync.WaitGroup
	errs chan error
}

func newHooks(d *Director) *hooks { return &hooks{d: d, errs: make(chan error, 16)} }

// run starts argv with env added to the director's environment; a nil
// argv does nothing.
func (h *hooks) run(argv []string, env ...string) {
	if argv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), NotifyTimeout)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = commandWaitDelay
	if err := h.d.start(cmd); err != nil {
		cancel()
		h.fail(argv, err)
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		if err := cmd.Wait(); err != nil {
			h.fail(argv, err)
		}
	}()
}

// fail passes err on to Run, unless too many are waiting already.
func (h *hooks) fail(argv []string, err error) {
	select {
	case h.errs <- fmt.Errorf("director: notify command %s: %w", argv[0], err):
	default:
	}
}

// wait waits for the commands still running.
func (h *hooks) wait() { h.wg.Wait() }

// realServer runs s's command for a real server's health change.
func (h *hooks) realServer(s *service, e Event) {
	if s == nil || s.notify == nil {
		return
	}
	argv, event := s.notify.RealServerDown, "realserver_down"
	if e.Healthy {
		argv, event = s.notify.RealServerUp, "realserver_up"
	}
	env := append(serviceEnv(s, event), "LVS_RS_ADDR="+e.RealServer.Addr().String(), "LVS_RS_PORT="+strconv.Itoa(int(e.RealServer.Port())))
	if e.Err != nil {
		env = append(env, "LVS_REASON="+e.Err.Error())
	}
	h.run(argv, env...)
}

// quorum runs s's command for a change of its quorum.
func (h *hooks) quorum(s *service, e QuorumEvent) {
	if s == nil || s.notify == nil {
		return
	}
	argv, event := s.notify.QuorumDown, "quorum_down"
	if e.Up {
		argv, event = s.notify.QuorumUp, "quorum_up"
	}
	h.run(argv, append(serviceEnv(s, event), "LVS_IN_SERVICE="+strconv.Itoa(e.InService), "LVS_QUORUM="+strconv.Itoa(e.Quorum))...)
}

func serviceEnv(s *service, event string) []string {
	k, _ := s.svc.Key().MarshalText()
	return []string{"LVS_EVENT=" + event, "LVS_SERVICE=" + string(k), "LVS_SERVICE_NAME=" + s.name}
}

// vrrp runs n's commands for a VRRP instance's (kind "INSTANCE") or sync
// group's ("GROUP") change to state to: the state's command, and Any with
// keepalived's four arguments.
func (h *hooks) vrrp(n *VRRPNotify, kind, name string, to vrrp.State, prio uint8) {
	if n == nil {
		return
	}
	var argv []string
	switch to {
	case vrrp.Master:
		argv = n.Master
	case vrrp.Backup:
		argv = n.Backup
	case vrrp.Fault:
		argv = n.Fault
	case vrrp.Stopped:
		argv = n.Stop
	default:
		return
	}
	state, p := to.String(), strconv.Itoa(int(prio))
	env := []string{"LVS_EVENT=vrrp_" + strings.ToLower(state), "LVS_VRRP_" + kind + "=" + name, "LVS_VRRP_STATE=" + state, "LVS_VRRP_PRIORITY=" + p}
	h.run(argv, env...)
	if n.Any != nil {
		h.run(append(slices.Clone(n.Any), kind, name, state, p), env...)
	}
}
