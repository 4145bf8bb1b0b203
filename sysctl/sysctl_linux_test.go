package sysctl

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
)

func newNS(t *testing.T) *Sysctl {
	t.Helper()
	ns := nstest.New(t)
	s, err := New(&Config{NetNS: int(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func hostValue(t *testing.T, k Key) string {
	t.Helper()
	p, _ := k.Path()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestPerNamespace: a value written in one namespace is that namespace's
// alone, whatever the caller's thread.
func TestPerNamespace(t *testing.T) {
	ctx := t.Context()
	a, b := newNS(t), newNS(t)
	hostBefore := hostValue(t, ArpIgnore("all"))
	if err := a.SetInt(ctx, ArpIgnore("all"), 2); err != nil {
		t.Fatal(err)
	}
	if v, err := a.GetInt(ctx, ArpIgnore("all")); err != nil || v != 2 {
		t.Errorf("a: %d, %v; want 2", v, err)
	}
	if v, err := b.GetInt(ctx, ArpIgnore("all")); err != nil || v != 0 {
		t.Errorf("b sees %d, %v; want the default 0", v, err)
	}
	if h := hostValue(t, ArpIgnore("all")); h != hostBefore {
		t.Errorf("host value changed from %s to %s", hostBefore, h)
	}
}

func TestErrors(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	_, err := s.Get(ctx, "net.ipv4.no_such_key")
	var se *Error
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &se) || se.Key != "net.ipv4.no_such_key" {
		t.Errorf("unknown key: %v, want fs.ErrNotExist naming the key", err)
	}
	// The kernel checks few values; the local port range must be ascending.
	err = s.Set(ctx, "net.ipv4.ip_local_port_range", "60000 1000")
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), `net.ipv4.ip_local_port_range="60000 1000"`) {
		t.Errorf("refused value: %v, want EINVAL with key and value", err)
	}
	if err := s.Set(ctx, "kernel.osrelease", "x"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("read-only key: %v, want a permission error", err)
	}
	if _, err := s.Get(ctx, "net..x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad key: %v", err)
	}
}

func TestApplyAndRestore(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	// Odd prior values that must come back exactly.
	if err := s.SetInt(ctx, ArpAnnounce("all"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetInt(ctx, RPFilter("lo"), 2); err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{ArpIgnore("all"), "1"}, {ArpAnnounce("all"), "2"}, {RPFilter("lo"), "2"}, {IPv4Forward, "1"},
	}
	undo, err := s.Apply(ctx, want...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if v, _ := s.Get(ctx, w.Key); v != w.Value {
			t.Errorf("%s = %s after Apply, want %s", w.Key, v, w.Value)
		}
	}
	// rp_filter on lo was already 2: not written, not in the undo.
	if len(undo) != 3 {
		t.Errorf("undo = %v, want the 3 keys Apply changed", undo)
	}
	again, err := s.Apply(ctx, want...)
	if err != nil || len(again) != 0 {
		t.Errorf("second Apply changed %v (%v), want nothing", again, err)
	}
	if err := s.Restore(ctx, undo); err != nil {
		t.Fatal(err)
	}
	for k, w := range map[Key]string{ArpIgnore("all"): "0", ArpAnnounce("all"): "1", RPFilter("lo"): "2", IPv4Forward: "0"} {
		if v, _ := s.Get(ctx, k); v != w {
			t.Errorf("%s = %s after Restore, want %s", k, v, w)
		}
	}
}

// TestApplyFailureLeavesNothing: a refused write puts back the keys already
// written; an unknown key fails before any write.
func TestApplyFailureLeavesNothing(t *testing.T) {
	ctx := t.Context()
	s := newNS(t)
	before, err := s.Snapshot(ctx, ArpIgnore("all"), ArpAnnounce("all"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{ArpAnnounce("all"), "2"}, Setting{"net.ipv4.ip_local_port_range", "60000 1000"})
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("err = %v, want EINVAL from the port range", err)
	}
	_, err = s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{"net.ipv4.conf.nonexistent0.rp_filter", "0"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	after, err := s.Snapshot(ctx, ArpIgnore("all"), ArpAnnounce("all"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("%s changed from %s to %s by failed Applies", before[i].Key, before[i].Value, after[i].Value)
		}
	}
}

func TestCallerNamespace(t *testing.T) {
	ctx := t.Context()
	nstest.Privileged(t)
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Get(ctx, IPv4Forward); err != nil || v != hostValue(t, IPv4Forward) {
		t.Errorf("caller's namespace: %q, %v", v, err)
	}
}
