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
// It owns two inet tables, each with one base chain: NFTTable with NFTChain
// for the marks and NFTSNATTable with NFTSNATChain for source NAT. One table
// of family inet serves IPv4 and IPv6 alike, and deleting it removes the
// rules, the chain and their anonymous port sets at once; two tables let
// marks and source NAT be replaced without touching each other.
type nftBackend struct {
	mu   sync.Mutex
	ns   int
	opts []nftables.ConnOption // for tests: nftables.WithTestDial
}

func newNFTables(cfg Config, opts ...nftables.ConnOption) *nftBackend {
	return &nftBackend{ns: cfg.NetNS, opts: opts}
}

var (
	nftTable     = &nftables.Table{Name: NFTTable, Family: nftables.TableFamilyINet}
	nftSNATTable = &nftables.Table{Name: NFTSNATTable, Family: nftables.TableFamilyINet}
)

func nftChain() *nftables.Chain {
	return &nftables.Chain{
		Name:     NFTChain,
		Table:    nftTable,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityMangle,
	}
}

func nftSNATChain() *nftables.Chain {
	return &nftables.Chain{
		Name:     NFTSNATChain,
		Table:    nftSNATTable,
		Type:     nftables.ChainTypeNAT,
		Hooknum:  nftables.ChainHookPostrouting,
		Priority: nftables.ChainPriorityNATSource,
	}
}

// An nftOwned is an owned table, its chain, and how the chain's rules are
// written and read back. R is the rule type.
type nftOwned[R any] struct {
	chain  func() *nftables.Chain // its Table is the owned table
	encode func(r R) nftRule
	// decode parses one rule's expressions, reporting false for a rule
	// this package cannot have written; c serves to read anonymous sets.
	decode func(c *nftables.Conn, exprs []expr.Any) (R, bool, error)
	same   func(a, b []R) bool
}

var (
	nftMarks = nftOwned[Rule]{chain: nftChain, encode: encodeNFT, decode: decodeMark, same: sameRules}
	nftSNAT  = nftOwned[SNATRule]{
		chain:  nftSNATChain,
		encode: encodeSNAT,
		decode: func(_ *nftables.Conn, exprs []expr.Any) (SNATRule, bool, error) {
			r, ok := decodeSNAT(exprs)
			return r, ok, nil
		},
		same: sameSNAT,
	}
)

// decodeMark parses a mark rule, reading its port set, if any, from c.
func decodeMark(c *nftables.Conn, exprs []expr.Any) (Rule, bool, error) {
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
	r, ok := decodeNFT(exprs, ports)
	return r, ok, setErr
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

// do is the one request path: under the lock, on a fresh connection in the
// namespace, it lists the inet tables and calls fn with them; fn reads what
// it needs and queues its changes, reporting whether it queued any, and do
// sends them in one batch (one transaction). Errors come back as an *Error
// of op.
func (b *nftBackend) do(ctx context.Context, op string, fn func(c *nftables.Conn, tables []*nftables.Table) (bool, error)) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fail := func(err error) (bool, error) { return false, &Error{Backend: NFTables, Op: op, Err: err} }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	c, err := b.conn()
	if err != nil {
		return fail(err)
	}
	defer c.CloseLasting()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fail(unsupported(err, true))
	}
	queued, err := fn(c, tables)
	if err != nil {
		return fail(err)
	}
	if !queued {
		return false, nil
	}
	if err := c.Flush(); err != nil {
		return fail(unsupported(err, false))
	}
	return true, nil
}

// nftState is what the kernel holds of one owned table.
type nftState[R any] struct {
	table   bool // the owned table exists
	shaped  bool // it holds just the owned chain, hooked as made
	rules   []R  // the chain's rules that parse
	unknown int  // how many do not
}

func (o nftOwned[R]) inSync(s nftState[R], rules []R) bool {
	if len(rules) == 0 {
		return !s.table
	}
	return s.table && s.shaped && s.unknown == 0 && o.same(s.rules, rules)
}

