package keepalived

import (
	"bytes"
	"fmt"
	"testing"
)

// versusConf is bench/versus's keepalived.conf of n virtual servers: 4
// real servers each (DR, weight 1) under TCP_CHECK (about 420 bytes a
// virtual server: 5,000 make 2.1 MB).
func versusConf(n int) []byte {
	var b bytes.Buffer
	b.WriteString("global_defs {\n\trouter_id versus\n}\n")
	for s := range n {
		fmt.Fprintf(&b, "virtual_server 10.100.%d.%d 80 {\n\tdelay_loop 200\n\tlb_algo rr\n\tlb_kind DR\n\tprotocol TCP\n", s/250, s%250+1)
		for k := 4 * s; k < 4*s+4; k++ {
			fmt.Fprintf(&b, "\treal_server 10.1.%d.%d 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 3\n\t\t}\n\t}\n", k/250, k%250+1)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// BenchmarkImport: Import of bench/versus's keepalived.conf at N = 5,000
// (2.1 MB), from the file's bytes to a Config, as lvs-director -config
// keepalived.conf does at start (without -import's YAML printing).
func BenchmarkImport(b *testing.B) {
	conf := versusConf(5000)
	b.SetBytes(int64(len(conf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Import(bytes.NewReader(conf), nil); err != nil {
			b.Fatal(err)
		}
	}
}
