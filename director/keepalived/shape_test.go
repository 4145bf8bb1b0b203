package keepalived

import (
	"regexp"
	"strings"
	"testing"
)

// The patterns keywordLike, valueLike and addrLike are written from.
var (
	keywordPattern = regexp.MustCompile(`^[@^]{0,2}[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
	valuePattern   = regexp.MustCompile(`^[A-Za-z0-9_.:/%@^-]{1,64}$`)
	addrPattern    = regexp.MustCompile(`^[0-9A-Fa-f]*[.:][0-9A-Fa-f.:/-]{0,80}$`)
)

func checkShapes(t *testing.T, w string) {
	t.Helper()
	if got, want := keywordLike(w), keywordPattern.MatchString(w); got != want {
		t.Errorf("keywordLike(%q) = %v, the pattern says %v", w, got, want)
	}
	if got, want := valueLike(w), valuePattern.MatchString(w); got != want {
		t.Errorf("valueLike(%q) = %v, the pattern says %v", w, got, want)
	}
	if got, want := addrLike(w), addrPattern.MatchString(w); got != want {
		t.Errorf("addrLike(%q) = %v, the pattern says %v", w, got, want)
	}
}

// TestShapesMatchPatterns: the written-out matchers say what their
// regular expressions say, on the words of the test configurations, on
// edge cases of length and prefix, and on every short word of a small
// alphabet.
func TestShapesMatchPatterns(t *testing.T) {
	words := []string{"", "@", "^", "@^", "@@a", "@^@a", "^^_", "a", "_", "-a", "a-", "virtual_server", "10.0.0.1", "::1",
		"fe80::1/64", "10.0.0.1-20", ":", ".", "abc", "ABC:", "g.h", "1.2.3.4/33x", "%eth0", "a/b", "x y", "é",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "@" + strings.Repeat("a", 64), "@@" + strings.Repeat("a", 65),
		"1." + strings.Repeat("1", 80), "1." + strings.Repeat("1", 81), strings.Repeat("f", 100) + ":" + strings.Repeat("1", 80)}
	for _, w := range words {
		checkShapes(t, w)
	}
	alphabet := "aZ_-09.:/%@^ fg\x00"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		checkShapes(t, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+string(c), n-1)
		}
	}
	gen("", 4)
}

// FuzzShapesMatchPatterns: the same on any word.
func FuzzShapesMatchPatterns(f *testing.F) {
	for _, w := range []string{"virtual_server", "10.0.0.1", "@^a", "fe80::1/64"} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, w string) { checkShapes(t, w) })
}
