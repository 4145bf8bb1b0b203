package ipvs

import (
	"context"
	"errors"
	"io/fs"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/internal/kernel"
)

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
