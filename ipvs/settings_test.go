package ipvs

import (
	"net/netip"
	"testing"
	"time"
)

// TestSettings: Settings keeps every field a write sets and zeroes those
// only the kernel fills in, so values that differ in traffic alone compare
// equal.
func TestSettings(t *testing.T) {
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Family: IPv4, Scheduler: MaglevHashing,
		Flags: FlagMHPort | FlagPersistent, Timeout: time.Minute, Netmask: 24, PersistenceEngine: "sip"}
	busy := svc
	busy.Stats = Stats{Connections: 1, PacketsIn: 2, PacketsOut: 3, BytesIn: 4, BytesOut: 5, CPS: 6, PPSIn: 7, PPSOut: 8, BPSIn: 9, BPSOut: 10}
	if busy == svc || busy.Settings() != svc || svc.Settings() != svc {
		t.Errorf("service Settings: %+v, want %+v", busy.Settings(), svc)
	}
	d := Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: Tunnel, Weight: 3, UpperThreshold: 9, LowerThreshold: 2,
		TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum}
	loaded := d
	loaded.ActiveConns, loaded.InactiveConns, loaded.PersistentConns, loaded.Stats = 5, 6, 7, busy.Stats
	if loaded == d || loaded.Settings() != d || d.Settings() != d {
		t.Errorf("destination Settings: %+v, want %+v", loaded.Settings(), d)
	}
	// A change of configuration still shows.
	heavier := loaded
	heavier.Weight++
	if heavier.Settings() == d.Settings() {
		t.Error("a weight change compares equal")
	}
}
