//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "cluster: needs Linux (network namespaces, IPVS), not %s\n", runtime.GOOS)
	os.Exit(1)
}
