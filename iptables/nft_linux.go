package iptables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func newBackend(cfg Config) (Backend, error) {
	if cfg.Backend == IPTables {
		return newIPTables(cfg, "iptables", "ip6tables")
	}
	return newNFTables(cfg), nil
}

// nftBackend speaks nf_tables netlink through github.com/google/nftables.
// It owns the inet table NFTTable with one base chain, NFTChain. One table
// of family inet serves IPv4 and IPv6 alike, and deleting it removes the
// rules, the chain and their anonymous port sets at once.
type nftBackend struct {
	mu   sync.Mutex
	ns   int
	opts []nftables.ConnOption // for tests: nftables.WithTestDial
}

func newNFTables(cfg Config, opts ...nftables.ConnOption) *nftBackend {
	return &nftBackend{ns: cfg.NetNS, opts: opts}
}

var nftTable = &nftables.Table{Name: NFTTable, Family: nftables.TableFamilyINet}

func nftChain() *nftables.Chain {
	return &nftables.Chain{
		Name:     NFTChain,
		Table:    nftTable,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityMangle,
	}
}

// conn opens a netlink socket in the backend's namespace (netlink's
// Config.NetNS: the socket is made on a locked thread switched into the
// namespace and back, so no thread of the caller moves) for one operation;
// close it with CloseLasting.
func (b *nftBackend) conn() (*nftables.Conn, error) {
	opts := slices.Concat([]nftables.ConnOption{nftables.AsLasting(), nftables.WithNetNSFd(b.ns)}, b.opts)
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, unsupported(err, false)
	}
	return c, nil
}

// unsupported says that err means nf_tables is not available, if it does:
// no nfnetlink (EPROTONOSUPPORT at socket), no nf_tables subsystem
// (EOPNOTSUPP in a batch; EINVAL for a request outside one, which the
// kernel also gives to malformed requests, so only a listing as well-formed
// as the first one counts: firstRequest).
func unsupported(err error, firstRequest bool) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) ||
		errors.Is(err, unix.EOPNOTSUPP) || (firstRequest && errors.Is(err, unix.EINVAL)) {
		return fmt.Errorf("nf_tables is not available (is the nf_tables module loaded?): %w: %w", errors.ErrUnsupported, err)
	}
	return err
}

// nftState is what the kernel holds of the owned table.
type nftState struct {
	table   bool   // the owned table exists
	shaped  bool   // it holds just the owned chain, hooked as nftChain says
	rules   []Rule // the chain's rules that parse, canonical
	unknown int    // how many do not
}

func (s nftState) inSync(rules []Rule) bool {
	if len(rules) == 0 {
		return !s.table
	}
	return s.table && s.shaped && s.unknown == 0 && sameRules(s.rules, rules)
}

func (b *nftBackend) read(c *nftables.Conn) (nftState, error) {
	var s nftState
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return s, unsupported(err, true)
	}
	s.table = slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == NFTTable })
	if !s.table {
		return s, nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return s, err
	}
	chains = slices.DeleteFunc(chains, func(ch *nftables.Chain) bool { return ch.Table.Name != NFTTable })
	i := slices.IndexFunc(chains, func(ch *nftables.Chain) bool { return ch.Name == NFTChain })
	if i < 0 {
		return s, nil
	}
	ch, want := chains[i], nftChain()
	s.shaped = len(chains) == 1 && ch.Type == want.Type &&
		ch.Hooknum != nil && *ch.Hooknum == *want.Hooknum &&
		ch.Priority != nil && *ch.Priority == *want.Priority &&
		(ch.Policy == nil || *ch.Policy == nftables.ChainPolicyAccept)
	rules, err := c.GetRules(nftTable, ch)
	if err != nil {
		return s, err
	}
	var setErr error
	ports := func(l *expr.Lookup) ([]PortRange, bool) {
		set, err := c.GetSetByName(nftTable, l.SetName)
		if err != nil {
			setErr = err
			return nil, false
		}
		if !set.Anonymous || set.IsMap || set.KeyType.Bytes != 2 {
			return nil, false
		}
		elems, err := c.GetSetElements(set)
		if err != nil {
			setErr = err
			return nil, false
		}
		return setPorts(elems, set.Interval)
	}
	for _, r := range rules {
		rule, ok := decodeNFT(r.Exprs, ports)
		if setErr != nil {
			return s, setErr
		}
		if !ok {
			s.unknown++
			continue
		}
		s.rules = append(s.rules, rule)
	}
	return s, nil
}

// replace queues, in one batch, the owned table's deletion (after adding it,
// so that the deletion cannot fail on a missing table) and, unless rules is
// empty, the table built anew with rules.
func replace(c *nftables.Conn, rules []Rule) error {
	c.AddTable(nftTable)
	c.DelTable(nftTable)
	if len(rules) == 0 {
		return nil
	}
	c.AddTable(nftTable)
	ch := c.AddChain(nftChain())
	for _, r := range rules {
		enc := encodeNFT(r)
		if enc.set != nil {
			enc.set.Table = nftTable
			if err := c.AddSet(enc.set, enc.elems); err != nil {
				return err
			}
			enc.lookup.SetName, enc.lookup.SetID = enc.set.Name, enc.set.ID
		}
		c.AddRule(&nftables.Rule{Table: nftTable, Chain: ch, Exprs: enc.exprs})
	}
	return nil
}

func (b *nftBackend) Sync(ctx context.Context, rules []Rule) (bool, error) {
	want, err := canonicalRules(rules)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return false, &Error{Backend: NFTables, Op: "sync", Err: err}
	}
	c, err := b.conn()
	if err != nil {
		return false, &Error{Backend: NFTables, Op: "sync", Err: err}
	}
	defer c.CloseLasting()
	s, err := b.read(c)
	if err != nil {
		return false, &Error{Backend: NFTables, Op: "sync", Err: err}
	}
	if s.inSync(want) {
		return false, nil
	}
	if err := replace(c, want); err != nil {
		return false, &Error{Backend: NFTables, Op: "sync", Err: err}
	}
	if err := c.Flush(); err != nil {
		return false, &Error{Backend: NFTables, Op: "sync", Err: unsupported(err, false)}
	}
	return true, nil
}

func (b *nftBackend) List(ctx context.Context) ([]Rule, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, &Error{Backend: NFTables, Op: "list", Err: err}
	}
	c, err := b.conn()
	if err != nil {
		return nil, &Error{Backend: NFTables, Op: "list", Err: err}
	}
	defer c.CloseLasting()
	s, err := b.read(c)
	if err != nil {
		return nil, &Error{Backend: NFTables, Op: "list", Err: err}
	}
	if s.unknown > 0 {
		return nil, &Error{Backend: NFTables, Op: "list", Err: fmt.Errorf("%d rule(s) in table inet %s: %w", s.unknown, NFTTable, ErrUnknownRule)}
	}
	return s.rules, nil
}

func (b *nftBackend) Remove(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return &Error{Backend: NFTables, Op: "remove", Err: err}
	}
	c, err := b.conn()
	if err != nil {
		return &Error{Backend: NFTables, Op: "remove", Err: err}
	}
	defer c.CloseLasting()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return &Error{Backend: NFTables, Op: "remove", Err: unsupported(err, true)}
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == NFTTable }) {
		return nil
	}
	if err := replace(c, nil); err != nil {
		return &Error{Backend: NFTables, Op: "remove", Err: err}
	}
	if err := c.Flush(); err != nil {
		return &Error{Backend: NFTables, Op: "remove", Err: unsupported(err, false)}
	}
	return nil
}
