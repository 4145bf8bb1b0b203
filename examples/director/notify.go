package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// notifier sends systemd's sd_notify messages to $NOTIFY_SOCKET: a
// datagram of newline-separated assignments to a unix socket (abstract
// when its name starts with @). A nil notifier (not run by systemd) sends
// nothing.
type notifier struct {
	conn *net.UnixConn
}

// newNotifier connects to $NOTIFY_SOCKET, and unsets it so that processes
// the director starts (command checks) do not notify in its name; nil
// without it.
func newNotifier() *notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	os.Unsetenv("NOTIFY_SOCKET")
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil
	}
	return &notifier{conn: c}
}

// send sends state, e.g. "READY=1"; errors are systemd's to notice.
func (n *notifier) send(state string) {
	if n == nil {
		return
	}
	n.conn.Write([]byte(state))
}

// reloadingMessage is RELOADING=1 with the monotonic time systemd's
// Type=notify-reload wants beside it.
func reloadingMessage() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000)
}

// watchdogInterval is systemd's WatchdogSec for this process, from
// $WATCHDOG_USEC (when $WATCHDOG_PID, if set, is this process); zero if
// none.
func watchdogInterval() time.Duration {
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}
