package iptables

import (
	"context"
	"fmt"
	"sync"
)

// iptablesBackend drives iptables-restore and iptables-save (and the
// ip6tables pair for IPv6 rules).
//
// Why the binaries and not github.com/coreos/go-iptables: go-iptables runs
// one iptables command per change, so replacing a rule set would be many
// separate transactions with windows where packets see half of each set; it
// has no restore interface and no way to act in another network namespace.
// iptables-restore --noflush applies a whole change to the mangle table as
// one transaction (one ruleset commit, with iptables-nft and iptables-legacy
// alike) without touching chains it is not told about, and iptables-save
// gives back what the kernel holds in the syntax written.
type iptablesBackend struct {
	mu       sync.Mutex
	ns       int
	families [2]ipFamily // IPv4, IPv6
}

// ipFamily is one address family's pair of programs.
type ipFamily struct {
	v4            bool
	restore, save string
	err           error // why the programs are missing; nil if both found
}

func (f ipFamily) name() string {
	if f.v4 {
		return "IPv4"
	}
	return "IPv6"
}

// newIPTables finds the programs NAME-restore and NAME-save for the names
// of the IPv4 and IPv6 tools, such as "iptables" and "ip6tables" (or
// "iptables-legacy" and "ip6tables-legacy").
func newIPTables(cfg Config, v4name, v6name string) (*iptablesBackend, error) {
	b := &iptablesBackend{ns: cfg.NetNS}
	for i, prefix := range []string{v4name, v6name} {
		f := ipFamily{v4: i == 0}
		f.restore, f.err = lookBin(prefix + "-restore")
		if f.err == nil {
			f.save, f.err = lookBin(prefix + "-save")
		}
		b.families[i] = f
	}
	// IPv4 is required; without ip6tables the backend still serves IPv4
	// rules, and fails only for IPv6 ones.
	if err := b.families[0].err; err != nil {
		return nil, &Error{Backend: IPTables, Op: "new", Err: err}
	}
	return b, nil
}

func (b *iptablesBackend) state(ctx context.Context, f ipFamily) (savedState, error) {
	out, err := run(ctx, b.ns, f.save, "", "-t", "mangle")
	if err != nil {
		return savedState{}, err
	}
	return parseSave(out, f.v4), nil
}

// apply makes family f's owned state exactly rules (all of that family).
// Without f's programs (Sync checks that there are no rules for it) nothing
// of ours can be there, and there is nothing to do.
func (b *iptablesBackend) apply(ctx context.Context, f ipFamily, rules []Rule) (bool, error) {
	if f.err != nil {
		return false, nil
	}
	s, err := b.state(ctx, f)
	if err != nil {
		return false, err
	}
	script := restoreScript(s, rules)
	if script == "" {
		return false, nil
	}
	if _, err := run(ctx, b.ns, f.restore, script, "--noflush", "--wait=10"); err != nil {
		return false, err
	}
	return true, nil
}

func (b *iptablesBackend) Sync(ctx context.Context, rules []Rule) (bool, error) {
	want, err := canonicalRules(rules)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Check both families before changing either, so that a missing
	// ip6tables fails the call before the IPv4 rules change.
	for _, f := range b.families {
		if f.err != nil && len(family(want, f.v4)) > 0 {
			return false, &Error{Backend: IPTables, Op: "sync", Err: fmt.Errorf("%s rules: %w", f.name(), f.err)}
		}
	}
	changed := false
	for _, f := range b.families {
		c, err := b.apply(ctx, f, family(want, f.v4))
		changed = changed || c
		if err != nil {
			return changed, &Error{Backend: IPTables, Op: "sync", Err: err}
		}
	}
	return changed, nil
}

func (b *iptablesBackend) List(ctx context.Context) ([]Rule, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var rules []Rule
	for _, f := range b.families {
		if f.err != nil {
			continue
		}
		s, err := b.state(ctx, f)
		if err != nil {
			return nil, &Error{Backend: IPTables, Op: "list", Err: err}
		}
		if len(s.unknown) > 0 {
			return nil, &Error{Backend: IPTables, Op: "list", Err: fmt.Errorf("%q: %w", s.unknown[0], ErrUnknownRule)}
		}
		rules = append(rules, s.rules...)
	}
	return rules, nil
}

func (b *iptablesBackend) Remove(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.families {
		if _, err := b.apply(ctx, f, nil); err != nil {
			return &Error{Backend: IPTables, Op: "remove", Err: err}
		}
	}
	return nil
}
