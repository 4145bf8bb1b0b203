package kernel

import (
	"os"

	"golang.org/x/sys/unix"
)

// Release returns the running kernel's release as uname prints it
// ("6.1.0-57-amd64").
func Release() (string, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return "", os.NewSyscallError("uname", err)
	}
	return unix.ByteSliceToString(uts.Release[:]), nil
}
