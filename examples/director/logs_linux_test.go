package main

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
)

// TestReportSumsLargePlans: a plan of up to logEachOp operations is logged
// one record per operation at info; a larger one is one record at info
// with the count of each kind, and each operation at debug only.
func TestReportSumsLargePlans(t *testing.T) {
	for _, tc := range []struct {
		ops          int
		level        slog.Level
		each, summed int
	}{
		{logEachOp, slog.LevelInfo, logEachOp, 0},
		{logEachOp + 1, slog.LevelInfo, 0, 1},
		{5000, slog.LevelInfo, 0, 1},
		{5000, slog.LevelDebug, 5000, 1},
	} {
		w := &countingWriter{count: map[string]int{}}
		var text bytes.Buffer
		dm := &daemon{log: slog.New(slog.NewTextHandler(&teeWriter{w, &text}, &slog.HandlerOptions{Level: tc.level}))}
		dm.report(director.Report{Plan: bigPlan(tc.ops)})
		if w.count["applied"] != tc.each || w.count["applied operations"] != tc.summed {
			t.Errorf("%d operations at %v: logged %v, want %d applied and %d summed", tc.ops, tc.level, w.count, tc.each, tc.summed)
		}
		if tc.summed > 0 && !strings.Contains(text.String(), "count="+strconv.Itoa(tc.ops)+" create_destination="+strconv.Itoa(tc.ops)) {
			t.Errorf("%d operations: the summary does not count them by kind:\n%s", tc.ops, lastLine(text.String()))
		}
	}
}

type teeWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.a.Write(p)
	return t.b.Write(p)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
