//go:build !linux

package director

import (
	"os"
	"testing"
)

func testMain(m *testing.M) { os.Exit(m.Run()) }
