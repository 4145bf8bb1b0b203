package directortest_test

import (
	"testing"

	"github.com/lvs-go/lvs/director/directortest"
)

func TestSidesFake(t *testing.T) {
	directortest.RunSides(t, func(*testing.T) directortest.Sides {
		k := directortest.NewKernel()
		return directortest.Sides{Sysctls: k.Sysctls, Links: k.Links, Firewall: k.Firewall}
	})
}
