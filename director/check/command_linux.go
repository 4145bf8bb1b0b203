package check

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// finish waits for cmd's exit, kills what it leaves (its process group,
// and the processes carrying token in their environment: those that left
// the group by setsid), and reaps it, returning what cmd.Wait returns.
//
// The command's exit is waited for without reaping it (waitid WNOWAIT):
// while it is a zombie its process ID, which is its group's, cannot be
// reused, so killing the group cannot hit another process. A process that
// called setsid is in no group of ours; making the daemon a child
// subreaper (PR_SET_CHILD_SUBREAPER) would catch it, but that setting is
// the whole process's: every orphan of every library in it would become
// the daemon's to reap, and Go's os/exec waits only for its own children.
// A cgroup per check needs a delegated hierarchy. The token, inherited
// through fork, exec and setsid, finds them instead, at the cost of one
// pass over /proc per check; a process that clears its environment before
// daemonizing escapes it.
func finish(cmd *exec.Cmd, token string) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, syscall.EINTR) {
			break // on an error cmd.Wait says it
		}
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	killMarked(token)
	return cmd.Wait()
}

// killMarked kills every process whose environment holds tokenVar=token,
// until none is left (one may fork while the pass runs), at most a few
// passes.
func killMarked(token string) {
	mark := []byte(tokenVar + "=" + token + "\x00")
	for range 4 {
		procs, _ := filepath.Glob("/proc/[0-9]*/environ")
		killed := 0
		for _, p := range procs {
			env, err := os.ReadFile(p)
			if err != nil || !(bytes.HasPrefix(env, mark) || bytes.Contains(env, append([]byte{0}, mark...))) {
				continue
			}
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			if err == nil && pid != os.Getpid() && syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
		if killed == 0 {
			return
		}
	}
}
