package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
	"github.com/lvs-go/lvs/sysctl"
)

// sampleKeepalived is a keepalived.conf of n virtual servers of several
// shapes: NAT and DR, persistence, a firewall mark, a sorry server, TCP
// and HTTP checks, quorum.
func sampleKeepalived(n int) string {
	var b strings.Builder
	for i := range n {
		a, c := i>>8, i&0xff
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "virtual_server 10.%d.%d.%d 80 {\n  delay_loop 5\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n  quorum 1\n  sorry_server 10.9.%d.%d 80\n", a>>8, a&0xff, c, a&0xff, c)
			fmt.Fprintf(&b, "  real_server 10.200.%d.%d 8080 {\n    weight 2\n    HTTP_GET {\n      url {\n        path /healthz\n        status_code 200\n      }\n      connect_timeout 3\n    }\n  }\n}\n", a&0xff, c)
		case 1:
			fmt.Fprintf(&b, "virtual_server 10.%d.%d.%d 443 {\n  lb_algo sh\n  lb_kind DR\n  persistence_timeout 300\n  protocol TCP\n", a>>8, a&0xff, c)
			fmt.Fprintf(&b, "  real_server 10.201.%d.%d 443 {\n    weight 0\n    TCP_CHECK {\n      connect_timeout 2\n    }\n  }\n}\n", a&0xff, c)
		default:
			fmt.Fprintf(&b, "virtual_server fwmark %d {\n  lb_algo rr\n  lb_kind DR\n  real_server 10.202.%d.%d 0 {\n    weight 1\n  }\n}\n", i+1, a&0xff, c)
		}
	}
	return b.String()
}

// TestImportYAMLReadsBack: what -import prints reads back, by
// director.Parse, as the Config the importer made.
func TestImportYAMLReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(sampleKeepalived(30)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := keepalived.ImportFile(path, &keepalived.Options{ConfigID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sysctls = map[sysctl.Key]string{"net.ipv4.vs.conntrack": "1"}
	var out bytes.Buffer
	if err := writeYAML(&out, cfg); err != nil {
		t.Fatal(err)
	}
	back, err := director.Parse(out.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.Bytes())
	}
	want, _ := json.Marshal(cfg)
	got, _ := json.Marshal(back.Config())
	if !bytes.Equal(got, want) {
		t.Errorf("read back:\n got %s\nwant %s\nYAML:\n%s", got, want, out.Bytes())
	}
	if len(cfg.Services) != 30 || !bytes.Contains(out.Bytes(), []byte("interval: 5s\n")) || !bytes.Contains(out.Bytes(), []byte("- address: 10.200.0.0:8080\n")) {
		t.Errorf("services %d, YAML:\n%s", len(cfg.Services), out.Bytes())
	}
}
