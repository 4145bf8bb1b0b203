package director

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// parseGen, if set, is a directory TestWriteParseFiles writes the parsing
// benchmark's inputs into (BENCHMARKS.md, "Parsing"):
//
//	go test -run TestWriteParseFiles ./director/ -args -parsegen DIR
var parseGen = flag.String("parsegen", "", "write the parsing benchmark's files into this directory")

// bigConfig is a director configuration of n TCP services, each with a
// name, a check and two real servers (about 320 bytes a service).
func bigConfig(n int) []byte {
	var b bytes.Buffer
	b.WriteString("# generated: " + fmt.Sprint(n) + " services\nservices:\n")
	for i := range n {
		a, c := i>>8, i&0xff
		fmt.Fprintf(&b, `  - name: svc-%d
    protocol: tcp
    address: 10.%d.%d.%d:80
    scheduler: wrr
    check: {type: tcp, interval: 5s, timeout: 2s}
    realServers:
      - {address: 10.200.%d.%d:8080, forward: nat, weight: 2}
      - address: 10.201.%d.%d:8080
        forward: nat
`, i, a>>8, a&0xff, c, a&0xff, c, a&0xff, c)
	}
	return b.Bytes()
}

// bigKeepalived is a keepalived.conf of n virtual servers, each with two
// real servers under TCP_CHECK (about 310 bytes a virtual server: 40,000
// make 12.5 MB).
func bigKeepalived(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		a, c := i>>8, i&0xff
		fmt.Fprintf(&b, `virtual_server 10.%d.%d.%d 80 {
    delay_loop 5
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.200.%d.%d 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 10.201.%d.%d 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
`, a>>8, a&0xff, c, a&0xff, c, a&0xff, c)
	}
	return b.Bytes()
}

// importedConfig is what lvs-director -import writes for bench/versus's
// keepalived.conf of n virtual servers: 4 real servers each (DR, weight
// 1) and the virtual server's TCP_CHECK as the service's check (about 485
// bytes a service: 5,000 make 2.4 MB).
func importedConfig(n int) []byte {
	var b bytes.Buffer
	b.WriteString("# keepalived.conf:1: global_defs: not carried over\nservices:\n")
	for s := range n {
		fmt.Fprintf(&b, "- name: virtual_server 10.100.%d.%d 80\n  protocol: tcp\n  address: 10.100.%d.%d:80\n  scheduler: rr\n  realServers:\n",
			s/250, s%250+1, s/250, s%250+1)
		for k := 4 * s; k < 4*s+4; k++ {
			fmt.Fprintf(&b, "  - address: 10.1.%d.%d:80\n    forward: dr\n    weight: 1\n", k/250, k%250+1)
		}
		b.WriteString("  check:\n    type: tcp\n    interval: 3m20s\n    timeout: 3s\n    jitter: 3m20s\n    rise: 1\n    fall: 2\n    retryDelay: 1s\n    onFailure: remove\n")
	}
	return b.Bytes()
}

// BenchmarkParseImported: Parse of the configuration bench/versus runs at
// N = 5,000 (importedConfig, 2.4 MB), from the file's bytes to a Compiled.
func BenchmarkParseImported(b *testing.B) {
	cfg := importedConfig(5000)
	b.SetBytes(int64(len(cfg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteParseFiles writes services-100k.yaml and keepalived-40k.conf
// into -parsegen's directory, for lvs-director -check and -import under
// /usr/bin/time -v.
func TestWriteParseFiles(t *testing.T) {
	if *parseGen == "" {
		t.Skip("no -parsegen directory")
	}
	for name, b := range map[string][]byte{"services-100k.yaml": bigConfig(100_000), "keepalived-40k.conf": bigKeepalived(40_000)} {
		if err := os.WriteFile(filepath.Join(*parseGen, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkParse: Parse of a configuration of 10,000 services (2.7 MB),
// from the file's bytes to a Compiled.
func BenchmarkParse(b *testing.B) {
	cfg := bigConfig(10_000)
	b.SetBytes(int64(len(cfg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
