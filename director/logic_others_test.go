//go:build !linux

package director_test

import "testing"

// kernelNamespace skips: the real-kernel tier is Linux's.
func kernelNamespace(t *testing.T) int {
	t.Skip("IPVS is Linux's")
	return 0
}
