package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

func TestServiceValidation(t *testing.T) {
	good := Service{Protocol: TCP, Addr: vip4test}
	for _, tc := range []struct {
		name  string
		svc   Service
		field string
	}{
		{"empty (mark 0)", Service{}, "Service"},
		{"no address", Service{Protocol: TCP}, "Service.Addr"},
		{"port 0", Service{Protocol: TCP, Addr: netip.AddrPortFrom(vip4test.Addr(), 0)}, "Service.Addr"},
		{"unspecified address", Service{Protocol: TCP, Addr: netip.MustParseAddrPort("0.0.0.0:80")}, "Service.Addr"},
		{"no protocol", Service{Addr: vip4test}, "Service.Protocol"},
		{"unknown protocol", Service{Protocol: 47, Addr: vip4test}, "Service.Protocol"},
		{"family mismatch", Service{Protocol: TCP, Addr: vip4test, Family: IPv6}, "Service.Family"},
		{"mark with address", Service{FirewallMark: 1, Protocol: TCP, Addr: vip4test}, "Service"},
		{"mark with bad family", Service{FirewallMark: 1, Family: 7}, "Service.Family"},
		{"unknown scheduler", Service{Protocol: TCP, Addr: vip4test, Scheduler: "fastest"}, "Service.Scheduler"},
		{"fractional timeout", Service{Protocol: TCP, Addr: vip4test, Timeout: 1500 * time.Millisecond}, "Service.Timeout"},
		{"negative timeout", Service{Protocol: TCP, Addr: vip4test, Timeout: -time.Second}, "Service.Timeout"},
		{"netmask too long", Service{Protocol: TCP, Addr: vip4test, Netmask: 33}, "Service.Netmask"},
		{"unknown flag", Service{Protocol: TCP, Addr: vip4test, Flags: flagHashed}, "Service.Flags"},
		{"long pe name", Service{Protocol: TCP, Addr: vip4test, PersistenceEngine: string(make([]byte, 32))}, "Service.PersistenceEngine"},
		{"unknown pe", Service{Protocol: UDP, Addr: vip4test, Timeout: time.Minute, PersistenceEngine: "http"}, "Service.PersistenceEngine"},
		{"timeout over ipvsadm's 31 days", Service{Protocol: TCP, Addr: vip4test, Timeout: 32 * 24 * time.Hour}, "Service.Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.svc.validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("validate(%+v) = %v, want a ValidationError on %s", tc.svc, err, tc.field)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid and fs.ErrInvalid", err)
			}
		})
	}
	for _, ok := range []Service{good, {FirewallMark: 1}, {FirewallMark: 1, Family: IPv6, Netmask: 64, Timeout: time.Minute},
		{Protocol: SCTP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Netmask: 128, Scheduler: MaglevHashing}} {
		if err := ok.validate(); err != nil {
			t.Errorf("validate(%+v) = %v", ok, err)
		}
	}
}

var vip4test = netip.MustParseAddrPort("10.0.0.100:80")

