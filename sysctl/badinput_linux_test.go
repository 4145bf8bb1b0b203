package sysctl

import (
	"errors"
	"io/fs"
	"testing"
)

// TestBadInputChangesNothing: every mutator given each kind of bad key or
// value returns an error matching ErrInvalid and fs.ErrInvalid, and the
// keys read back as before (valid settings sent with a bad one included).
func TestBadInputChangesNothing(t *testing.T) {
	s := newNS(t)
	ctx := t.Context()
	watched := []Key{ArpIgnore("all"), ArpAnnounce("all"), ArpIgnore("lo")}
	before, err := s.Snapshot(ctx, watched...)
	if err != nil {
		t.Fatal(err)
	}
	badKeys := []Key{"", ".", "net..ipv4", "../../etc/passwd", "net.ipv4.conf.a b.arp_ignore", "net.ipv4\x00.x", "net.ipv4.conf..arp_ignore"}
	badValues := []string{"1\x00", "\x00"}
	tried := 0
	check := func(what string, err error) {
		t.Helper()
		tried++
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid and fs.ErrInvalid", what, err)
		}
	}
	for _, k := range badKeys {
		check("Set "+string(k), s.Set(ctx, k, "1"))
		check("SetInt "+string(k), s.SetInt(ctx, k, 1))
		_, err := s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{k, "1"})
		check("Apply "+string(k), err)
		check("Restore "+string(k), s.Restore(ctx, Snapshot{{ArpIgnore("lo"), "1"}, {k, "1"}}))
		_, err = s.Get(ctx, k)
		check("Get "+string(k), err)
	}
	for _, v := range badValues {
		check("Set value", s.Set(ctx, ArpIgnore("all"), v))
		_, err := s.Apply(ctx, Setting{ArpAnnounce("all"), "2"}, Setting{ArpIgnore("all"), v})
		check("Apply value", err)
	}
	after, err := s.Snapshot(ctx, watched...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("%s changed: %q -> %q", before[i].Key, before[i].Value, after[i].Value)
		}
	}
	t.Logf("%d bad inputs refused", tried)
}
