package ipvs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/internal/netnsx"
)

// Connection is an entry of IPVS's connection table (ipvsadm -L -c): a
// client's connection through a virtual service to a destination, or a
// persistence template (Protocol zero, "IP" in ipvsadm).
type Connection struct {
	Protocol    Protocol // TCP, UDP, SCTP; zero for a persistence template
	Client      netip.AddrPort
	Virtual     netip.AddrPort
	Destination netip.AddrPort
	// State is the protocol state as the kernel names it: ESTABLISHED,
	// SYN_RECV, FIN_WAIT, TIME_WAIT, CLOSE, UDP, NONE (templates), ...
	State   string
	Expires time.Duration // whole seconds until the entry expires
	// PersistenceEngine and PEData are set for entries of a persistence
	// engine (for example sip and the Call-ID).
	PersistenceEngine string
	PEData            string
	// Synced says the entry came from another director's sync daemon
	// (the kernel's "SYNC" origin in /proc/net/ip_vs_conn_sync) rather
	// than from a packet this director scheduled.
	Synced bool
}

// connKey identifies an entry across the kernel's two listings.
type connKey struct {
	proto                        Protocol
	client, virtual, destination netip.AddrPort
}

func (c Connection) key() connKey { return connKey{c.Protocol, c.Client, c.Virtual, c.Destination} }

// IsTemplate reports whether c is a persistence template rather than a
// connection.
func (c Connection) IsTemplate() bool { return c.Protocol == 0 }

// Connections reads the connection table of the client's namespace (the
// kernel's /proc/net/ip_vs_conn, which is also what ipvsadm -Lnc reads;
// IPVS has no netlink command for it). For large tables use
// AllConnections, which holds one entry at a time.
func (c *Client) Connections(ctx context.Context) ([]Connection, error) {
	var out []Connection
	for conn, err := range c.AllConnections(ctx) {
		if err != nil {
			return nil, err
		}
		out = append(out, conn)
	}
	return out, nil
}

// AllConnections iterates over the connection table as the kernel writes
// it, one line at a time: a table of hundreds of thousands of connections
// is never held in memory, except for the keys of the entries a sync
// daemon brought (read first from /proc/net/ip_vs_conn_sync, which has
// their origin but not the persistence engines' data, to set Synced: an
// entry synced after that read reads as not synced). An error (reading,
// parsing, or ctx ending, which is checked every 1024 entries) is the
// iteration's last pair.
func (c *Client) AllConnections(ctx context.Context) iter.Seq2[Connection, error] {
	return func(yield func(Connection, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(Connection{}, err)
			return
		}
		synced, err := c.syncedConnections()
		if err != nil {
			yield(Connection{}, &Error{Op: "list connections", Err: err})
			return
		}
		f, err := c.c.openProcNet("ip_vs_conn")
		if err != nil {
			yield(Connection{}, &Error{Op: "list connections", Err: err})
			return
		}
		defer f.Close()
		n := 0
		err = scanConnections(f, func(conn Connection) bool {
			_, conn.Synced = synced[conn.key()]
			n++
			if n%1024 == 0 && ctx.Err() != nil {
				return false
			}
			return yield(conn, nil)
		})
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			yield(Connection{}, &Error{Op: "list connections", Err: err})
		}
	}
}

// syncedConnections reads the keys of the entries of sync-daemon origin.
func (c *Client) syncedConnections() (map[connKey]struct{}, error) {
	f, err := c.c.openProcNet("ip_vs_conn_sync")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a kernel without it: nothing is known synced
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out map[connKey]struct{}
	err = scanConnections(f, func(conn Connection) bool {
		if conn.Synced {
			if out == nil {
				out = map[connKey]struct{}{}
			}
			out[conn.key()] = struct{}{}
		}
		return true
	})
	return out, err
}

// openProcNet opens /proc/net/<name> of the client's namespace: a thread
// inside it opens /proc/thread-self/net, which the kernel resolves to that
// thread's namespace; the open file stays that namespace's, read from any
// thread.
func (c *client) openProcNet(name string) (*os.File, error) {
	var f *os.File
	open := func() error {
		var err error
		f, err = os.Open("/proc/thread-self/net/" + name)
		return err
	}
	var err error
	if c.netns != 0 {
		err = netnsx.Do(c.netns, open)
	} else {
		runtime.LockOSThread()
		err = open()
		runtime.UnlockOSThread()
	}
	return f, err
}

// parseConnections reads a whole /proc/net/ip_vs_conn text.
func parseConnections(r io.Reader) ([]Connection, error) {
	var out []Connection
	err := scanConnections(r, func(c Connection) bool { out = append(out, c); return true })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanConnections reads /proc/net/ip_vs_conn, or ip_vs_conn_sync (whose
// header names an Origin column, LOCAL or SYNC, before Expires, and which
// has no persistence-engine columns), a line at a time, calling each with
// every entry until it returns false:
//
//	Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//	TCP C0A80A64 9C40 0A000064 0050 0A00006E 0050 FIN_WAIT         15
//
// IPv4 addresses in hex, IPv6 ones written out, ports in hex.
func scanConnections(r io.Reader, each func(Connection) bool) error {
	sc := bufio.NewScanner(r)
	first, origin := true, false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "Pro" {
				origin = slices.Contains(f, "Origin")
				continue
			}
		}
		if origin && len(f) >= 10 {
			// Origin, then Expires: read as ip_vs_conn's columns.
			f = append(f[:8:8], f[9], f[8])
		}
		if len(f) == 0 {
			continue
		}
		if len(f) < 9 {
			return fmt.Errorf("connection line %q: %d fields", sc.Text(), len(f))
		}
		var c Connection
		switch f[0] {
		case "TCP":
			c.Protocol = TCP
		case "UDP":
			c.Protocol = UDP
		case "SCTP":
			c.Protocol = SCTP
		case "IP":
		default:
			return fmt.Errorf("connection line %q: protocol %s", sc.Text(), f[0])
		}
		var err error
		if c.Client, err = procAddrPort(f[1], f[2]); err != nil {
			return err
		}
		if c.Virtual, err = procAddrPort(f[3], f[4]); err != nil {
			return err
		}
		if c.Destination, err = procAddrPort(f[5], f[6]); err != nil {
			return err
		}
		c.State = f[7]
		secs, err := strconv.ParseInt(f[8], 10, 64)
		if err != nil {
			return fmt.Errorf("connection line %q: expires: %v", sc.Text(), err)
		}
		c.Expires = time.Duration(secs) * time.Second
		switch {
		case origin:
			c.Synced = f[9] == "SYNC"
		case len(f) > 10:
			c.PersistenceEngine, c.PEData = f[9], f[10]
		case len(f) > 9:
			c.PersistenceEngine = f[9]
		}
		if !each(c) {
			return nil
		}
	}
	return sc.Err()
}

func procAddrPort(addr, port string) (netip.AddrPort, error) {
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %v", port, err)
	}
	if len(addr) == 8 && !strings.Contains(addr, ":") {
		v, err := strconv.ParseUint(addr, 16, 32)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: %v", addr, err)
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), uint16(p)), nil
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %v", addr, err)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}
