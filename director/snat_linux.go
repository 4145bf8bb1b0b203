package director

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The director's source-NAT rules (the FULLNAT equivalent) live in a table
// of their own, whole-owned like the iptables package's mark table.
const (
	snatTable = "lvs_snat"
	snatChain = "postrouting"
)

var snatTableRef = &nftables.Table{Name: snatTable, Family: nftables.TableFamilyINet}

// snatConn opens nftables in the director's namespace.
func (d *Director) snatConn() (*nftables.Conn, error) {
	if d.netns > 0 {
		return nftables.New(nftables.WithNetNSFd(d.netns))
	}
	return nftables.New()
}

// snatRules lists the targets of the SNAT rules in the kernel, by the
// rules' user data; nil when the table does not exist.
func (d *Director) snatRules() ([]string, error) {
	c, err := d.snatConn()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	chain, err := c.ListChain(snatTableRef, snatChain)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, nil // no table or chain: nothing of ours
	}
	rules, err := c.GetRules(snatTableRef, chain)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rules {
		out = append(out, string(r.UserData))
	}
	return out, nil
}

// syncSNAT replaces the SNAT table with rules masquerading the traffic the
// director forwards to each target, in one batch; no targets removes it.
func (d *Director) syncSNAT(targets []snatTarget) error {
	c, err := d.snatConn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	c.AddTable(snatTableRef) // so that the delete below cannot fail
	c.DelTable(snatTableRef)
	if len(targets) > 0 {
		t := c.AddTable(snatTableRef)
		ch := c.AddChain(&nftables.Chain{Name: snatChain, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
		for _, tg := range targets {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: snatExprs(tg), UserData: []byte(tg.String())})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("director: source NAT rules: %w", err)
	}
	return nil
}

// exprs is "meta nfproto ipv4 ip daddr RIP meta l4proto tcp th dport PORT
// masquerade" (ipv6 likewise).
func snatExprs(t snatTarget) []expr.Any {
	a := t.Dest.Addr()
	nfproto, off, l := byte(unix.NFPROTO_IPV4), uint32(16), uint32(4)
	if a.Is6() {
		nfproto, off, l = unix.NFPROTO_IPV6, 24, 16
	}
	port := binary.BigEndian.AppendUint16(nil, t.Dest.Port())
	out := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: l},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(t.Proto)}},
	}
	if t.Dest.Port() != 0 { // firewall-mark services' real servers keep the packet's port
		out = append(out,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port})
	}
	return append(out, &expr.Masq{})
}
