package iptables

import (
	"context"
	"errors"
	"testing"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// A kernel without nf_tables answers the first listing with EINVAL (the
// nfnetlink subsystem is missing) and a batch with EOPNOTSUPP; a kernel
// without nfnetlink refuses the socket with EPROTONOSUPPORT. All three read
// as errors.ErrUnsupported, and nothing further is sent.
func TestNFTUnavailable(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EINVAL, unix.EOPNOTSUPP, unix.EPROTONOSUPPORT} {
		t.Run(errno.Error(), func(t *testing.T) {
			requests := 0
			b := newNFTables(Config{}, nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
				requests++
				return refuse(errno, req)
			}))
			ctx := context.Background()
			_, syncErr := b.Sync(ctx, []Rule{lab6()})
			_, listErr := b.List(ctx)
			removeErr := b.Remove(ctx)
			_, syncSNATErr := b.SyncSNAT(ctx, []SNATRule{snatWeb})
			_, listSNATErr := b.ListSNAT(ctx)
			for op, err := range map[string]error{"sync": syncErr, "list": listErr, "remove": removeErr,
				"sync snat": syncSNATErr, "list snat": listSNATErr} {
				var e *Error
				if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, errno) || !errors.As(err, &e) || e.Op != op || e.Backend != NFTables {
					t.Errorf("%s = %v, want an *Error from %s wrapping errors.ErrUnsupported and %v", op, err, op, errno)
				}
			}
			if requests != 5 {
				t.Errorf("%d requests sent, want one listing per call", requests)
			}
		})
	}
}

// Other kernel refusals keep their errno and are not called unsupported.
func TestNFTOtherErrors(t *testing.T) {
	b := newNFTables(Config{}, nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		return refuse(unix.EPERM, req)
	}))
	_, err := b.List(context.Background())
	if !errors.Is(err, unix.EPERM) || errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("List = %v, want EPERM and not ErrUnsupported", err)
	}
}

func TestNFTInvalidRuleSendsNothing(t *testing.T) {
	b := newNFTables(Config{}, nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		t.Fatal("a request was sent")
		return nil, nil
	}))
	_, err := b.Sync(context.Background(), []Rule{{Destination: lab6().Destination, Protocol: TCP, Ports: []PortRange{Port(80)}}})
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Field != "Mark" || verr.Index != 0 {
		t.Fatalf("Sync(mark 0) = %v, want a *ValidationError for rule 0's Mark", err)
	}
}

// refuse answers a request with errno, as the kernel does.
func refuse(errno unix.Errno, req []netlink.Message) ([]netlink.Message, error) {
	// The kernel's error message carries no request flags (a dump's Match
	// bit would read as AcknowledgeTLVs), and nltest.Error extends the
	// length by the errno.
	req[0].Header.Flags = 0
	req[0].Header.Length = uint32(nlmsgHeaderLen + len(req[0].Data))
	return nltest.Error(int(errno), req)
}

const nlmsgHeaderLen = 16
