package directortest

import (
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// Kernel is an in-memory network namespace with every side a Director
// acts on.
type Kernel struct {
	IPVS     *ipvstest.Fake
	Sysctls  *Sysctls
	Links    *Links
	Firewall *Firewall
}

// NewKernel returns a fresh namespace's sides: an empty IPVS, the
// DefaultSysctls, a loopback link (down) and no firewall rules.
func NewKernel() *Kernel {
	return &Kernel{IPVS: ipvstest.New(nil), Sysctls: NewSysctls(), Links: NewLinks(), Firewall: &Firewall{}}
}

// Options returns opts (nil: the zero Options) with the Kernel as its
// sides.
func (k *Kernel) Options(opts *director.Options) *director.Options {
	var o director.Options
	if opts != nil {
		o = *opts
	}
	o.IPVS, o.Sysctls, o.Links, o.Firewall = k.IPVS, k.Sysctls, k.Links, k.Firewall
	if o.KernelRelease == "" {
		o.KernelRelease = "6.1.0" // a kernel past every release-dependent default
	}
	return &o
}

// New returns a Director on a new Kernel, with opts (nil: the zero
// Options) for everything but the sides; it is closed when the test ends.
func New(tb testing.TB, opts *director.Options) (*director.Director, *Kernel) {
	tb.Helper()
	k := NewKernel()
	d, err := director.New(k.Options(opts))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d, k
}
