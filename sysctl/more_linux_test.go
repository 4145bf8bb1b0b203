package sysctl

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/rtnl"
	"github.com/lvs-go/lvs/internal/vmtest"
)

func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Config{Modules: []string{"ip_vs"}}) }

// readIn reads a /proc/sys file directly from a thread inside ns, bypassing
// the package, to check what it wrote.
func readIn(t *testing.T, ns int, path string) string {
	t.Helper()
	var b []byte
	if err := netnsx.Do(ns, func() error {
		var err error
		b, err = os.ReadFile(path)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestDottedInterface: the key of an interface whose name has a dot (a
// VLAN-style "eth0.100") reaches that interface's directory.
func TestDottedInterface(t *testing.T) {
	ctx := t.Context()
	ns := nstest.New(t)
	rt, err := rtnl.Dial(int(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.CreateLink("eth0.100", "veth"); err != nil { // the kernel names the peer
		t.Fatal(err)
	}
	s, err := New(&Config{NetNS: int(ns)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := RPFilter("eth0.100")
	if k != "net.ipv4.conf.eth0/100.rp_filter" {
		t.Fatalf("RPFilter(eth0.100) = %q", k)
	}
	for _, v := range []int{2, 0, 1} {
		if err := s.SetInt(ctx, k, v); err != nil {
			t.Fatal(err)
		}
		if got := readIn(t, int(ns), "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"); got != strconv.Itoa(v) {
			t.Errorf("after SetInt(%d) the file holds %s", v, got)
		}
		if got, err := s.GetInt(ctx, k); err != nil || got != v {
			t.Errorf("GetInt = %d, %v; want %d", got, err, v)
		}
	}
	// The same interface through the IPv6 tree.
	if err := s.SetInt(ctx, ConfIPv6("eth0.100", "disable_ipv6"), 1); err != nil {
		t.Fatal(err)
	}
	if got := readIn(t, int(ns), "/proc/sys/net/ipv6/conf/eth0.100/disable_ipv6"); got != "1" {
		t.Errorf("disable_ipv6 = %s, want 1", got)
	}
	// Without the escape the dot splits the name: no such key.
	if _, err := s.Get(ctx, "net.ipv4.conf.eth0.100.rp_filter"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unescaped key: %v, want fs.ErrNotExist", err)
	}
}

func TestIPv6AndTypedValues(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	host := hostValue(t, IPv6Forward)
	if err := s.SetInt(ctx, IPv6Forward, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetInt(ctx, IPv6Forward); err != nil || v != 1 {
		t.Errorf("IPv6Forward = %d, %v; want 1", v, err)
	}
	if hostValue(t, IPv6Forward) != host {
		t.Error("the host's IPv6 forwarding changed")
	}
	// A key holding two numbers is not an int.
	_, err := s.GetInt(ctx, "net.ipv4.ip_local_port_range")
	var se *Error
	if !errors.As(err, &se) || se.Op != "read" {
		t.Errorf("GetInt of a two-number key: %v, want a read *Error", err)
	}
	v, err := s.Get(ctx, "net.ipv4.ip_local_port_range")
	if err != nil || len(strings.Fields(v)) != 2 {
		t.Errorf("Get = %q, %v; want two numbers", v, err)
	}
	if err := s.Set(ctx, IPv4Forward, "1\x000"); !errors.Is(err, ErrInvalid) {
		t.Errorf("value with NUL: %v, want ErrInvalid", err)
	}
}

// TestRestoreTriesEveryKey: a key that cannot be restored does not stop the
// others; the error names it.
func TestRestoreTriesEveryKey(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	if err := s.SetInt(ctx, ArpIgnore("all"), 3); err != nil {
		t.Fatal(err)
	}
	err := s.Restore(ctx, Snapshot{{ArpIgnore("all"), "2"}, {"net.ipv4.conf.gone0.arp_ignore", "1"}, {ArpAnnounce("all"), "1"}})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "gone0") {
		t.Errorf("Restore: %v, want fs.ErrNotExist naming gone0", err)
	}
	for k, w := range map[Key]int{ArpIgnore("all"): 2, ArpAnnounce("all"): 1} {
		if v, _ := s.GetInt(ctx, k); v != w {
			t.Errorf("%s = %d, want %d", k, v, w)
		}
	}
}

func TestClose(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Get(ctx, IPv4Forward); err == nil {
		t.Error("Get after Close succeeded")
	}
}

// TestVSKeys: every net.ipv4.vs.* constant exists once ip_vs is loaded,
// and each namespace has its own.
func TestVSKeys(t *testing.T) {
	ctx := t.Context()
	vmtest.Require(t, "ip_vs")
	a, b := newNS(t), newNS(t)
	for _, k := range []Key{VSConntrack, VSExpireNodestConn, VSExpireQuiescentTemplate, VSConnReuseMode,
		VSSnatReroute, VSSloppyTCP, VSSloppySCTP, VSSchedICMP, VSIgnoreTunneled, VSBackupOnly,
		VSAmemThresh, VSDropEntry, VSDropPacket, VSSecureTCP, VSNatICMPSend} {
		if _, err := a.GetInt(ctx, k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	undo, err := a.Apply(ctx, Setting{VSConntrack, "1"}, Setting{VSExpireNodestConn, "1"}, Setting{VSSloppyTCP, "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{VSConntrack, VSExpireNodestConn, VSSloppyTCP} {
		if v, _ := a.GetInt(ctx, k); v != 1 {
			t.Errorf("a: %s = %d, want 1", k, v)
		}
		if v, _ := b.GetInt(ctx, k); v != 0 {
			t.Errorf("b: %s = %d, want its own default 0", k, v)
		}
	}
	if err := a.Restore(ctx, undo); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.GetInt(ctx, VSConntrack); v != 0 {
		t.Errorf("conntrack = %d after Restore, want 0", v)
	}
}

// TestApplySameKeyTwice: a key listed twice ends at its last value, and the
// undo brings back the value from before the Apply.
func TestApplySameKeyTwice(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	undo, err := s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{ArpIgnore("all"), "0"}, Setting{ArpIgnore("all"), "2"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetInt(ctx, ArpIgnore("all")); v != 2 {
		t.Errorf("after Apply: %d, want the last value 2", v)
	}
	if err := s.Restore(ctx, undo); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetInt(ctx, ArpIgnore("all")); v != 0 {
		t.Errorf("after Restore: %d, want 0", v)
	}
	// 0 then back to 0: nothing left to undo beyond what was written.
	undo, err = s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{ArpIgnore("all"), "0"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetInt(ctx, ArpIgnore("all")); v != 0 || len(undo) != 2 {
		t.Errorf("after Apply 1 then 0: %d, undo %v; want 0 and both writes undoable", v, undo)
	}
}
