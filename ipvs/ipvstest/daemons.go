package ipvstest

import (
	"context"
	"net/netip"
	"syscall"

	"github.com/lvs-go/lvs/ipvs"
)

// The kernel's sync daemon defaults (IP_VS_SYNC_GROUP, IP_VS_SYNC_PORT).
var (
	syncGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})
	syncPort  = uint16(8848)
)

// SyncDaemons lists the running sync daemons, the master first, as
// Client.SyncDaemons; with none, the list is empty.
func (f *Fake) SyncDaemons(ctx context.Context) ([]ipvs.SyncDaemon, error) {
	f.called("SyncDaemons")
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: "list sync daemons"}); err != nil {
		return nil, err
	}
	var out []ipvs.SyncDaemon
	for _, s := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		if d, ok := f.daemons[s]; ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// StartSyncDaemon starts a sync daemon, as Client.StartSyncDaemon: on an
// interface the Fake does not have (see Config.Interfaces) it fails with
// ENODEV, with a daemon of the role already running with EEXIST, while a
// destination of the other family than its service's exists with EINVAL,
// and as a master on lo with an IPv6 group (lo has no route to IPv6
// multicast) with ENETUNREACH.
func (f *Fake) StartSyncDaemon(ctx context.Context, d ipvs.SyncDaemon) error {
	f.called("StartSyncDaemon")
	const op = "start sync daemon"
	d, err := ipvs.SyncDaemonRequest(d)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: op, SyncDaemon: d}); err != nil {
		return err
	}
	fail := func(errno syscall.Errno) error { return &ipvs.Error{Op: op, Daemon: d.State, Err: errno} }
	// The kernel's order: the mixed-family check, the interface, the
	// defaults, then the role.
	if f.mixed() {
		return fail(syscall.EINVAL)
	}
	mtu, ok := f.ifaces[d.Interface]
	if !ok {
		return fail(syscall.ENODEV)
	}
	d = withDefaults(d, mtu)
	if _, running := f.daemons[d.State]; running {
		return fail(syscall.EEXIST)
	}
	if d.State == ipvs.SyncMaster && d.Interface == "lo" && d.Group.Is6() {
		return fail(syscall.ENETUNREACH) // lo has no route to IPv6 multicast
	}
	f.daemons[d.State] = d
	return nil
}

// withDefaults is d as the kernel keeps it on an interface of the given
// MTU (start_sync_thread).
func withDefaults(d ipvs.SyncDaemon, mtu int) ipvs.SyncDaemon {
	if !d.Group.IsValid() {
		d.Group = syncGroup
	}
	if d.Port == 0 {
		d.Port = syncPort
	}
	if d.TTL == 0 {
		d.TTL = 1
	}
	hlen := 20 + 8 // IPv4 and UDP headers
	if d.Group.Is6() {
		hlen = 40 + 8
	}
	size, least := 1500, 1
	if d.State == ipvs.SyncBackup {
		size, least = min(max(mtu, 1500), 65535), 1024
	}
	if d.MaxLength == 0 {
		d.MaxLength = uint16(size - hlen)
	} else {
		d.MaxLength = uint16(min(max(int(d.MaxLength), least), 65535-hlen))
	}
	return d
}

// mixed reports whether a destination of the other family than its
// service's exists (the kernel's mixed_address_family_dests; with mu
// held).
func (f *Fake) mixed() bool {
	for _, s := range f.services {
		for _, d := range s.dests {
			if crossFamily(s.svc, d.d) {
				return true
			}
		}
	}
	return false
}

// StopSyncDaemon stops the daemon of the given role, as
// Client.StopSyncDaemon: if none runs, it fails with ESRCH.
func (f *Fake) StopSyncDaemon(ctx context.Context, state ipvs.SyncState) error {
	f.called("StopSyncDaemon")
	const op = "stop sync daemon"
	if err := ipvs.ValidateSyncState(state); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.request(ctx, Call{Op: op, SyncDaemon: ipvs.SyncDaemon{State: state}}); err != nil {
		return err
	}
	if _, running := f.daemons[state]; !running {
		return &ipvs.Error{Op: op, Daemon: state, Err: syscall.ESRCH}
	}
	delete(f.daemons, state)
	return nil
}
