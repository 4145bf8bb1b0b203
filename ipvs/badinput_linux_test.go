package ipvs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"testing"
	"time"
)

// TestBadInputChangesNothing: every mutator, given each kind of bad input,
// returns an error matching ErrInvalid and fs.ErrInvalid, and the kernel's
// table and timeouts read back exactly as before.
func TestBadInputChangesNothing(t *testing.T) {
	c, _ := testClient(t)
	ctx := ctxT(t)
	svc := Service{Protocol: TCP, Addr: vip4, Scheduler: WeightedRoundRobin, Timeout: time.Minute}
	rs := Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: DirectRoute, Weight: 2, UpperThreshold: 10, LowerThreshold: 5}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateDestination(ctx, svc, rs); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		tab, err := c.Table(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tab.Services {
			tab.Services[i].Stats = Stats{}
			for j := range tab.Services[i].Destinations {
				tab.Services[i].Destinations[j] = settings(tab.Services[i].Destinations[j])
			}
		}
		to, err := c.Timeouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%+v %+v", tab.Services, to)
	}
	before := snapshot()

	badServices := map[string]Service{
		"no key":             {},
		"no port":            {Protocol: TCP, Addr: netip.AddrPortFrom(vip4.Addr(), 0)},
		"unspecified":        {Protocol: TCP, Addr: netip.MustParseAddrPort("0.0.0.0:80")},
		"zone":               {Protocol: TCP, Addr: netip.MustParseAddrPort("[fe80::1%lo]:80")},
		"bad protocol":       {Protocol: 99, Addr: vip4},
		"family mismatch":    {Protocol: TCP, Addr: vip4, Family: IPv6},
		"mark and address":   {FirewallMark: 1, Protocol: TCP, Addr: vip4},
		"unknown scheduler":  {Protocol: TCP, Addr: vip4, Scheduler: "fastest"},
		"fractional timeout": {Protocol: TCP, Addr: vip4, Timeout: 1500 * time.Millisecond},
		"huge timeout":       {Protocol: TCP, Addr: vip4, Timeout: 365 * 24 * time.Hour},
		"netmask":            {Protocol: TCP, Addr: vip4, Netmask: 33},
		"flags":              {Protocol: TCP, Addr: vip4, Flags: 0x400},
		"persistence engine": {Protocol: TCP, Addr: vip4, Timeout: time.Minute, PersistenceEngine: "http"},
	}
	badDests := map[string]Destination{
		"no address":          {},
		"multicast":           {Addr: netip.MustParseAddrPort("224.0.0.1:80"), Weight: 1},
		"negative weight":     {Addr: rs.Addr, Weight: -1},
		"unknown forward":     {Addr: rs.Addr, Forward: 9, Weight: 1},
		"lower above upper":   {Addr: rs.Addr, Weight: 1, UpperThreshold: 5, LowerThreshold: 6},
		"lower without upper": {Addr: rs.Addr, Weight: 1, LowerThreshold: 6},
		"tunnel on dr":        {Addr: rs.Addr, Forward: DirectRoute, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 1},
		"gue without port":    {Addr: rs.Addr, Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE},
		"remcsum on gre":      {Addr: rs.Addr, Forward: Tunnel, Weight: 1, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum},
		"other family":        {Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: DirectRoute, Weight: 1},
		"port 0":              {Addr: netip.AddrPortFrom(rs.Addr.Addr(), 0), Forward: DirectRoute, Weight: 1},
	}
	tried := 0
	check := func(what string, err error) {
		t.Helper()
		tried++
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid and fs.ErrInvalid", what, err)
		}
	}
	for name, s := range badServices {
		check("CreateService "+name, c.CreateService(ctx, s))
		check("UpdateService "+name, c.UpdateService(ctx, s))
		if s.validateKey() != nil {
			check("DeleteService "+name, c.DeleteService(ctx, s))
			check("ZeroService "+name, c.ZeroService(ctx, s))
			check("CreateDestination on "+name, c.CreateDestination(ctx, s, rs))
		}
		var b Batch
		b.CreateService(svc) // valid: must not be sent either
		b.CreateService(s)
		_, err := c.Apply(ctx, &b)
		check("Apply "+name, err)
		check("ModifyService "+name, c.ModifyService(ctx, svc, func(m *Service) error {
			if s.validateKey() != nil {
				*m = s // a bad key: refused by ModifyService
				return nil
			}
			k := *m
			*m = s // bad settings on the right key: refused by the update
			m.Protocol, m.Addr = k.Protocol, k.Addr
			return nil
		}))
	}
	for name, d := range badDests {
		check("CreateDestination "+name, c.CreateDestination(ctx, svc, d))
		check("UpdateDestination "+name, c.UpdateDestination(ctx, svc, d))
		if !d.Addr.Addr().IsValid() {
			check("DeleteDestination "+name, c.DeleteDestination(ctx, svc, d))
		}
		// Bad settings are refused by the update, a changed address by
		// ModifyDestination itself.
		check("ModifyDestination "+name, c.ModifyDestination(ctx, svc, rs.Addr, func(m *Destination) error { *m = d; return nil }))
		var b Batch
		b.UpdateDestination(svc, Destination{Addr: rs.Addr, Forward: Masquerade, Weight: 9})
		b.CreateDestination(svc, d)
		_, err := c.Apply(ctx, &b)
		check("Apply destination "+name, err)
	}
	for name, to := range map[string]Timeouts{"negative": {TCP: -time.Second}, "fraction": {UDP: time.Millisecond}, "huge": {TCPFin: 1 << 32 * time.Second}} {
		check("SetTimeouts "+name, c.SetTimeouts(ctx, to))
	}
	for name, sd := range map[string]SyncDaemon{"no state": {Interface: "lo"}, "no interface": {State: SyncMaster}, "bad interface": {State: SyncMaster, Interface: "../x"},
		"syncid": {State: SyncMaster, Interface: "lo", SyncID: 256}, "group": {State: SyncMaster, Interface: "lo", Group: netip.MustParseAddr("10.0.0.1")}} {
		check("StartSyncDaemon "+name, c.StartSyncDaemon(ctx, sd))
	}
	check("StopSyncDaemon", c.StopSyncDaemon(ctx, 7))
	if after := snapshot(); after != before {
		t.Errorf("the kernel changed:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d bad inputs refused", tried)
}