// read reads the owned table's state; tables are the inet tables there are.
// Every error reading it is returned.
func (o nftOwned[R]) read(c *nftables.Conn, tables []*nftables.Table) (nftState[R], error) {
	var s nftState[R]
	want := o.chain()
	s.table = slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == want.Table.Name })
	if !s.table {
		return s, nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return s, err
	}
	chains = slices.DeleteFunc(chains, func(ch *nftables.Chain) bool { return ch.Table.Name != want.Table.Name })
	i := slices.IndexFunc(chains, func(ch *nftables.Chain) bool { return ch.Name == want.Name })
	if i < 0 {
		return s, nil
	}
	ch := chains[i]
	s.shaped = len(chains) == 1 && ch.Type == want.Type &&
		ch.Hooknum != nil && *ch.Hooknum == *want.Hooknum &&
		ch.Priority != nil && *ch.Priority == *want.Priority &&
		(ch.Policy == nil || *ch.Policy == nftables.ChainPolicyAccept)
	rules, err := c.GetRules(want.Table, ch)
	if err != nil {
		return s, err
	}
	for _, r := range rules {
		rule, ok, err := o.decode(c, r.Exprs)
		if err != nil {
			return s, err
		}
		if !ok {
			s.unknown++
			continue
		}
		s.rules = append(s.rules, rule)
	}
	return s, nil
}

// replace queues, in c's batch, the owned table's deletion (after adding
// it, so that the deletion cannot fail on a missing table) and, unless rules
// is empty, the table built anew with rules.
func (o nftOwned[R]) replace(c *nftables.Conn, rules []R) error {
	want := o.chain()
	c.AddTable(want.Table)
	c.DelTable(want.Table)
	if len(rules) == 0 {
		return nil
	}
	c.AddTable(want.Table)
	ch := c.AddChain(want)
	for _, r := range rules {
		enc := o.encode(r)
		if enc.set != nil {
			enc.set.Table = want.Table
			if err := c.AddSet(enc.set, enc.elems); err != nil {
				return err
			}
			enc.lookup.SetName, enc.lookup.SetID = enc.set.Name, enc.set.ID
		}
		c.AddRule(&nftables.Rule{Table: want.Table, Chain: ch, Exprs: enc.exprs})
	}
	return nil
}

// sync makes o's table exactly want (valid, canonical) unless it already is.
func (o nftOwned[R]) sync(ctx context.Context, b *nftBackend, op string, want []R) (bool, error) {
	return b.do(ctx, op, func(c *nftables.Conn, tables []*nftables.Table) (bool, error) {
		s, err := o.read(c, tables)
		if err != nil || o.inSync(s, want) {
			return false, err
		}
		return true, o.replace(c, want)
	})
}

// list reads o's rules.
func (o nftOwned[R]) list(ctx context.Context, b *nftBackend, op string) ([]R, error) {
	var rules []R
	_, err := b.do(ctx, op, func(c *nftables.Conn, tables []*nftables.Table) (bool, error) {
		s, err := o.read(c, tables)
		if err != nil {
			return false, err
		}
		if s.unknown > 0 {
			return false, fmt.Errorf("%d rule(s) in table inet %s: %w", s.unknown, o.chain().Table.Name, ErrUnknownRule)
		}
		rules = s.rules
		return false, nil
	})
	return rules, err
}

func (b *nftBackend) Sync(ctx context.Context, rules []Rule) (bool, error) {
	want, err := canonicalRules(rules)
	if err != nil {
		return false, err
	}
	return nftMarks.sync(ctx, b, "sync", want)
}

func (b *nftBackend) List(ctx context.Context) ([]Rule, error) {
	return nftMarks.list(ctx, b, "list")
}

func (b *nftBackend) SyncSNAT(ctx context.Context, rules []SNATRule) (bool, error) {
	want, err := validSNAT(rules)
	if err != nil {
		return false, err
	}
	return nftSNAT.sync(ctx, b, "sync snat", want)
}

func (b *nftBackend) ListSNAT(ctx context.Context) ([]SNATRule, error) {
	return nftSNAT.list(ctx, b, "list snat")
}

// Remove deletes both owned tables, those that are there, in one batch.
func (b *nftBackend) Remove(ctx context.Context) error {
	_, err := b.do(ctx, "remove", func(c *nftables.Conn, tables []*nftables.Table) (bool, error) {
		var marks, snat bool
		for _, t := range tables {
			marks = marks || t.Name == NFTTable
			snat = snat || t.Name == NFTSNATTable
		}
		if marks {
			if err := nftMarks.replace(c, nil); err != nil {
				return false, err
			}
		}
		if snat {
			if err := nftSNAT.replace(c, nil); err != nil {
				return false, err
			}
		}
		return marks || snat, nil
	})
	return err
}
