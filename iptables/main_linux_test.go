package iptables

import (
	"testing"

	"github.com/lvs-go/lvs/internal/vmtest"
)

// labModules are what the lab 6 test needs in the real-kernel tier: IPVS
// with rr, nf_tables for the marks, and veth and bridge for the topology.
var labModules = []string{"ip_vs", "ip_vs_rr", "nf_tables", "veth", "bridge"}

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: labModules})
}
