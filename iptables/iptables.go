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

// A Backend keeps the firewall-mark rules this package owns in one network
// namespace. Its methods are safe for concurrent use; calls are serialized.
type Backend interface {
	// Sync makes the owned rules exactly rules, in order, and reports whether
	// it had to change anything. Applying the same set again sends nothing
	// and returns false. A new set replaces the old atomically (one nftables
	// transaction; with the iptables backend, one iptables-restore per
	// address family). An empty set removes the owned table or chain.
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
	// Remove deletes everything this package owns in the namespace, in one
	// transaction (with the iptables backend, one per address family). It
	// succeeds when nothing is there.
	Remove(ctx context.Context) error
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
// package cannot have written, so List cannot describe it as a Rule. Sync
// replaces it.
var ErrUnknownRule = errors.New("rule not written by this package")

// An Error is a failed backend operation. Its Err says why; errors.Is sees
// through it: errors.ErrUnsupported when nf_tables is not available,
// fs.ErrNotExist for a missing binary, the errno of a kernel refusal.
type Error struct {
	Backend Kind
	Op      string // "new", "sync", "list", "remove"
	Err     error
}

func (e *Error) Error() string {
	return "iptables: " + e.Backend.String() + " " + e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
