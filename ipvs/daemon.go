package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/lvs-go/lvs/internal/ifname"
)

// SyncState is the role of a connection-synchronisation daemon.
type SyncState uint32

// Sync daemon roles (IP_VS_STATE_*): the master sends its connection table,
// the backup receives it.
const (
	SyncMaster SyncState = 1
	SyncBackup SyncState = 2
)

func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return fmt.Sprintf("unknown(%d)", uint32(s))
}

// SyncDaemon is a connection-synchronisation daemon (ipvsadm
// --start-daemon), which keeps a backup director's connection table in step
// with the master's over multicast, so that a fail-over keeps connections.
type SyncDaemon struct {
	State     SyncState
	Interface string // multicast interface (--mcast-interface), required
	SyncID    uint32 // --syncid: only messages with this id are accepted; 0..255
	// MaxLength is the largest sync message payload (--sync-maxlen); zero
	// lets the kernel pick from the interface MTU.
	MaxLength uint16
	// Group is the multicast group (--mcast-group); zero means 224.0.0.81.
	// An IPv6 group needs Linux 4.3 or later, as do Port and TTL.
	Group netip.Addr
	Port  uint16 // --mcast-port; zero means 8848
	TTL   uint8  // --mcast-ttl; zero means 1
}

func (d SyncDaemon) validate() error {
	if d.State != SyncMaster && d.State != SyncBackup {
		return invalid("SyncDaemon.State", "%v is not master or backup", d.State)
	}
	if !ifname.Valid(d.Interface) {
		return invalid("SyncDaemon.Interface", "%q is not an interface name", d.Interface)
	}
	if d.SyncID > 255 {
		return invalid("SyncDaemon.SyncID", "%d is out of range 0..255", d.SyncID)
	}
	if err := refuseMapped("SyncDaemon.Group", d.Group); err != nil {
		return err
	}
	if d.Group.IsValid() && !d.Group.IsMulticast() {
		return invalid("SyncDaemon.Group", "%v is not a multicast address", d.Group)
	}
	return nil
}

// SyncDaemons lists the running sync daemons (ipvsadm -L --daemon).
func (c *Client) SyncDaemons(ctx context.Context) ([]SyncDaemon, error) { return c.c.daemons(ctx) }

// StartSyncDaemon starts a sync daemon (ipvsadm --start-daemon). The
// interface must exist; a daemon of the same role already running gives an
// error matching fs.ErrExist.
func (c *Client) StartSyncDaemon(ctx context.Context, d SyncDaemon) error {
	return c.do(ctx, change{cmd: cmdNewDaemon, daemon: d})
}

// stopAnswerWait is how long StopSyncDaemon waits for the kernel's answer
// before it looks at the daemons instead.
const stopAnswerWait = 2 * time.Second

// StopSyncDaemon stops the daemon of the given role (ipvsadm --stop-daemon).
//
// A daemon stopped before its kernel thread first ran (within about a
// millisecond of its start, or on a busy machine) is stopped, but the
// kernel then fails the request with EINTR, which netlink never answers.
// So StopSyncDaemon waits for an answer at most a few seconds at a time
// and then reads the daemons: the role gone is success, the role still
// running (a stop that takes long) is asked again, until ctx ends.
func (c *Client) StopSyncDaemon(ctx context.Context, state SyncState) error {
	for again := false; ; again = true {
		sctx, cancel := context.WithTimeout(ctx, stopAnswerWait)
		err := c.do(sctx, change{cmd: cmdDelDaemon, daemon: SyncDaemon{State: state}})
		cancel()
		switch {
		case err == nil:
			return nil
		case again && errors.Is(err, fs.ErrNotExist):
			return nil // the first request stopped it meanwhile
		case ctx.Err() != nil:
			return err
		case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded):
			return err
		}
		ds, err := c.SyncDaemons(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ds, func(d SyncDaemon) bool { return d.State == state }) {
			return nil
		}
	}
}

// ValidateSyncDaemon checks d as StartSyncDaemon does before sending it;
// an error matches ErrInvalid.
func ValidateSyncDaemon(d SyncDaemon) error { return d.validate() }
