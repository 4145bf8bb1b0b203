package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/lvs-go/lvs/director"
)

// TestRelaxGC: relaxGC stops the collector, with a memory limit of at
// least relaxedLimit that grows with the file's size, until every call is
// restored, however they interleave (a reload during the start); a later
// call only raises the limit; restoring twice restores once; an
// operator's GOGC or GOMEMLIMIT is left alone.
func TestRelaxGC(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT is set")
	}
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	origLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(origLimit)
	target := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	start := relaxGC(1000)
	if got := target(); got != -1 {
		t.Fatalf("relaxed: GOGC %d, want off (-1)", got)
	}
	if got := limit(); got < relaxedLimit || got > relaxedLimit+liveHeap()+relaxedPerByte*1000 {
		t.Fatalf("relaxed for a small file: limit %d, want %d", got, int64(relaxedLimit))
	}
	const big = 100 << 20 // a file whose share passes relaxedLimit
	reload := relaxGC(big)
	if got := limit(); got < relaxedPerByte*big {
		t.Errorf("relaxed again for a %d-byte file: limit %d, want at least %d", big, got, relaxedPerByte*big)
	}
	small := relaxGC(0)
	if got := limit(); got < relaxedPerByte*big {
		t.Errorf("a later call for a smaller file lowered the limit to %d", got)
	}
	small()
	start()
	start()
	if got := target(); got != -1 {
		t.Errorf("one of two restored (the other twice): GOGC %d, want off", got)
	}
	reload()
	if got := target(); got != 100 {
		t.Errorf("all restored: GOGC %d, want 100", got)
	}
	if got := limit(); got != math.MaxInt64 {
		t.Errorf("all restored: limit %d, want none", got)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	restore := relaxGC(big)
	if got := target(); got != 50 {
		t.Errorf("with GOGC=50 set: GOGC %d, want 50", got)
	}
	restore()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "1GiB")
	defer relaxGC(big)()
	if got, l := target(), limit(); got != 50 || l != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set: GOGC %d, limit %d, want both left alone", got, l)
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

// TestConfigSizeBounded: the size relaxGC is given is the file's, but at
// most what a load reads of it, and 0 for no file.
func TestConfigSizeBounded(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.yaml"), filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(small, []byte("services: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 2*director.MaxConfigSize); err != nil { // sparse
		t.Fatal(err)
	}
	for path, want := range map[string]int64{small: 13, big: director.MaxConfigSize, filepath.Join(dir, "none"): 0} {
		if got := (&daemon{path: path}).configSize(); got != want {
			t.Errorf("%s: configSize %d, want %d", filepath.Base(path), got, want)
		}
	}
}
