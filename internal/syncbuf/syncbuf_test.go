package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// TestConcurrent writes from several goroutines while reading: every
// write is kept whole (run with -race).
func TestConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte("ab\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if s := b.String(); len(s) != 8*100*3 || strings.Count(s, "ab\n") != 800 {
		t.Errorf("%d bytes, %d writes", len(s), strings.Count(s, "ab\n"))
	}
}
