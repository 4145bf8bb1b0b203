package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Key is a sysctl name in dotted form; see the package documentation.
type Key string

// Common keys. IPVS's own (net.ipv4.vs.*) exist once the ip_vs module is
// loaded in the namespace's kernel.
const (
	IPv4Forward Key = "net.ipv4.ip_forward"
	IPv6Forward Key = "net.ipv6.conf.all.forwarding"

	VSConntrack               Key = "net.ipv4.vs.conntrack"                 // keep conntrack entries for IPVS connections (needed by SNAT, marks on replies)
	VSExpireNodestConn        Key = "net.ipv4.vs.expire_nodest_conn"        // drop connections of removed destinations at once
	VSExpireQuiescentTemplate Key = "net.ipv4.vs.expire_quiescent_template" // expire persistence templates of weight-0 destinations
	VSConnReuseMode           Key = "net.ipv4.vs.conn_reuse_mode"           // reschedule reused client ports
	VSSnatReroute             Key = "net.ipv4.vs.snat_reroute"
	VSSloppyTCP               Key = "net.ipv4.vs.sloppy_tcp"  // create connections on any TCP packet, not only SYN
	VSSloppySCTP              Key = "net.ipv4.vs.sloppy_sctp" // likewise for SCTP INIT
	VSSchedICMP               Key = "net.ipv4.vs.schedule_icmp"
	VSIgnoreTunneled          Key = "net.ipv4.vs.ignore_tunneled"
	VSBackupOnly              Key = "net.ipv4.vs.backup_only"
	VSAmemThresh              Key = "net.ipv4.vs.amemthresh"
	VSDropEntry               Key = "net.ipv4.vs.drop_entry"
	VSDropPacket              Key = "net.ipv4.vs.drop_packet"
	VSSecureTCP               Key = "net.ipv4.vs.secure_tcp"
	VSNatICMPSend             Key = "net.ipv4.vs.nat_icmp_send"
)

// ConfIPv4 returns net.ipv4.conf.<iface>.<name>; iface may be "all",
// "default" or an interface name (dots are escaped).
func ConfIPv4(iface, name string) Key {
	return Key("net.ipv4.conf." + escape(iface) + "." + name)
}

// ConfIPv6 returns net.ipv6.conf.<iface>.<name>.
func ConfIPv6(iface, name string) Key {
	return Key("net.ipv6.conf." + escape(iface) + "." + name)
}

// ArpIgnore, ArpAnnounce and RPFilter are the per-interface IPv4 keys the
// DR and TUN roles set. The kernel uses the larger of "all" and the
// interface's value for each of them.
func ArpIgnore(iface string) Key   { return ConfIPv4(iface, "arp_ignore") }
func ArpAnnounce(iface string) Key { return ConfIPv4(iface, "arp_announce") }
func RPFilter(iface string) Key    { return ConfIPv4(iface, "rp_filter") }

func escape(component string) string { return strings.ReplaceAll(component, ".", "/") }

// ErrInvalid is matched by errors for keys and values rejected before
// anything was read or written.
var ErrInvalid = errors.New("sysctl: invalid argument")

// ValidationError describes a bad key, or a bad value for Key.
type ValidationError struct {
	Key    Key
	Value  bool // the value, not the key, is bad
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Value {
		return fmt.Sprintf("sysctl: invalid value for %s: %s", string(e.Key), e.Reason)
	}
	return fmt.Sprintf("sysctl: invalid key %q: %s", string(e.Key), e.Reason)
}

// Is matches ErrInvalid and fs.ErrInvalid.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || target == fs.ErrInvalid
}

// Path returns the key's file under /proc/sys, or a *ValidationError.
func (k Key) Path() (string, error) {
	s := string(k)
	if s == "" {
		return "", &ValidationError{Key: k, Reason: "empty"}
	}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		switch {
		case p == "":
			return "", &ValidationError{Key: k, Reason: "empty component"}
		case strings.ContainsAny(p, "\x00 \t\n"):
			return "", &ValidationError{Key: k, Reason: "white space or NUL"}
		}
		p = strings.ReplaceAll(p, "/", ".")
		if p == "." || p == ".." || strings.HasPrefix(p, "..") {
			return "", &ValidationError{Key: k, Reason: "component " + p}
		}
		parts[i] = p
	}
	return filepath.Join(append([]string{"/proc/sys"}, parts...)...), nil
}

// String returns the dotted form.
func (k Key) String() string { return string(k) }

// Setting is a key with a value.
type Setting struct {
	Key   Key
	Value string
}

func (s Setting) String() string { return string(s.Key) + " = " + s.Value }

// Snapshot holds values as they were, for Restore.
type Snapshot []Setting

// Error is a failed read or write of one key.
type Error struct {
	Op    string // "read" or "write"
	Key   Key
	Value string // the value written, for writes
	Err   error
}

func (e *Error) Error() string {
	if e.Op == "write" {
		return fmt.Sprintf("sysctl: write %s=%q: %v", e.Key, e.Value, e.Err)
	}
	return fmt.Sprintf("sysctl: %s %s: %v", e.Op, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
