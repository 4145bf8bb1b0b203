package ipvsadm

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// TestWriteConnections: ipvsadm -Lnc's columns, a template's protocol as
// IP, expiry as minutes:seconds.
func TestWriteConnections(t *testing.T) {
	ap := netip.MustParseAddrPort
	var b strings.Builder
	err := WriteConnections(&b, []ipvs.Connection{
		{Protocol: ipvs.TCP, Client: ap("10.0.0.1:40000"), Virtual: ap("10.0.0.8:80"), Destination: ap("10.0.0.110:80"), State: "ESTABLISHED", Expires: 899 * time.Second},
		{Client: ap("10.0.0.1:0"), Virtual: ap("10.0.0.8:80"), Destination: ap("10.0.0.110:80"), State: "NONE", Expires: 59 * time.Second},
	})
	want := `IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.0.0.1:40000     10.0.0.8:80        10.0.0.110:80
IP  00:59  NONE        10.0.0.1:0         10.0.0.8:80        10.0.0.110:80
`
	if err != nil || b.String() != want {
		t.Errorf("got %v\n%s\nwant\n%s", err, b.String(), want)
	}
}
