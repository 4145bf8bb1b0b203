//go:build !linux

package labtest

import "testing"

// CheckNoLeaks does nothing on platforms without network namespaces.
func CheckNoLeaks(testing.TB) {}
