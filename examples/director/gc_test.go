package main

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestRelaxGC: relaxGC raises the collector's target until every call is
// restored, however they interleave (a reload during the start), restoring
// twice restores once, and an operator's GOGC is left alone.
func TestRelaxGC(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set")
	}
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	target := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	start := relaxGC()
	if got := target(); got != relaxedGC {
		t.Fatalf("relaxed: GOGC %d, want %d", got, relaxedGC)
	}
	reload := relaxGC()
	start()
	start()
	if got := target(); got != relaxedGC {
		t.Errorf("one of two restored (the other twice): GOGC %d, want %d", got, relaxedGC)
	}
	reload()
	if got := target(); got != 100 {
		t.Errorf("both restored: GOGC %d, want 100", got)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	defer relaxGC()()
	if got := target(); got != 50 {
		t.Errorf("with GOGC=50 set: GOGC %d, want 50", got)
	}
}

// TestSteadyGC: the running daemon's target is steadyGCPercent, unless
// GOGC says otherwise.
func TestSteadyGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	target := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	t.Setenv("GOGC", "")
	steadyGC()
	if got := target(); got != steadyGCPercent {
		t.Errorf("GOGC %d, want %d", got, steadyGCPercent)
	}
	t.Setenv("GOGC", "80")
	debug.SetGCPercent(80)
	steadyGC()
	if got := target(); got != 80 {
		t.Errorf("with GOGC=80 set: GOGC %d, want 80", got)
	}
}
