//go:build !linux

package vm

import (
	"fmt"
	"os"
	"runtime"
)

// Main reports that the program needs Linux and exits.
func Main(modules, programs []string, run func() int) {
	fmt.Fprintf(os.Stderr, "this program needs Linux with %v; this is %s\n", modules, runtime.GOOS)
	os.Exit(1)
}
