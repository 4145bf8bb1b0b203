package ipvs

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/internal/kernel"
)

// TestKernelPolicyProbe (real kernel): the probe on the running kernel,
// then a GUE destination. Debian's 6.1 answers CTRL_CMD_GETPOLICY but, as
// mainline, describes IPVS_CMD_ATTR_DEST and _DAEMON without their nested
// policies, so its features are decided by its release (and all present).
func TestKernelPolicyProbe(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	svc := Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: RoundRobin}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if c.c.facts != nil {
		t.Fatal("the kernel was asked before a change used a feature")
	}
	before := c.Counters().Requests
	d := Destination{Addr: netip.MustParseAddrPort("10.0.0.1:53"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum}
	if err := c.CreateDestination(ctx, svc, d); err != nil {
		t.Fatalf("GUE destination: %v", err)
	}
	if got := c.Counters().Requests - before; got != 2 {
		t.Errorf("%d requests for the first GUE destination, want 2 (the probe and the change)", got)
	}
	facts := c.c.facts
	if facts == nil {
		t.Fatal("no probe")
	}
	answered := facts.noPolicy == ""
	t.Logf("kernel %v, CTRL_CMD_GETPOLICY answered: %v, nests whose policy it describes: %v; features:\n%s",
		facts.release, answered, facts.nests, facts)
	if !answered && facts.release.Major >= 6 {
		t.Errorf("a %v kernel refused CTRL_CMD_GETPOLICY: %s", facts.release, facts.noPolicy)
	}
	for _, f := range features {
		if err := facts.supports(f); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
	}
	got, err := c.Destination(ctx, svc, d.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if got.TunnelType != TunnelGUE || got.TunnelPort != 6080 || got.TunnelFlags != TunnelChecksum {
		t.Errorf("read back %+v, want GUE on 6080 with csum", got)
	}
	before = c.Counters().Requests
	d.Addr = netip.MustParseAddrPort("10.0.0.2:53")
	if err := c.CreateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	if got := c.Counters().Requests - before; got != 1 {
		t.Errorf("%d requests for the second GUE destination, want 1 (no second probe)", got)
	}
}

// TestKernelSchedulerMissing (real kernel): a scheduler the kernel has no
// module for (Debian's 6.1 is built without twos) is refused by the kernel
// with ENOENT, which the client reports as not available.
func TestKernelSchedulerMissing(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	svc := Service{Protocol: TCP, Addr: vip4, Scheduler: TwoRandomChoices}
	err := c.CreateService(ctx, svc)
	if err == nil {
		t.Skip("this kernel has the twos scheduler")
	}
	t.Logf("create: %v", err)
	if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, syscall.ENOENT) ||
		!strings.Contains(err.Error(), `scheduler "twos" is not available in this kernel`) {
		t.Errorf("create: %v, want the scheduler not available (ErrUnsupported, ENOENT)", err)
	}
	svc.Scheduler = RoundRobin
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.Scheduler = TwoRandomChoices
	if err := c.UpdateService(ctx, svc); !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("update: %v, want the scheduler not available", err)
	}
}

// TestSkipFeatureChecks: a client told to skip the release rule (for a
// backported kernel) accepts a GUE destination on a kernel it would refuse
// by release, and the real kernel takes it.
func TestSkipFeatureChecks(t *testing.T) {
	_, ns := testClient(t)
	c, err := New(&Config{NetNS: ns, SkipFeatureChecks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.c.kernel.IsZero() {
		t.Fatalf("the client still judges by release %v", c.c.kernel)
	}
	ctx := ctxT(t)
	svc := Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: RoundRobin}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	d := Destination{Addr: netip.MustParseAddrPort("10.0.0.1:53"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080}
	if err := c.CreateDestination(ctx, svc, d); err != nil {
		t.Fatal(err)
	}
	ds, err := c.Destinations(ctx, svc)
	if err != nil || len(ds) != 1 || ds[0].TunnelType != TunnelGUE || ds[0].TunnelPort != 6080 {
		t.Errorf("read back: %+v, %v", ds, err)
	}
	old := policyKernel(t, kernel.V(4, 19, 0), policyTest{}, syscall.EOPNOTSUPP, new([]string))
	if err := old.CreateDestination(ctx, gueSvc, gueTest); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("without SkipFeatureChecks a 4.19 kernel: %v, want ErrUnsupported", err)
	}
}
