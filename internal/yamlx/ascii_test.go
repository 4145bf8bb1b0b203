package yamlx

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestASCIIWord: asciiWord agrees with a byte-by-byte test for every byte
// value in every position of words otherwise printable (or newlines), and
// for random words.
func TestASCIIWord(t *testing.T) {
	want := func(b []byte) bool {
		for _, c := range b {
			if !(c == '\n' || 0x20 <= c && c <= 0x7e) {
				return false
			}
		}
		return true
	}
	check := func(b []byte) {
		t.Helper()
		if got := asciiWord(binary.LittleEndian.Uint64(b)); got != want(b) {
			t.Fatalf("asciiWord(% x) = %v, want %v", b, got, !got)
		}
	}
	for _, fill := range []byte{' ', 'a', '~', '\n', 0x21} {
		for pos := range 8 {
			for v := range 256 {
				b := []byte{fill, fill, fill, fill, fill, fill, fill, fill}
				b[pos] = byte(v)
				check(b)
				if pos < 7 { // a newline next to it, above and below
					b[pos+1] = '\n'
					check(b)
				}
				if pos > 0 {
					b[pos-1] = '\n'
					check(b)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	pick := []byte{'\n', ' ', 'a', '~', 0x7f, 0x1f, 0x0b, 0x09, 0x00, 0x80, 0xff, 0x20, 0x0a}
	for range 200000 {
		b := make([]byte, 8)
		for i := range b {
			if r.IntN(2) == 0 {
				b[i] = pick[r.IntN(len(pick))]
			} else {
				b[i] = byte(r.IntN(256))
			}
		}
		check(b)
	}
}
