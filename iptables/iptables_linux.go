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

// saved reads chain c's state in family f, from f's iptables-save of c's
// table.
func saved[R ownedRule](ctx context.Context, b *iptablesBackend, f ipFamily, c ownedChain[R]) (savedState[R], error) {
	out, err := run(ctx, b.ns, f.save, "", "-t", c.table)
	if err != nil {
		return savedState[R]{}, err
	}
	return c.parseSave(out, f.v4), nil
}

// restore runs f's iptables-restore --noflush with script, which names the
// tables it changes and leaves the others alone.
func (b *iptablesBackend) restore(ctx context.Context, f ipFamily, script string) error {
	_, err := run(ctx, b.ns, f.restore, script, "--noflush", "--wait=10")
	return err
}

// apply makes chain c's state in family f exactly rules (all of that
// family). Without f's programs (syncChain checks that there are no rules
// for it) nothing of ours can be there, and there is nothing to do.
func apply[R ownedRule](ctx context.Context, b *iptablesBackend, f ipFamily, c ownedChain[R], rules []R) (bool, error) {
	if f.err != nil {
		return false, nil
	}
	s, err := saved(ctx, b, f, c)
	if err != nil {
		return false, err
	}
	script := c.script(s, rules)
	if script == "" {
		return false, nil
	}
	if err := b.restore(ctx, f, script); err != nil {
		return false, err
	}
	return true, nil
}

// syncChain makes chain c in both families exactly want (valid and
// canonical), one iptables-restore per family that needs a change.
func syncChain[R ownedRule](ctx context.Context, b *iptablesBackend, op string, c ownedChain[R], want []R) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Check both families before changing either, so that a missing
	// ip6tables fails the call before the IPv4 rules change.
	for _, f := range b.families {
		if f.err != nil && len(c.family(want, f.v4)) > 0 {
			return false, &Error{Backend: IPTables, Op: op, Err: fmt.Errorf("%s rules: %w", f.name(), f.err)}
		}
	}
	changed := false
	for _, f := range b.families {
		ch, err := apply(ctx, b, f, c, c.family(want, f.v4))
		changed = changed || ch
		if err != nil {
			return changed, &Error{Backend: IPTables, Op: op, Err: err}
		}
	}
	return changed, nil
}

// listChain reads chain c's rules in both families, IPv4 first.
func listChain[R ownedRule](ctx context.Context, b *iptablesBackend, op string, c ownedChain[R]) ([]R, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var rules []R
	for _, f := range b.families {
		if f.err != nil {
			continue
		}
		s, err := saved(ctx, b, f, c)
		if err != nil {
			return nil, &Error{Backend: IPTables, Op: op, Err: err}
		}
		if len(s.unknown) > 0 {
			return nil, &Error{Backend: IPTables, Op: op, Err: fmt.Errorf("%q: %w", s.unknown[0], ErrUnknownRule)}
		}
		rules = append(rules, s.rules...)
	}
	return rules, nil
}

func (b *iptablesBackend) Sync(ctx context.Context, rules []Rule) (bool, error) {
	want, err := canonicalRules(rules)
	if err != nil {
		return false, err
	}
	return syncChain(ctx, b, "sync", markChain, want)
}

func (b *iptablesBackend) List(ctx context.Context) ([]Rule, error) {
	return listChain(ctx, b, "list", markChain)
}

func (b *iptablesBackend) SyncSNAT(ctx context.Context, rules []SNATRule) (bool, error) {
	want, err := validSNAT(rules)
	if err != nil {
		return false, err
	}
	return syncChain(ctx, b, "sync snat", snatChain, want)
}

func (b *iptablesBackend) ListSNAT(ctx context.Context) ([]SNATRule, error) {
	return listChain(ctx, b, "list snat", snatChain)
}

// Remove reads all of a family's tables with one iptables-save (without -t:
// a table that is not there, such as nat on a kernel without it, is not
// printed, holds nothing of ours and is not made) and deletes both owned
// chains with one iptables-restore.
func (b *iptablesBackend) Remove(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.families {
		if f.err != nil {
			continue
		}
		out, err := run(ctx, b.ns, f.save, "")
		if err != nil {
			return &Error{Backend: IPTables, Op: "remove", Err: err}
		}
		script := markChain.script(markChain.parseSave(out, f.v4), nil) +
			snatChain.script(snatChain.parseSave(out, f.v4), nil)
		if script == "" {
			continue
		}
		if err := b.restore(ctx, f, script); err != nil {
			return &Error{Backend: IPTables, Op: "remove", Err: err}
		}
	}
	return nil
}
