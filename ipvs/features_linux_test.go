package ipvs

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
)

// policyKernel is a fake kernel whose controller answers CTRL_CMD_GETPOLICY
// with policy (or refuses it with refuse) and which acknowledges every IPVS
// request; it records the commands it was sent, "ctrl" for the probe.
func policyKernel(t *testing.T, release kernel.Version, policy policyTest, refuse syscall.Errno, seen *[]string) *Client {
	c := fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		var gm genetlink.Message
		if err := gm.UnmarshalBinary(req.Data); err != nil {
			return nil, err
		}
		if req.Header.Type != genlIDCtrl {
			*seen = append(*seen, changeKinds[gm.Header.Command].op)
			return []netlink.Message{ack(req, 0)}, nil
		}
		*seen = append(*seen, "ctrl")
		if gm.Header.Command != ctrlCmdGetPolicy || req.Header.Flags&netlink.Dump == 0 {
			t.Errorf("controller request %+v, want a CTRL_CMD_GETPOLICY dump", gm.Header)
		}
		if ad := newAttrReader(gm.Data); !ad.Next() || ad.Type() != ctrlAttrFamilyID || ad.Uint16() != 30 {
			t.Errorf("GETPOLICY without the IPVS family's id 30: % x", gm.Data)
		}
		if refuse != 0 {
			return []netlink.Message{ack(req, refuse)}, nil
		}
		var out []netlink.Message
		for _, m := range policy.messages(30) {
			g, _ := (&genetlink.Message{Header: genetlink.Header{Command: ctrlCmdGetPolicy, Version: 2}, Data: m}).MarshalBinary()
			out = append(out, netlink.Message{Header: netlink.Header{Type: genlIDCtrl, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: g})
		}
		out = append(out, netlink.Message{Header: netlink.Header{Sequence: req.Header.Sequence, PID: req.Header.PID}})
		msgs, err := nltest.Multipart(out)
		if err != nil {
			t.Fatal(err)
		}
		return msgs, nil
	})
	c.kernel = release
	return &Client{c: c}
}

var gueSvc = Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53")}

// TestProbePolicyAcceptsGUE: a kernel whose policy has the tunnel
// attributes gets a GUE destination, even at a release older than
// upstream's (a backport): the probe, then the change.
func TestProbePolicyAcceptsGUE(t *testing.T) {
	var seen []string
	c := policyKernel(t, kernel.V(4, 18, 0), policyTest{ops: true, linked: true, dest: destAttrs5_3, daemon: daemonAttrs4_3}, 0, &seen)
	if err := c.CreateDestination(context.Background(), gueSvc, gueTest); err != nil {
		t.Fatal(err)
	}
	if want := "ctrl,create destination"; strings.Join(seen, ",") != want {
		t.Errorf("requests %v, want %s", seen, want)
	}
}

// TestProbePolicyLacksTunType: a kernel whose policy has no TUN_TYPE is
// refused a GUE destination before the change is sent, whatever its
// release.
func TestProbePolicyLacksTunType(t *testing.T) {
	var seen []string
	c := policyKernel(t, kernel.V(6, 1, 0), policyTest{linked: true, dest: destAttrs5_1, daemon: daemonAttrs4_3}, 0, &seen)
	err := c.CreateDestination(context.Background(), gueSvc, gueTest)
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "IPVS_DEST_ATTR_TUN_TYPE") {
		t.Errorf("err = %v, want ErrUnsupported naming IPVS_DEST_ATTR_TUN_TYPE", err)
	}
	var b Batch
	b.CreateService(gueSvc)
	b.CreateDestination(gueSvc, gueTest)
	_, err = c.Apply(context.Background(), &b)
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("batch: %v, want a *BatchError for change 1", err)
	}
	if want := "ctrl"; strings.Join(seen, ",") != want {
		t.Errorf("requests %v, want only the probe, once", seen)
	}
}

