package iptables

import (
	"context"
	"errors"
	"strconv"
)

// The names this package owns. Everything under them is the package's to
// replace and delete; nothing outside them is touched.
const (
	// NFTTable is the nftables table (family inet) that holds the rules.
	NFTTable = "lvs"
	// NFTChain is NFTTable's base chain: type filter, hook prerouting,
	// priority mangle (-150), as iptables' mangle PREROUTING.
	NFTChain = "prerouting"
	// IPTablesChain is the chain in the mangle table (of iptables and
	// ip6tables) that holds the rules, jumped to from PREROUTING.
	IPTablesChain = "LVS-MARK"

	// NFTSNATTable is the nftables table (family inet) that holds the
	// source-NAT rules (SNATRule), apart from NFTTable so that marks and
	// source NAT change independently.
	NFTSNATTable = "lvs_snat"
	// NFTSNATChain is NFTSNATTable's base chain: type nat, hook
	// postrouting, priority srcnat (100), as iptables' nat POSTROUTING.
	NFTSNATChain = "postrouting"
	// IPTablesSNATChain is the chain in the nat table (of iptables and
	// ip6tables) that holds the source-NAT rules, jumped to from
	// POSTROUTING.
	IPTablesSNATChain = "LVS-SNAT"
)

// A Kind names a backend.
type Kind uint8

// The backends.
const (
	// NFTables speaks nf_tables netlink directly; no binary is needed.
	NFTables Kind = iota
	// IPTables runs iptables-restore and iptables-save (and their ip6tables
	// twins), for hosts whose firewall is managed with iptables.
	IPTables
)

// String returns "nftables" or "iptables".
func (k Kind) String() string {
	switch k {
	case NFTables:
		return "nftables"
	case IPTables:
		return "iptables"
	}
	return "unknown(" + strconv.Itoa(int(k)) + ")"
}

// Config configures a Backend. A nil *Config means the zero Config.
type Config struct {
	// NetNS is a file descriptor of the network namespace to work in (for
	// example a netns.NsHandle, or an open /run/netns/NAME); 0 means the
	// caller's. The Backend does not close it; keep it open while the
	// Backend is used. The caller's threads never change namespace.
	NetNS int
	// Backend selects the backend; the zero value is NFTables.
	Backend Kind
}

// A Backend keeps the firewall-mark rules and the source-NAT rules this
// package owns in one network namespace. The two sets live apart (their own
// table or chain each): Sync and List see only the marks, SyncSNAT and
// ListSNAT only the source NAT, and neither Sync disturbs the other's
// rules. Its methods are safe for concurrent use; calls are serialized.
type Backend interface {
	// Sync makes the owned rules exactly rules, in order, and reports whether
	// it had to change anything. Applying the same set again sends nothing
	// and returns false. A new set replaces the old atomically (one nftables
	// transaction; with the iptables backend, one iptables-restore per
	// address family). An empty set removes the owned mark table or chain
	// (the source-NAT rules stay).
	//
	// Invalid rules give a *ValidationError before anything is changed. A
	// missing table or chain (deleted by hand) is recreated; rules found in
	// it that this package did not write are replaced.
	Sync(ctx context.Context, rules []Rule) (changed bool, err error)
	// List returns the owned rules as they are in the kernel, parsed back:
	// prefixes masked, ports sorted and merged, a full Mask as 0, and
	// neighbouring rules that differ only in their ports as one rule. No
	// owned table or chain means no rules. A rule in the owned table or
	// chain that this package cannot have written gives an error wrapping
	// ErrUnknownRule.
	List(ctx context.Context) ([]Rule, error)
	// Remove deletes everything this package owns in the namespace, the
	// mark rules and the source-NAT rules alike, in one transaction (with
	// the iptables backend, one iptables-restore per address family, which
	// commits the mangle and the nat table each on its own). It succeeds
	// when nothing is there, and with the iptables backend also on a kernel
	// without the nat table.
	Remove(ctx context.Context) error

	// SyncSNAT makes the owned source-NAT rules exactly rules (order kept),
	// atomically, reporting whether anything changed; empty removes them.
	//
	// As with Sync: applying the same rules again sends nothing and returns
	// false; invalid rules give a *ValidationError (matching ErrInvalid)
	// before anything is changed; a missing table or chain is recreated and
	// rules in it that this package did not write are replaced. The order
	// kept is the order within each address family (the iptables backend
	// keeps IPv4 and IPv6 rules in two programs' tables). The mark rules
	// are not touched.
	SyncSNAT(ctx context.Context, rules []SNATRule) (changed bool, err error)
	// ListSNAT returns the owned source-NAT rules in the kernel; none when
	// the table/chain is absent. Read errors (EPERM, ...) are returned, never swallowed.
	//
	// The rules are parsed back from what the kernel holds (with the
	// nftables backend, from the rules' expressions), IPv4 before IPv6 with
	// the iptables backend. A rule in the owned table or chain that this
	// package cannot have written gives an error wrapping ErrUnknownRule.
	ListSNAT(ctx context.Context) ([]SNATRule, error)
}

// New returns the Backend that cfg selects. The iptables backend fails here,
// with an error wrapping fs.ErrNotExist, when iptables-restore or
// iptables-save cannot be found. On systems other than Linux it returns an
// error wrapping errors.ErrUnsupported.
func New(cfg *Config) (Backend, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	switch cfg.Backend {
	case NFTables, IPTables:
	default:
		return nil, &Error{Backend: cfg.Backend, Op: "new", Err: errors.New("no such backend")}
	}
	return newBackend(*cfg)
}

// ErrUnknownRule means the owned table or chain holds a rule that this
// package cannot have written, so List cannot describe it as a Rule (or
// ListSNAT as an SNATRule). Sync (SyncSNAT) replaces it.
var ErrUnknownRule = errors.New("rule not written by this package")

// An Error is a failed backend operation. Its Err says why; errors.Is sees
// through it: errors.ErrUnsupported when nf_tables is not available,
// fs.ErrNotExist for a missing binary, the errno of a kernel refusal.
type Error struct {
	Backend Kind
	Op      string // "new", "sync", "list", "remove", "sync snat", "list snat"
	Err     error
}

func (e *Error) Error() string {
	return "iptables: " + e.Backend.String() + " " + e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
