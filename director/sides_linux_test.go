package director_test

import (
	"io"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/sysctl"
)

// TestSidesReal runs directortest's suite on the real sides, each subtest
// in a new network namespace (root; the firewall with nftables; in the VM
// where the host lacks the dummy module).
func TestSidesReal(t *testing.T) {
	vmtest.Require(t, "dummy", "nf_tables")
	directortest.RunSides(t, func(t *testing.T) directortest.Sides {
		ns := int(nstest.NewBare(t))
		sc, err := sysctl.New(&sysctl.Config{NetNS: ns})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		l, err := director.OpenLinks(ns)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.(io.Closer).Close() })
		fw, err := iptables.New(&iptables.Config{NetNS: ns})
		if err != nil {
			t.Fatal(err)
		}
		return directortest.Sides{Sysctls: sc, Links: l, Firewall: fw}
	})
}
