package ipvstest_test

import (
	"testing"

	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// TestConformanceKernel holds the real kernel to the suite the Fake
// passes: what the suite asserts is what the kernel does.
func TestConformanceKernel(t *testing.T) { ipvstest.RunConformance(t, kernelClient) }
