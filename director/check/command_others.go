//go:build !linux

package check

import (
	"os/exec"
	"syscall"
)

// finish waits for cmd and kills what it leaves in its process group;
// the group's ID, the command's process ID, may in theory have been
// reused by then. Processes that left the group are not found on this
// system.
func finish(cmd *exec.Cmd, _ string) error {
	err := cmd.Wait()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return err
}