func TestDestinationValidation(t *testing.T) {
	svc := Service{Protocol: TCP, Addr: vip4test}
	fwm := Service{FirewallMark: 1}
	rip := netip.MustParseAddrPort("10.0.0.110:80")
	for _, tc := range []struct {
		name  string
		svc   Service
		d     Destination
		field string
	}{
		{"no address", svc, Destination{}, "Destination.Addr"},
		{"negative weight", svc, Destination{Addr: rip, Weight: -1}, "Destination.Weight"},
		{"multicast", svc, Destination{Addr: netip.MustParseAddrPort("224.0.0.1:80")}, "Destination.Addr"},
		{"port 0 on a port service", svc, Destination{Addr: netip.AddrPortFrom(rip.Addr(), 0)}, "Destination.Addr"},
		{"unknown forward", svc, Destination{Addr: rip, Forward: 9}, "Destination.Forward"},
		{"lower threshold without upper", svc, Destination{Addr: rip, Weight: 1, LowerThreshold: 5}, "Destination.LowerThreshold"},
		{"family mismatch without tunnel", svc, Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: DirectRoute}, "Destination.Addr"},
		{"tunnel settings on DR", svc, Destination{Addr: rip, Forward: DirectRoute, TunnelType: TunnelGUE, TunnelPort: 1}, "Destination.TunnelType"},
		{"GUE without port", svc, Destination{Addr: rip, Forward: Tunnel, TunnelType: TunnelGUE}, "Destination.TunnelPort"},
		{"GRE with port", svc, Destination{Addr: rip, Forward: Tunnel, TunnelType: TunnelGRE, TunnelPort: 5}, "Destination.TunnelPort"},
		{"IPIP with flags", svc, Destination{Addr: rip, Forward: Tunnel, TunnelFlags: TunnelChecksum}, "Destination.TunnelPort"},
		{"both checksums", svc, Destination{Addr: rip, Forward: Tunnel, TunnelType: TunnelGRE, TunnelFlags: 3}, "Destination.TunnelFlags"},
		{"remcsum on GRE", svc, Destination{Addr: rip, Forward: Tunnel, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum}, "Destination.TunnelFlags"},
		{"lower above upper", svc, Destination{Addr: rip, UpperThreshold: 5, LowerThreshold: 6}, "Destination.LowerThreshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.d.validate(tc.svc)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("validate(%+v) = %v, want a ValidationError on %s", tc.d, err, tc.field)
			}
		})
	}
	for _, ok := range []struct {
		svc Service
		d   Destination
	}{
		{svc, Destination{Addr: rip, Weight: 0}},
		{fwm, Destination{Addr: netip.AddrPortFrom(rip.Addr(), 0), Forward: Tunnel, Weight: 1}},
		{svc, Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: Tunnel}},
		{svc, Destination{Addr: rip, Forward: Tunnel, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelRemoteChecksum}},
	} {
		if err := ok.d.validate(ok.svc); err != nil {
			t.Errorf("validate(%+v) = %v", ok.d, err)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		errno  syscall.Errno
		target error
	}{
		{syscall.ESRCH, fs.ErrNotExist},
		{syscall.ENOENT, fs.ErrNotExist},
		{syscall.EEXIST, fs.ErrExist},
		{syscall.EPERM, fs.ErrPermission},
		{syscall.EINVAL, ErrInvalid},
		{syscall.EINVAL, fs.ErrInvalid},
	} {
		err := error(&Error{Op: "op", Err: fmt.Errorf("netlink receive: %w", tc.errno)})
		if !errors.Is(err, tc.target) || !errors.Is(err, tc.errno) {
			t.Errorf("%v: errors.Is(%v) = false", tc.errno, tc.target)
		}
	}
	if errors.Is(&Error{Op: "op", Err: syscall.EINVAL}, fs.ErrNotExist) {
		t.Error("EINVAL matches fs.ErrNotExist")
	}
	for _, errno := range []syscall.Errno{syscall.ESRCH, syscall.ENOENT, syscall.EEXIST, syscall.EPERM, syscall.EIO} {
		if errors.Is(&Error{Op: "op", Err: errno}, ErrInvalid) {
			t.Errorf("%v matches ErrInvalid", errno)
		}
	}
	if got := (&Error{Op: "create service", Err: syscall.EEXIST}).Error(); got != "ipvs: create service: file exists" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(ErrNotAvailable, fs.ErrNotExist) {
		t.Error("ErrNotAvailable does not match fs.ErrNotExist")
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		got  fmt.Stringer
		want string
	}{
		{Service{Protocol: TCP, Addr: vip4test}, "TCP  10.0.0.100:80"},
		{Service{Protocol: SCTP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80")}, "SCTP [2001:db8::1]:80"},
		{Service{FirewallMark: 10}, "FWM  10"},
		{Service{FirewallMark: 10, Family: IPv6}, "FWM  10 IPv6"},
		{FlagPersistent | FlagOnePacket | SchedFlag2, "persistent|one-packet|sched2"},
		{ServiceFlags(0), "none"},
		{DirectRoute, "Route"},
		{ForwardMethod(9), "unknown(9)"},
		{Protocol(47), "unknown(47)"},
		{Version(0x010201), "1.2.1"},
		{TunnelGUE, "gue"},
	} {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("String() = %q, want %q", s, tc.want)
		}
	}
}

func TestNetmaskEncoding(t *testing.T) {
	for _, tc := range []struct {
		svc  Service
		want []byte
	}{
		{Service{FirewallMark: 1}, []byte{255, 255, 255, 255}},
		{Service{FirewallMark: 1, Netmask: 24}, []byte{255, 255, 255, 0}},
		{Service{FirewallMark: 1, Netmask: 1}, []byte{128, 0, 0, 0}},
	} {
		b := tc.svc.netmaskBytes()
		if string(b) != string(tc.want) {
			t.Errorf("netmask %d = %v, want %v", tc.svc.Netmask, b, tc.want)
		}
		n, err := parseNetmask(b, IPv4)
		if err != nil || n != tc.svc.Netmask {
			t.Errorf("parseNetmask(%v) = %d, %v", b, n, err)
		}
	}
	if _, err := parseNetmask([]byte{255, 0, 255, 0}, IPv4); err == nil {
		t.Error("non-contiguous netmask accepted")
	}
	v6 := Service{FirewallMark: 1, Family: IPv6, Netmask: 64}
	if n, err := parseNetmask(v6.netmaskBytes(), IPv6); err != nil || n != 64 {
		t.Errorf("IPv6 netmask round trip = %d, %v", n, err)
	}
}

// TestMoreValidation: sync daemon interfaces and timeouts past what every
// kernel takes are refused before anything is sent.
func TestMoreValidation(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b", "eth0\x00", "a b", "toolonginterface"} {
		err := SyncDaemon{State: SyncMaster, Interface: name}.validate()
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("interface %q: %v, want ErrInvalid", name, err)
		}
	}
	if err := ValidateTimeouts(Timeouts{TCP: 1 << 31 * time.Second}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 2^31 s timeout: %v, want ErrInvalid", err)
	}
	if err := ValidateTimeouts(Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}); err != nil {
		t.Errorf("ipvsadm's defaults: %v", err)
	}
}

