package ipvs

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestParseConnectionsSync: /proc/net/ip_vs_conn_sync's Origin column
// (before Expires) says which entries a sync daemon brought.
func TestParseConnectionsSync(t *testing.T) {
	in := `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP C0A80A64 9C40 0A000064 0050 0A00006E 0050 ESTABLISHED SYNC       899
TCP C0A80A65 9C41 0A000064 0050 0A000078 0050 FIN_WAIT    LOCAL       15
`
	conns, err := parseConnections(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Connection{
		{Protocol: TCP, Client: netip.MustParseAddrPort("192.168.10.100:40000"), Virtual: netip.MustParseAddrPort("10.0.0.100:80"),
			Destination: netip.MustParseAddrPort("10.0.0.110:80"), State: "ESTABLISHED", Expires: 899 * time.Second, Synced: true},
		{Protocol: TCP, Client: netip.MustParseAddrPort("192.168.10.101:40001"), Virtual: netip.MustParseAddrPort("10.0.0.100:80"),
			Destination: netip.MustParseAddrPort("10.0.0.120:80"), State: "FIN_WAIT", Expires: 15 * time.Second},
	}
	if len(conns) != len(want) {
		t.Fatalf("%d connections: %+v", len(conns), conns)
	}
	for i := range want {
		if conns[i] != want[i] {
			t.Errorf("connection %d = %+v\nwant %+v", i, conns[i], want[i])
		}
	}
}
