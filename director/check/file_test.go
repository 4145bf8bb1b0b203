package check

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrtol: numbers read as C's strtol with base 0 reads them.
func TestStrtol(t *testing.T) {
	for in, want := range map[string]int64{
		"":        0,
		"x":       0,
		"1":       1,
		"  42\n":  42,
		"\t-7 up": -7,
		"+3":      3,
		"0x1F":    31,
		"0X1f":    31,
		"0x":      0, // strtol reads the 0 alone
		"010":     8,
		"09":      0, // octal: 9 is not a digit
		"12abc":   12,
		"-0":      0,
	} {
		if got, ok := strtol([]byte(in)); !ok || got != want {
			t.Errorf("strtol(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	if _, ok := strtol([]byte("99999999999999999999")); ok {
		t.Error("an overflowing number read as ok")
	}
}

// TestFileCheck: which contents pass in each mode, a missing file, a
// number out of keepalived's range, and the bound on what is read.
func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rs1")
	missing := filepath.Join(dir, "missing")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(f File) error {
		t.Helper()
		c, err := f.Compile()
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		return c.Check(context.Background(), Local{}, netip.AddrPort{})
	}
	for _, tc := range []struct {
		content string
		f       File
		ok      bool
	}{
		{"1\n", File{Path: path}, true},
		{"-3", File{Path: path}, true},
		{"0\n", File{Path: path}, false},
		{"", File{Path: path}, false},
		{"down", File{Path: path}, false},
		{"0", File{Path: path, Healthy: "zero"}, true},
		{"1", File{Path: path, Healthy: "zero"}, false},
		{"1", File{Path: path, Healthy: "nonzero"}, true},
		// Weighted, as keepalived: only at the floor.
		{"0", File{Path: path, Weight: 1}, true},
		{"-100", File{Path: path, Weight: 1}, true},
		{"-2147483648", File{Path: path, Weight: 1}, false},
		{"-2147483648", File{Path: path, Weight: -1}, true},
		{"2147483648", File{Path: path, Weight: -1}, false},
		{"-10000000", File{Path: path, Weight: 254}, false},
		// Past the bound: the number is cut at FileReadLimit bytes.
		{strings.Repeat(" ", FileReadLimit) + "1", File{Path: path}, false},
		{strings.Repeat(" ", FileReadLimit-1) + "1", File{Path: path}, true},
	} {
		write(tc.content)
		err := run(tc.f)
		if (err == nil) != tc.ok {
			t.Errorf("%q with %+v: %v, want ok %v", tc.content, tc.f, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrFileState) {
			t.Errorf("%q with %+v: %v, does not match ErrFileState", tc.content, tc.f, err)
		}
	}
	// Missing: 0, as keepalived reads it.
	if err := run(File{Path: missing}); !errors.Is(err, ErrFileState) {
		t.Errorf("missing file: %v, want failed", err)
	}
	if err := run(File{Path: missing, Healthy: "zero"}); err != nil {
		t.Errorf("missing file with healthy: zero: %v, want healthy (0)", err)
	}
	if err := run(File{Path: dir}); !errors.Is(err, ErrFileState) {
		t.Errorf("a directory: %v, want failed (reads 0)", err)
	}
	// Out of keepalived's range: an error, not a state.
	write("4294967296")
	if err := run(File{Path: path}); err == nil || errors.Is(err, ErrFileState) || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("out of range: %v", err)
	}
	// A cancelled context.
	c, _ := File{Path: path}.Compile()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Check(ctx, Local{}, netip.AddrPort{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestFileCompileErrors: each refusal names its field.
func TestFileCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		f     File
		field string
		text  string
	}{
		{File{}, "file", "needs a file"},
		{File{Path: "run/rs1"}, "file", "not an absolute path"},
		{File{Path: "/run/rs1", Healthy: "one"}, "healthy", `"one" is not nonzero or zero`},
		{File{Path: "/run/rs1", Weight: 1 << 31}, "weight", "not from -2147483647 to 2147483647"},
		{File{Path: "/run/rs1", Weight: 2, Healthy: "zero"}, "healthy", "not with a weight"},
	} {
		_, err := tc.f.Compile()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%+v: %v, want a *FieldError at %s saying %q", tc.f, err, tc.field, tc.text)
		}
	}
}

// TestFileDecode: a file check block decodes into File.
func TestFileDecode(t *testing.T) {
	spec, err := Decode("file", []byte(`{"type":"file","file":"/run/lvs/rs1","healthy":"zero","interval":"1s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := spec.(*File); !ok || *f != (File{Path: "/run/lvs/rs1", Healthy: "zero"}) {
		t.Errorf("decoded %#v", spec)
	}
	if k, _ := Lookup("file"); k.Port != PortUnused {
		t.Errorf("file: port %v, want unused", k.Port)
	}
}
