package ipvs

import (
	"errors"
	"net/netip"
	"testing"
)

// TestSyncDaemonRequest: a sync daemon reads back as StartSyncDaemon sends
// it, and what StartSyncDaemon and StopSyncDaemon refuse is refused alike.
func TestSyncDaemonRequest(t *testing.T) {
	d := SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 7, MaxLength: 1200,
		Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 3}
	got, err := SyncDaemonRequest(d)
	want := d
	want.Group = netip.MustParseAddr("239.1.2.3")
	if err != nil || got != want {
		t.Errorf("SyncDaemonRequest(%+v) = %+v, %v; want %+v", d, got, err, want)
	}
	bare := SyncDaemon{State: SyncMaster, Interface: "lo"}
	if got, err := SyncDaemonRequest(bare); err != nil || got != bare {
		t.Errorf("zero fields: %+v, %v; want them left to the kernel", got, err)
	}
	six := SyncDaemon{State: SyncMaster, Interface: "lo", Group: netip.MustParseAddr("ff02::81")}
	if got, err := SyncDaemonRequest(six); err != nil || got != six {
		t.Errorf("IPv6 group: %+v, %v", got, err)
	}
	for _, bad := range []SyncDaemon{
		{Interface: "lo"},
		{State: SyncMaster},
		{State: SyncMaster, Interface: "lo", SyncID: 256},
		{State: SyncMaster, Interface: "lo", Group: netip.MustParseAddr("10.0.0.1")},
	} {
		_, err := SyncDaemonRequest(bad)
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) || !errors.Is(ValidateSyncDaemon(bad), ErrInvalid) {
			t.Errorf("%+v: %v, want the validation error ValidateSyncDaemon gives", bad, err)
		}
	}
	for _, s := range []SyncState{SyncMaster, SyncBackup} {
		if err := ValidateSyncState(s); err != nil {
			t.Errorf("ValidateSyncState(%v): %v", s, err)
		}
	}
	for _, s := range []SyncState{0, 3} {
		if err := ValidateSyncState(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateSyncState(%v): %v, want ErrInvalid", s, err)
		}
	}
}
