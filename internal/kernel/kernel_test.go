package kernel

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for in, want := range map[string]Version{
		"6.1.0-57-amd64":           {6, 1, 0},
		"5.4.0-150-generic":        {5, 4, 0},
		"4.18.0-553.el8_10.x86_64": {4, 18, 0},
		"6.18.44-fc-v782":          {6, 18, 44},
		"5.10.0":                   {5, 10, 0},
		"5.10":                     {5, 10, 0},
		"4.19rc1":                  {4, 19, 0},
		"6.9.12+":                  {6, 9, 12},
		"5.15.x":                   {5, 15, 0},
		"10.0":                     {10, 0, 0},
	} {
		got, err := ParseRelease(in)
		if err != nil || got != want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "garbage", "3.x", "6", "x.1", "-1.2", "6.-1"} {
		if v, err := ParseRelease(in); err == nil || !v.IsZero() || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseRelease(%q) = %v, %v; want an error naming it", in, v, err)
		}
	}
}

func TestCompare(t *testing.T) {
	order := []Version{{}, {3, 10, 0}, {4, 1, 0}, {4, 1, 9}, {4, 19, 0}, {5, 2, 0}, {5, 10, 0}, {6, 1, 0}, {6, 1, 94}, {10, 0, 0}}
	for i, a := range order {
		for j, b := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", a, b, got, want)
			}
			if a.Less(b) != (i < j) || a.AtLeast(b) != (i >= j) {
				t.Errorf("%v against %v: Less %v, AtLeast %v", a, b, a.Less(b), a.AtLeast(b))
			}
		}
	}
}

func TestString(t *testing.T) {
	for v, want := range map[Version]string{V(6, 1, 0): "6.1", V(6, 1, 94): "6.1.94", V(5, 10, 0): "5.10", {}: "0.0"} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

// TestRunning reads this machine's kernel: a Linux release parses; any
// other system says it is unsupported.
func TestRunning(t *testing.T) {
	v, err := Running()
	if runtime.GOOS != "linux" {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Running on %s: %v, %v; want errors.ErrUnsupported", runtime.GOOS, v, err)
		}
		return
	}
	r, rerr := Release()
	if err != nil || rerr != nil || v.Major < 3 {
		t.Fatalf("Running: %v, %v (release %q, %v)", v, err, r, rerr)
	}
	if !strings.HasPrefix(r, v.String()) {
		t.Errorf("release %q read as %v", r, v)
	}
}
