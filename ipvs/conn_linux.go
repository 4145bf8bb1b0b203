package ipvs

import (
	"os"
	"runtime"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// openProcNet opens /proc/net/<name> of the client's namespace: a thread
// inside it opens /proc/thread-self/net, which the kernel resolves to that
// thread's namespace; the open file stays that namespace's, read from any
// thread.
func (c *client) openProcNet(name string) (*os.File, error) {
	var f *os.File
	open := func() error {
		var err error
		f, err = os.Open("/proc/thread-self/net/" + name)
		return err
	}
	var err error
	if c.netns != 0 {
		err = netnsx.Do(c.netns, open)
	} else {
		runtime.LockOSThread()
		err = open()
		runtime.UnlockOSThread()
	}
	return f, err
}
