package ipvs

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/internal/kernel"
	"github.com/mdlayher/netlink"
)

// TestKernelErrorsNameTheirObject: a change or query the kernel refuses
// comes back as an *Error naming the service, destination or sync daemon
// it named (read back from the request), in its fields and its message,
// matching what the errno stands for; a batch's results each name their
// own change's.
func TestKernelErrorsNameTheirObject(t *testing.T) {
	a := Service{Protocol: TCP, Addr: vip4test, Scheduler: RoundRobin}
	missing := Service{Protocol: UDP, Addr: vip4test}
	fwm6 := Service{FirewallMark: 7, Family: IPv6}
	rs := Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: DirectRoute, Weight: 1}
	bcast := Destination{Addr: netip.MustParseAddrPort("255.255.255.255:80"), Forward: DirectRoute, Weight: 1}
	// The kernel's answer to each request, in the order they are sent.
	answers := []syscall.Errno{syscall.EEXIST, syscall.ESRCH, syscall.ENOENT, syscall.EINVAL, 0, // the batch
		syscall.ESRCH, syscall.ESRCH, // the queries
		syscall.EEXIST, syscall.ESRCH, syscall.ENODEV, syscall.ESRCH, syscall.EPERM} // the single changes
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		errno := answers[0]
		answers = answers[1:]
		return []netlink.Message{ack(req, errno)}, nil
	})}
	ctx := context.Background()
	var b Batch
	b.CreateService(a)
	b.CreateDestination(missing, rs)
	b.DeleteDestination(fwm6, Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:0")})
	b.CreateDestination(a, bcast)
	b.DeleteService(a)
	results, err := c.Apply(ctx, &b)
	if err != nil || len(results) != 5 || results[4] != nil {
		t.Fatalf("batch: %v, %v", results, err)
	}
	_, errGet := c.Service(ctx, a)
	_, errList := c.Destinations(ctx, missing)
	for _, tc := range []struct {
		err     error
		msg     string
		svc     Key
		dest    netip.AddrPort
		daemon  SyncState
		matches []error
	}{
		{results[0], "ipvs: create service tcp 10.0.0.100:80: service already exists", a.Key(), netip.AddrPort{}, 0,
			[]error{fs.ErrExist, syscall.EEXIST}},
		{results[1], "ipvs: create destination 10.0.0.110:80 in udp 10.0.0.100:80: no such service", missing.Key(), rs.Addr, 0,
			[]error{fs.ErrNotExist, syscall.ESRCH}},
		{results[2], "ipvs: delete destination [2001:db8::1]:0 in fwmark 7 ipv6: no such destination", fwm6.Key(),
			netip.MustParseAddrPort("[2001:db8::1]:0"), 0, []error{fs.ErrNotExist, syscall.ENOENT}},
		{results[3], "ipvs: create destination 255.255.255.255:80 in tcp 10.0.0.100:80: invalid argument", a.Key(), bcast.Addr, 0,
			[]error{ErrInvalid, fs.ErrInvalid, syscall.EINVAL}},
		{c.StartSyncDaemon(ctx, SyncDaemon{State: SyncBackup, Interface: "eth0"}), "ipvs: start sync daemon backup: sync daemon already running",
			Key{}, netip.AddrPort{}, SyncBackup, []error{fs.ErrExist}},
		{c.StopSyncDaemon(ctx, SyncMaster), "ipvs: stop sync daemon master: no such sync daemon", Key{}, netip.AddrPort{}, SyncMaster,
			[]error{fs.ErrNotExist, syscall.ESRCH}},
		{c.StartSyncDaemon(ctx, SyncDaemon{State: SyncMaster, Interface: "eth9"}), "ipvs: start sync daemon master: no such interface",
			Key{}, netip.AddrPort{}, SyncMaster, []error{fs.ErrNotExist, syscall.ENODEV}},
		{c.ZeroService(ctx, fwm6), "ipvs: zero fwmark 7 ipv6: no such service", fwm6.Key(), netip.AddrPort{}, 0, []error{fs.ErrNotExist}},
		{errGet, "ipvs: get service tcp 10.0.0.100:80: no such service", a.Key(), netip.AddrPort{}, 0, []error{fs.ErrNotExist}},
		{errList, "ipvs: list destinations udp 10.0.0.100:80: no such service", missing.Key(), netip.AddrPort{}, 0, []error{fs.ErrNotExist}},
		{c.ZeroAll(ctx), "ipvs: zero: operation not permitted", Key{}, netip.AddrPort{}, 0, []error{fs.ErrPermission, syscall.EPERM}},
	} {
		var e *Error
		if !errors.As(tc.err, &e) {
			t.Errorf("%v: %T, want *Error", tc.err, tc.err)
			continue
		}
		if e.Service != tc.svc || e.Destination != tc.dest || e.Daemon != tc.daemon {
			t.Errorf("%v names %v, %v, %v; want %v, %v, %v", e, e.Service, e.Destination, e.Daemon, tc.svc, tc.dest, tc.daemon)
		}
		if e.Error() != tc.msg {
			t.Errorf("message\n%q, want\n%q", e, tc.msg)
		}
		for _, m := range tc.matches {
			if !errors.Is(tc.err, m) {
				t.Errorf("%v does not match %v", tc.err, m)
			}
		}
		var ve *ValidationError
		if errno, _ := e.Err.(syscall.Errno); errno != syscall.EINVAL && errors.Is(tc.err, ErrInvalid) || errors.As(tc.err, &ve) {
			t.Errorf("the kernel's %v matches ErrInvalid or is a *ValidationError", tc.err)
		}
	}
	if len(answers) != 0 {
		t.Errorf("%d answers left: a call sent no request", len(answers))
	}
}

