package ipvstest_test

import (
	"fmt"
	"testing"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestConformanceFake runs the suite the kernel passes on Fakes of several
// hash salts (the kernel's differ per namespace).
func TestConformanceFake(t *testing.T) {
	for _, salt := range []uint8{0, 0x30, 0xe7} {
		t.Run(fmt.Sprintf("salt=%d", salt), func(t *testing.T) {
			ipvstest.RunConformance(t, func(*testing.T) ipvs.API { return ipvstest.New(&ipvstest.Config{HashSalt: salt}) })
		})
	}
}
