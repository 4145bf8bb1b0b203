package sysctl

import (
	"context"
	"errors"
	"io/fs"
	"testing"
)

// endingCtx is a context whose Err starts failing after n calls, to end it
// at every point an operation checks it. At the moment it ends it calls
// onEnd.
type endingCtx struct {
	context.Context
	n     int
	onEnd func()
}

func (c *endingCtx) Err() error {
	if c.n > 0 {
		c.n--
		return nil
	}
	if c.onEnd != nil {
		c.onEnd()
		c.onEnd = nil
	}
	return context.Canceled
}

// TestDoneContext: with ctx already done every call returns ctx.Err() and
// touches nothing.
func TestDoneContext(t *testing.T) {
	s := newNS(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	bg := t.Context()
	if _, err := s.Get(ctx, ArpIgnore("all")); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.GetInt(ctx, ArpIgnore("all")); !errors.Is(err, context.Canceled) {
		t.Errorf("GetInt: %v", err)
	}
	if _, err := s.Snapshot(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot of no keys: %v", err)
	}
	if _, err := s.Snapshot(ctx, ArpIgnore("all")); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot: %v", err)
	}
	if err := s.Set(ctx, ArpIgnore("all"), "1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Set: %v", err)
	}
	if err := s.SetInt(ctx, ArpIgnore("all"), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("SetInt: %v", err)
	}
	if _, err := s.Apply(ctx, Setting{ArpIgnore("all"), "1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply: %v", err)
	}
	if err := s.Restore(ctx, Snapshot{{ArpIgnore("all"), "1"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Restore: %v", err)
	}
	if v, err := s.GetInt(bg, ArpIgnore("all")); err != nil || v != 0 {
		t.Errorf("arp_ignore = %d, %v after calls with a done context; want 0", v, err)
	}
}

// TestApplyContextEndsMidway: wherever ctx ends during an Apply, the Apply
// fails with ctx.Err() and every key is as before; at least one of those
// ends comes after a write, so the rollback is what puts things back.
func TestApplyContextEndsMidway(t *testing.T) {
	s := newNS(t)
	bg := t.Context()
	settings := []Setting{{ArpIgnore("all"), "1"}, {ArpAnnounce("all"), "2"}, {RPFilter("lo"), "2"}}
	keys := []Key{ArpIgnore("all"), ArpAnnounce("all"), RPFilter("lo")}
	before, err := s.Snapshot(bg, keys...)
	if err != nil {
		t.Fatal(err)
	}
	endedAfterWrite := false
	for n := 0; ; n++ {
		ctx := &endingCtx{Context: bg, n: n, onEnd: func() {
			now, err := s.Snapshot(bg, keys...)
			if err != nil {
				t.Fatal(err)
			}
			for i := range now {
				if now[i] != before[i] {
					endedAfterWrite = true
				}
			}
		}}
		undo, err := s.Apply(ctx, settings...)
		if err == nil {
			if err := s.Restore(bg, undo); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("Apply ignored a done context")
			}
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ctx ending after %d checks: %v, want context.Canceled", n, err)
		}
		after, err := s.Snapshot(bg, keys...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range before {
			if before[i] != after[i] {
				t.Errorf("ctx ending after %d checks: %s left at %s, want %s", n, after[i].Key, after[i].Value, before[i].Value)
			}
		}
	}
	if !endedAfterWrite {
		t.Error("ctx never ended after a write: the rollback went untested")
	}
}

// TestRestoreContextEndsMidway: Restore stops between keys when ctx ends,
// having restored the last keys first, and says so.
func TestRestoreContextEndsMidway(t *testing.T) {
	s := newNS(t)
	bg := t.Context()
	// One check before starting and one before each key: two checks pass,
	// so only the last key is written.
	ctx := &endingCtx{Context: bg, n: 2}
	err := s.Restore(ctx, Snapshot{{ArpIgnore("all"), "1"}, {ArpAnnounce("all"), "2"}, {RPFilter("lo"), "2"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Restore: %v, want context.Canceled", err)
	}
	for k, w := range map[Key]int{ArpIgnore("all"): 0, ArpAnnounce("all"): 0, RPFilter("lo"): 2} {
		if v, err := s.GetInt(bg, k); err != nil || v != w {
			t.Errorf("%s = %d, %v; want %d", k, v, err, w)
		}
	}
}

// TestApplyValidatesFirst: a bad value late in the list fails with a
// ValidationError before the earlier keys are written.
func TestApplyValidatesFirst(t *testing.T) {
	s := newNS(t)
	ctx := t.Context()
	_, err := s.Apply(ctx, Setting{ArpIgnore("all"), "1"}, Setting{ArpAnnounce("all"), "2\x00"})
	var ve *ValidationError
	if !errors.As(err, &ve) || !ve.Value || !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Apply: %v, want a value ValidationError matching ErrInvalid and fs.ErrInvalid", err)
	}
	if v, err := s.GetInt(ctx, ArpIgnore("all")); err != nil || v != 0 {
		t.Errorf("arp_ignore = %d, %v after a refused Apply; want 0", v, err)
	}
	if err := s.Set(ctx, ArpIgnore("all"), "1\x00"); !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set with NUL: %v, want ErrInvalid and fs.ErrInvalid", err)
	}
}
