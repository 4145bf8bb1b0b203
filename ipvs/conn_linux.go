package ipvs

import (
	"os"
	"runtime"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// readProcNet reads /proc/net/<name> of the client's namespace: a thread
// inside it opens /proc/thread-self/net, which the kernel resolves to that
// thread's namespace.
func (c *client) readProcNet(name string) (string, error) {
	var b []byte
	read := func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/" + name)
		return err
	}
	var err error
	if c.netns != 0 {
		err = netnsx.Do(c.netns, read)
	} else {
		runtime.LockOSThread()
		err = read()
		runtime.UnlockOSThread()
	}
	return string(b), err
}