// TestMappedAddressesRefused: an IPv4-mapped IPv6 address is refused
// wherever it names a service, a destination or a sync daemon's group,
// with a *ValidationError that says to unmap it, and nothing is sent.
func TestMappedAddressesRefused(t *testing.T) {
	mapped := netip.MustParseAddrPort("[::ffff:10.0.0.100]:80")
	svc := Service{Protocol: TCP, Addr: vip4test}
	msvc := Service{Protocol: TCP, Addr: mapped}
	md := Destination{Addr: netip.MustParseAddrPort("[::ffff:10.0.0.110]:80"), Forward: DirectRoute, Weight: 1}
	sent := 0
	c := &Client{c: fakeKernel(t, func(req netlink.Message) ([]netlink.Message, error) {
		sent++
		return []netlink.Message{ack(req, 0)}, nil
	})}
	ctx := context.Background()
	var b Batch
	b.CreateService(svc)
	b.CreateDestination(svc, md)
	_, errBatch := c.Apply(ctx, &b)
	_, errRules := b.Rules()
	_, errGet := c.Service(ctx, msvc)
	_, errList := c.Destinations(ctx, msvc)
	for _, tc := range []struct {
		what, field string
		err         error
	}{
		{"ValidateService", "Service.Addr", ValidateService(msvc)},
		{"ValidateDestination", "Destination.Addr", ValidateDestination(svc, md)},
		{"ValidateSyncDaemon", "SyncDaemon.Group", ValidateSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0",
			Group: netip.MustParseAddr("::ffff:224.0.0.81")})},
		{"create service", "Service.Addr", c.CreateService(ctx, msvc)},
		{"update service", "Service.Addr", c.UpdateService(ctx, msvc)},
		{"delete service", "Service.Addr", c.DeleteService(ctx, msvc)},
		{"zero service", "Service.Addr", c.ZeroService(ctx, msvc)},
		{"get service", "Service.Addr", errGet},
		{"list destinations", "Service.Addr", errList},
		{"create destination", "Destination.Addr", c.CreateDestination(ctx, svc, md)},
		{"update destination", "Destination.Addr", c.UpdateDestination(ctx, svc, md)},
		{"delete destination", "Destination.Addr", c.DeleteDestination(ctx, svc, md)},
		{"destination of a mapped service", "Service.Addr", c.CreateDestination(ctx, msvc, Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80")})},
		{"start sync daemon", "SyncDaemon.Group", c.StartSyncDaemon(ctx, SyncDaemon{State: SyncBackup, Interface: "eth0",
			Group: netip.MustParseAddr("::ffff:239.1.1.1")})},
		{"batch", "Destination.Addr", errBatch},
		{"Rules", "Destination.Addr", errRules},
	} {
		var ve *ValidationError
		if !errors.As(tc.err, &ve) || ve.Field != tc.field || !errors.Is(tc.err, ErrInvalid) {
			t.Errorf("%s: %v, want a *ValidationError on %s", tc.what, tc.err, tc.field)
			continue
		}
		if !strings.Contains(ve.Reason, "IPv4-mapped") || !strings.Contains(ve.Reason, "netip.Addr.Unmap") {
			t.Errorf("%s: %q does not say to unmap the address", tc.what, ve.Reason)
		}
	}
	var be *BatchError
	if !errors.As(errBatch, &be) || be.Index != 1 {
		t.Errorf("batch: %v, want a *BatchError for change 1", errBatch)
	}
	if sent != 0 {
		t.Errorf("%d requests sent", sent)
	}
	// Their IPv4 forms are taken.
	if err := ValidateDestination(svc, Destination{Addr: netip.AddrPortFrom(md.Addr.Addr().Unmap(), 80)}); err != nil {
		t.Errorf("the unmapped destination: %v", err)
	}
	if err := ValidateSyncDaemon(SyncDaemon{State: SyncMaster, Interface: "eth0", Group: netip.MustParseAddr("224.0.0.81")}); err != nil {
		t.Errorf("the unmapped group: %v", err)
	}
}
