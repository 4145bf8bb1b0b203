package director_test

import (
	"testing"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// kernelNamespace is the director namespace of a new NAT lab on a kernel
// with IPVS (the VM tier where the host has none).
func kernelNamespace(t *testing.T) int {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "ip_vs_mh", "veth", "bridge")
	l := labtest.Build(t, lab.NAT())
	return int(labtest.Host(t, l, lab.Director).NS())
}
