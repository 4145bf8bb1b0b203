package directortest

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/lvs-go/lvs/iptables"
)

// Firewall is an in-memory namespace's firewall-mark and source-NAT rules
// as an iptables.Backend keeps them: two sets apart, each replaced whole
// by its Sync, invalid rules refused with the package's *ValidationError
// before anything changes. List gives back what Sync was given; the real
// backends list rules in their canonical form (prefixes masked, ports
// merged), which a Director already writes. It is safe for concurrent
// use.
type Firewall struct {
	mu          sync.Mutex
	marks       []iptables.Rule
	snat        []iptables.SNATRule
	calls       map[string]int
	fail        func(op string) error
	transaction int
}

var _ iptables.Backend = (*Firewall)(nil)

// Rules returns the mark and the source-NAT rules the namespace holds.
func (f *Firewall) Rules() ([]iptables.Rule, []iptables.SNATRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.marks), slices.Clone(f.snat)
}

// Fail makes every later call for which fn returns an error fail with
// that error, changing nothing; op is the method's name. nil fn removes
// the fault.
func (f *Firewall) Fail(fn func(op string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

// Calls returns how many times each method was called.
func (f *Firewall) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// Transactions counts the changes made (each Sync that changed something,
// each Remove that removed something), as the kernel would count
// committed transactions.
func (f *Firewall) Transactions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.transaction
}

func (f *Firewall) enter(ctx context.Context, op string) error {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.fail != nil {
		return f.fail(op)
	}
	return nil
}

// Sync makes the mark rules exactly rules.
func (f *Firewall) Sync(ctx context.Context, rules []iptables.Rule) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Sync"); err != nil {
		return false, err
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return false, err
		}
	}
	if slices.EqualFunc(f.marks, rules, func(a, b iptables.Rule) bool { return a.String() == b.String() }) {
		return false, nil
	}
	f.marks = slices.Clone(rules)
	f.transaction++
	return true, nil
}

// List returns the mark rules.
func (f *Firewall) List(ctx context.Context) ([]iptables.Rule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "List"); err != nil {
		return nil, err
	}
	return slices.Clone(f.marks), nil
}

// Remove deletes both sets.
func (f *Firewall) Remove(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "Remove"); err != nil {
		return err
	}
	if len(f.marks)+len(f.snat) > 0 {
		f.transaction++
	}
	f.marks, f.snat = nil, nil
	return nil
}

// SyncSNAT makes the source-NAT rules exactly rules.
func (f *Firewall) SyncSNAT(ctx context.Context, rules []iptables.SNATRule) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "SyncSNAT"); err != nil {
		return false, err
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return false, err
		}
	}
	if slices.Equal(f.snat, rules) {
		return false, nil
	}
	f.snat = slices.Clone(rules)
	f.transaction++
	return true, nil
}

// ListSNAT returns the source-NAT rules.
func (f *Firewall) ListSNAT(ctx context.Context) ([]iptables.SNATRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(ctx, "ListSNAT"); err != nil {
		return nil, err
	}
	return slices.Clone(f.snat), nil
}
