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
		"create":      {c.CreateService(ctx, twos), `ipvs: create service tcp 10.0.0.100:80: scheduler "twos" is not available in this kernel (no module ip_vs_twos): no such file or directory`, true},
		"update":      {c.UpdateService(ctx, twos), `ipvs: update service tcp 10.0.0.100:80: scheduler "twos" is not available in this kernel (no module ip_vs_twos): no such file or directory`, true},
		"batch, sip":  {results[0], `ipvs: create service tcp 10.0.0.100:80: scheduler "rr" or persistence engine "sip" is not available in this kernel (no module ip_vs_rr or ip_vs_pe_sip): no such file or directory`, true},
		"delete":      {results[1], `ipvs: delete service tcp 10.0.0.100:80: no such file or directory`, false},
		"update, wlc": {c.UpdateService(ctx, Service{Protocol: TCP, Addr: vip4test}), `ipvs: update service tcp 10.0.0.100:80: scheduler "wlc" is not available in this kernel (no module ip_vs_wlc): no such file or directory`, true},
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
