//go:build !linux

package main

import (
	"fmt"
	"os"
)

func start() int {
	fmt.Fprintln(os.Stderr, "versus: IPVS and keepalived are Linux's")
	return 1
}