// TestProbeFallbackToRelease: a controller without CTRL_CMD_GETPOLICY
// (EOPNOTSUPP before 5.7; EINVAL, ENODATA) leaves the features to the
// release rule.
func TestProbeFallbackToRelease(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EOPNOTSUPP, syscall.EINVAL, syscall.ENODATA} {
		var seen []string
		old := policyKernel(t, kernel.V(4, 19, 0), policyTest{}, errno, &seen)
		err := old.CreateDestination(context.Background(), gueSvc, gueTest)
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "need Linux 5.2, this kernel is 4.19 (the kernel answers no IPVS policy: ") {
			t.Errorf("%v: GUE on 4.19: %v, want ErrUnsupported by release", errno, err)
		}
		newer := policyKernel(t, kernel.V(5, 4, 0), policyTest{}, errno, &seen)
		if err := newer.CreateDestination(context.Background(), gueSvc, gueTest); err != nil {
			t.Errorf("%v: GUE on 5.4: %v", errno, err)
		}
		if want := "ctrl,ctrl,create destination"; strings.Join(seen, ",") != want {
			t.Errorf("%v: requests %v, want %s", errno, seen, want)
		}
	}
	// Any other error is the change's and asks again next time.
	var seen []string
	c := policyKernel(t, kernel.V(6, 1, 0), policyTest{}, syscall.EPERM, &seen)
	for range 2 {
		err := c.CreateDestination(context.Background(), gueSvc, gueTest)
		var e *Error
		if !errors.As(err, &e) || e.Op != "read kernel policy" || !errors.Is(err, syscall.EPERM) {
			t.Errorf("EPERM: %v, want an *Error from the probe", err)
		}
	}
	if want := "ctrl,ctrl"; strings.Join(seen, ",") != want {
		t.Errorf("requests %v, want %s", seen, want)
	}
}

// TestProbeOncePerClient: the kernel is asked on the first change that
// uses a feature, once; changes that use none never ask.
func TestProbeOncePerClient(t *testing.T) {
	var seen []string
	c := policyKernel(t, kernel.V(6, 1, 0), policyTest{ops: true, linked: true, dest: destAttrs5_3, daemon: daemonAttrs4_3}, 0, &seen)
	ctx := context.Background()
	if err := c.CreateService(ctx, gueSvc); err != nil {
		t.Fatal(err)
	}
	if got := c.Counters().Requests; got != 1 {
		t.Errorf("%d requests after a change without features, want 1 (no probe)", got)
	}
	for _, d := range []Destination{gueTest, greTest} {
		if err := c.CreateDestination(ctx, gueSvc, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.StartSyncDaemon(ctx, SyncDaemon{State: SyncBackup, Interface: "eth0", TTL: 2}); err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.UpdateDestination(gueSvc, gueTest)
	if _, err := c.Apply(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if got := c.Counters().Requests; got != 6 {
		t.Errorf("%d requests, want 6: five changes and one probe", got)
	}
	if want := "create service,ctrl,create destination,create destination,start sync daemon,update destination"; strings.Join(seen, ",") != want {
		t.Errorf("requests %v, want %s", seen, want)
	}
}

// TestSchedulerNotAvailable: the kernel's ENOENT for a new or updated
// service says the scheduler is missing, and matches errors.ErrUnsupported
// as well as the errno and fs.ErrNotExist.
func TestSchedulerNotAvailable(t *testing.T) {
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		return []netlink.Message{ack(req, syscall.ENOENT)}, nil
	})}
	ctx := context.Background()
	twos := Service{Protocol: TCP, Addr: vip4test, Scheduler: TwoRandomChoices}
	var b Batch
	b.CreateService(Service{Protocol: TCP, Addr: vip4test, Scheduler: RoundRobin, PersistenceEngine: "sip", Timeout: 60e9})
	b.DeleteService(twos)
	results, err := c.Apply(ctx, &b)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		err         error
		msg         string
		unsupported bool
	}{
		"create":      {c.CreateService(ctx, twos), `ipvs: create service: scheduler "twos" is not available in this kernel (no module ip_vs_twos): no such file or directory`, true},
		"update":      {c.UpdateService(ctx, twos), `ipvs: update service: scheduler "twos" is not available in this kernel (no module ip_vs_twos): no such file or directory`, true},
		"batch, sip":  {results[0], `ipvs: create service: scheduler "rr" or persistence engine "sip" is not available in this kernel (no module ip_vs_rr or ip_vs_pe_sip): no such file or directory`, true},
		"delete":      {results[1], `ipvs: delete service: no such file or directory`, false},
		"update, wlc": {c.UpdateService(ctx, Service{Protocol: TCP, Addr: vip4test}), `ipvs: update service: scheduler "wlc" is not available in this kernel (no module ip_vs_wlc): no such file or directory`, true},
	} {
		if !errors.Is(tc.err, syscall.ENOENT) || !errors.Is(tc.err, fs.ErrNotExist) || errors.Is(tc.err, errors.ErrUnsupported) != tc.unsupported {
			t.Errorf("%s: %v: want ENOENT, fs.ErrNotExist and ErrUnsupported %v", name, tc.err, tc.unsupported)
		}
		var e *Error
		if !errors.As(tc.err, &e) {
			t.Errorf("%s: %T, want *Error", name, tc.err)
		}
		if tc.err != nil && tc.err.Error() != tc.msg {
			t.Errorf("%s: message\n%q, want\n%q", name, tc.err, tc.msg)
		}
	}
}

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

