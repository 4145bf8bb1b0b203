package yamlx

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse: a configuration-like document of 5,000 list items (1.3
// MB), by the fast parser and by yaml/v3 into the same tree.
func BenchmarkParse(b *testing.B) {
	var s strings.Builder
	s.WriteString("services:\n")
	for i := range 5000 {
		fmt.Fprintf(&s, "  - name: svc-%d\n    protocol: tcp\n    address: 10.0.%d.%d:80\n    check: {type: tcp, interval: 5s}\n    realServers:\n      - {address: 10.1.%d.%d:80, forward: nat, weight: 2}\n      - address: 10.2.%d.%d:80\n        forward: nat\n", i, i>>8, i&255, i>>8, i&255, i>>8, i&255)
	}
	doc := []byte(s.String())
	for _, p := range []struct {
		name  string
		parse func([]byte) (*Doc, error)
	}{{"fast", parseFast}, {"v3", parseV3}} {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.parse(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
