package iptables

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"testing"
)

// TestBadInputChangesNothing: on every backend, Sync and SyncSNAT given
// each kind of bad rule return an error matching ErrInvalid and
// fs.ErrInvalid, and what the namespace holds (read back with the tool)
// is as before, valid rules sent with the bad one included.
func TestBadInputChangesNothing(t *testing.T) {
	vip := netip.MustParsePrefix("10.0.0.100/32")
	good := Rule{Destination: vip, Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 10}
	goodSNAT := SNATRule{Protocol: TCP, Destination: netip.MustParseAddrPort("10.0.0.2:80")}
	badRules := map[string]Rule{
		"no destination": {Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 1},
		"no protocol":    {Destination: vip, Ports: []PortRange{Port(80)}, Mark: 1},
		"bad protocol":   {Destination: vip, Protocol: 47, Ports: []PortRange{Port(80)}, Mark: 1},
		"no ports":       {Destination: vip, Protocol: TCP, Mark: 1},
		"reversed range": {Destination: vip, Protocol: TCP, Ports: []PortRange{{First: 90, Last: 80}}, Mark: 1},
		"port 0":         {Destination: vip, Protocol: TCP, Ports: []PortRange{Port(0)}, Mark: 1},
		"mark 0":         {Destination: vip, Protocol: TCP, Ports: []PortRange{Port(80)}},
		"mixed families": {Destination: vip, Source: netip.MustParsePrefix("2001:db8::/32"), Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 1},
		"bad interface":  {Destination: vip, InInterface: "a b", Protocol: TCP, Ports: []PortRange{Port(80)}, Mark: 1},
	}
	badSNAT := map[string]SNATRule{
		"no address":  {Protocol: TCP},
		"no protocol": {Destination: netip.MustParseAddrPort("10.0.0.2:80")},
		"mapped":      {Protocol: TCP, Destination: netip.MustParseAddrPort("[::ffff:10.0.0.2]:80")},
		"unspecified": {Protocol: TCP, Destination: netip.MustParseAddrPort("0.0.0.0:80")},
		"zone":        {Protocol: UDP, Destination: netip.MustParseAddrPort("[fe80::1%lo]:53")},
		"bad proto":   {Protocol: 1, Destination: netip.MustParseAddrPort("10.0.0.2:80")},
	}
	forEachBackend(t, func(t *testing.T, hb hostBackend, ns int, b Backend) {
		ctx := context.Background()
		if _, err := b.Sync(ctx, []Rule{good}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SyncSNAT(ctx, []SNATRule{goodSNAT}); err != nil {
			t.Fatal(err)
		}
		before := hb.owned(t, ns)
		snatBefore, err := b.ListSNAT(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tried := 0
		for name, r := range badRules {
			_, err := b.Sync(ctx, []Rule{good, r})
			tried++
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Sync %s: %v, want ErrInvalid and fs.ErrInvalid", name, err)
			}
		}
		for name, r := range badSNAT {
			_, err := b.SyncSNAT(ctx, []SNATRule{goodSNAT, r})
			tried++
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("SyncSNAT %s: %v, want ErrInvalid and fs.ErrInvalid", name, err)
			}
		}
		if after := hb.owned(t, ns); after != before {
			t.Errorf("the rules changed:\nbefore %s\nafter  %s", before, after)
		}
		if snat, err := b.ListSNAT(ctx); err != nil || len(snat) != len(snatBefore) || snat[0] != snatBefore[0] {
			t.Errorf("SNAT rules after the bad input: %v, %v; want %v", snat, err, snatBefore)
		}
		t.Logf("%d bad rule sets refused", tried)
	})
}