// TestUnsupportedFeatureError: a feature the kernel lacks is a typed error
// naming the feature, the release that brought it and why, matching
// errors.ErrUnsupported and nothing the kernel's errors match; Apply
// returns it in a *BatchError.
func TestUnsupportedFeatureError(t *testing.T) {
	byRelease := (&kernelFacts{release: kernel.V(4, 19, 0), noPolicy: "the kernel answers no IPVS policy: operation not supported"}).supports(&featGUE)
	byPolicy := policyTest{ops: true, linked: true, dest: destAttrs5_1, daemon: daemonAttrs4_3}.facts(t, kernel.V(6, 1, 0)).supports(&featGRE)
	for err, want := range map[error]UnsupportedFeatureError{
		byRelease: {Feature: "GUE tunnel destinations", MinRelease: "5.2", Release: "4.19", Reason: "the kernel answers no IPVS policy: operation not supported"},
		byPolicy:  {Feature: "GRE tunnel destinations", MinRelease: "5.3", Attribute: "IPVS_DEST_ATTR_TUN_TYPE", Reason: "IPVS_CMD_NEW_DEST in IPVS_CMD_ATTR_DEST"},
	} {
		var ue *UnsupportedFeatureError
		if !errors.As(err, &ue) || *ue != want {
			t.Errorf("%#v, want %+v", err, want)
			continue
		}
		if !errors.Is(err, errors.ErrUnsupported) || errors.Is(err, ErrInvalid) || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: matches ErrUnsupported %v, ErrInvalid %v, fs.ErrNotExist %v; want only the first",
				err, errors.Is(err, errors.ErrUnsupported), errors.Is(err, ErrInvalid), errors.Is(err, fs.ErrNotExist))
		}
	}
	if want := "ipvs: GRE tunnel destinations need IPVS_DEST_ATTR_TUN_TYPE, which this kernel's IPVS policy lacks (IPVS_CMD_NEW_DEST in IPVS_CMD_ATTR_DEST): unsupported operation"; byPolicy.Error() != want {
		t.Errorf("message %q, want %q", byPolicy, want)
	}

	c := policyKernel(t, kernel.V(4, 19, 0), policyTest{}, syscall.EOPNOTSUPP, new([]string))
	var b Batch
	b.CreateService(gueSvc)
	b.CreateDestination(gueSvc, greTest)
	_, err := c.Apply(context.Background(), &b)
	var be *BatchError
	var ue *UnsupportedFeatureError
	if !errors.As(err, &be) || be.Index != 1 || !errors.As(err, &ue) || ue.Feature != "GRE tunnel destinations" || ue.Release != "4.19" {
		t.Errorf("Apply: %v, want a *BatchError for change 1 with an *UnsupportedFeatureError for GRE on 4.19", err)
	}
	if err := c.CreateDestination(context.Background(), gueSvc, gueTest); !errors.As(err, &ue) || ue.MinRelease != "5.2" {
		t.Errorf("CreateDestination: %v, want an *UnsupportedFeatureError for GUE (5.2)", err)
	}
}
