package directortest

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/sysctl"
)

// Sides are a namespace's kernel sides as a Director takes them.
type Sides struct {
	Sysctls  director.Sysctls
	Links    director.Links
	Firewall iptables.Backend
}

// RunSides is the suite that holds the stand-ins of this package to the
// real sides: open returns the sides of a fresh namespace (with its
// loopback link down, ip_forward 0, and no firewall rules), one for each
// subtest. This package runs it on the stand-ins everywhere and on the
// real sides (in a new network namespace) where it can.
func RunSides(t *testing.T, open func(t *testing.T) Sides) {
	ctx := func(t *testing.T) context.Context {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		return c
	}
	t.Run("sysctls", func(t *testing.T) {
		s, c := open(t).Sysctls, ctx(t)
		if v, err := s.Get(c, sysctl.IPv4Forward); err != nil || v != "0" {
			t.Errorf("ip_forward: %q, %v", v, err)
		}
		if _, err := s.Get(c, "net.ipv4.no_such_key"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("an unknown key: %v, want fs.ErrNotExist", err)
		}
		if _, err := s.Get(c, "../etc/passwd"); !errors.Is(err, sysctl.ErrInvalid) {
			t.Errorf("a bad key: %v, want sysctl.ErrInvalid", err)
		}
		undo, err := s.Apply(c, sysctl.Setting{Key: sysctl.IPv4Forward, Value: "1"})
		if err != nil || len(undo) != 1 || undo[0].Value != "0" {
			t.Fatalf("Apply: %v, %v", undo, err)
		}
		if again, err := s.Apply(c, sysctl.Setting{Key: sysctl.IPv4Forward, Value: "1"}); err != nil || len(again) != 0 {
			t.Errorf("Apply of the value it has: %v, %v; want nothing to undo", again, err)
		}
		if _, err := s.Apply(c, sysctl.Setting{Key: sysctl.IPv4Forward, Value: "0"}, sysctl.Setting{Key: "net.ipv4.no_such_key", Value: "1"}); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Apply with an unknown key: %v", err)
		}
		if v, _ := s.Get(c, sysctl.IPv4Forward); v != "1" {
			t.Errorf("ip_forward %q after a refused Apply, want 1 (nothing written)", v)
		}
		if err := s.Restore(c, undo); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Get(c, sysctl.IPv4Forward); v != "0" {
			t.Errorf("ip_forward %q after Restore, want 0", v)
		}
	})
	t.Run("links", func(t *testing.T) {
		l, c := open(t).Links, ctx(t)
		if lo, err := l.Link(c, "lo"); err != nil || lo.Up || lo.Name != "lo" {
			t.Errorf("lo: %+v, %v; want it down", lo, err)
		}
		if _, err := l.Link(c, "nosuch0"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a missing link: %v, want fs.ErrNotExist", err)
		}
		if err := l.AddDummy(c, "vip0"); err != nil {
			t.Fatal(err)
		}
		if err := l.AddDummy(c, "vip0"); !errors.Is(err, fs.ErrExist) {
			t.Errorf("a second dummy of the same name: %v, want fs.ErrExist", err)
		}
		if v, err := l.Link(c, "vip0"); err != nil || v.Kind != "dummy" || v.Up {
			t.Errorf("vip0: %+v, %v; want a dummy, down", v, err)
		}
		if err := l.SetUp(c, "vip0"); err != nil {
			t.Fatal(err)
		}
		if v, _ := l.Link(c, "vip0"); !v.Up {
			t.Error("vip0 not up after SetUp")
		}
		p4, p6 := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::1/128")
		for _, p := range []netip.Prefix{p4, p6} {
			if err := l.AddAddr(c, "vip0", p); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.AddAddr(c, "vip0", p4); !errors.Is(err, fs.ErrExist) {
			t.Errorf("an address twice: %v, want fs.ErrExist", err)
		}
		addrs, err := l.Addrs(c, "vip0")
		if err != nil || !slices.Contains(addrs, p4) || !slices.Contains(addrs, p6) {
			t.Errorf("addresses %v, %v", addrs, err)
		}
		if err := l.DelAddr(c, "vip0", p4); err != nil {
			t.Fatal(err)
		}
		if err := l.DelAddr(c, "vip0", p4); err != nil {
			t.Errorf("an address already gone: %v, want no error", err)
		}
		if err := l.DelAddr(c, "nosuch0", p4); err != nil {
			t.Errorf("an address of a missing link: %v, want no error", err)
		}
		if addrs, _ := l.Addrs(c, "vip0"); slices.Contains(addrs, p4) {
			t.Errorf("addresses after DelAddr: %v", addrs)
		}
		if err := l.DeleteLink(c, "vip0"); err != nil {
			t.Fatal(err)
		}
		if err := l.DeleteLink(c, "vip0"); err != nil {
			t.Errorf("deleting a missing link: %v, want no error", err)
		}
		if _, err := l.Addrs(c, "vip0"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("addresses of a deleted link: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("firewall", func(t *testing.T) {
		f, c := open(t).Firewall, ctx(t)
		marks := []iptables.Rule{{Destination: netip.MustParsePrefix("10.0.0.8/32"), Protocol: iptables.TCP,
			Ports: []iptables.PortRange{{First: 80, Last: 80}, {First: 443, Last: 443}}, Mark: 7}}
		snat := []iptables.SNATRule{{Protocol: iptables.TCP, Destination: netip.MustParseAddrPort("10.0.0.110:80")}}
		if got, err := f.List(c); err != nil || len(got) != 0 {
			t.Fatalf("a fresh namespace's marks: %v, %v", got, err)
		}
		if changed, err := f.Sync(c, marks); err != nil || !changed {
			t.Fatalf("Sync: %v, %v", changed, err)
		}
		if changed, err := f.Sync(c, marks); err != nil || changed {
			t.Errorf("Sync of the same rules: changed %v, %v", changed, err)
		}
		if changed, err := f.SyncSNAT(c, snat); err != nil || !changed {
			t.Fatalf("SyncSNAT: %v, %v", changed, err)
		}
		if got, err := f.List(c); err != nil || len(got) != 1 || got[0].String() != marks[0].String() {
			t.Errorf("List: %v, %v; want %v", got, err, marks)
		}
		if got, err := f.ListSNAT(c); err != nil || !slices.Equal(got, snat) {
			t.Errorf("ListSNAT: %v, %v", got, err)
		}
		bad := []iptables.Rule{{Destination: netip.MustParsePrefix("10.0.0.8/32"), Protocol: iptables.TCP, Mark: 0}}
		if _, err := f.Sync(c, bad); !errors.Is(err, iptables.ErrInvalid) {
			t.Errorf("Sync of a rule with mark 0: %v, want iptables.ErrInvalid", err)
		}
		if got, _ := f.List(c); len(got) != 1 {
			t.Errorf("marks after a refused Sync: %v", got)
		}
		if err := f.Remove(c); err != nil {
			t.Fatal(err)
		}
		m, _ := f.List(c)
		s, _ := f.ListSNAT(c)
		if len(m)+len(s) != 0 {
			t.Errorf("after Remove: %v %v", m, s)
		}
	})
}