// TestUnacknowledgedChangesNameTheirObject: when the socket fails, each
// change never acknowledged names what it changes, while the call's own
// error names only the batch.
func TestUnacknowledgedChangesNameTheirObject(t *testing.T) {
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		return nil, syscall.EIO
	})}
	d := Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Weight: 1}
	var b Batch
	b.CreateDestination(Service{Protocol: TCP, Addr: vip4test}, d)
	b.DeleteService(Service{FirewallMark: 3})
	results, err := c.Apply(context.Background(), &b)
	var e *Error
	if !errors.As(err, &e) || e.Op != "apply batch" || e.Service != (Key{}) || !errors.Is(err, syscall.EIO) {
		t.Errorf("the call's error %#v, want an *Error of \"apply batch\" naming nothing", err)
	}
	for i, want := range []string{
		"ipvs: create destination 10.0.0.110:80 in tcp 10.0.0.100:80: ipvs: change sent, not acknowledged",
		"ipvs: delete service fwmark 3: ipvs: change sent, not acknowledged",
	} {
		if !errors.Is(results[i], ErrUnacknowledged) || results[i].Error() != want {
			t.Errorf("result %d: %v, want %q", i, results[i], want)
		}
	}
}

// TestErrorWithoutObject: an *Error naming nothing (the fake's and an
// older caller's) reads as the errno says, and a wrapped errno keeps its
// own message.
func TestErrorWithoutObject(t *testing.T) {
	for err, want := range map[*Error]string{
		{Op: "create service", Err: syscall.EEXIST}:                                                       "ipvs: create service: file exists",
		{Op: "delete service", Err: syscall.ESRCH}:                                                        "ipvs: delete service: no such process",
		{Op: "create service", Service: Key{FirewallMark: 1, Family: IPv4}, Err: syscall.EIO}:             "ipvs: create service fwmark 1: input/output error",
		{Op: "get destination", Destination: netip.MustParseAddrPort("10.0.0.1:80"), Err: syscall.ENOENT}: "ipvs: get destination 10.0.0.1:80: no such destination",
		{Op: "list services", Err: context.Canceled}:                                                      "ipvs: list services: context canceled",
	} {
		if got := err.Error(); got != want {
			t.Errorf("%#v: %q, want %q", err, got, want)
		}
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

// TestNewElsewhere: on a system other than Linux, opening a client fails
// with an error matching errors.ErrUnsupported (the socket is all that is
// Linux's); on Linux, see the real-kernel tests.
func TestNewElsewhere(t *testing.T) {
	if runtime.GOOS == "linux" {
		t.Skip("Linux has the socket")
	}
	c, err := New(nil)
	var e *Error
	if c != nil || !errors.As(err, &e) || e.Op != "dial" || !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Fatalf("New on %s: %v, %v; want an *Error of \"dial\" matching errors.ErrUnsupported", runtime.GOOS, c, err)
	}
}
