package ipvs

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestBatchGrow: after Grow(n), queuing n destinations of IPv4 and IPv6
// services moves neither buffer: changeSize holds a destination's request.
func TestBatchGrow(t *testing.T) {
	for _, vip := range []string{"10.0.0.1:80", "[2001:db8::1]:80"} {
		svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort(vip), Scheduler: WeightedRoundRobin}
		rs := netip.MustParseAddr("10.1.0.1")
		if svc.Addr.Addr().Is6() {
			rs = netip.MustParseAddr("2001:db8::100")
		}
		const n = 1000
		var b Batch
		b.Grow(n)
		reqs, entries := unsafe.SliceData(b.requests.b), unsafe.SliceData(b.entries)
		for i := range n {
			b.CreateDestination(svc, Destination{Addr: netip.AddrPortFrom(rs, uint16(1000+i)), Forward: DirectRoute, Weight: 1,
				UpperThreshold: 100, LowerThreshold: 10})
		}
		if b.Len() != n {
			t.Fatalf("%s: %d changes queued, want %d", vip, b.Len(), n)
		}
		if unsafe.SliceData(b.requests.b) != reqs || unsafe.SliceData(b.entries) != entries {
			t.Errorf("%s: queuing %d destinations after Grow(%d) moved the buffers; a request takes %d bytes, changeSize is %d",
				vip, n, n, len(b.requests.b)/n, changeSize)
		}
	}
	var b Batch
	b.Grow(0)
	b.Grow(-1)
	if b.Len() != 0 || cap(b.requests.b) != 0 {
		t.Errorf("Grow(0) and Grow(-1) reserved %d bytes", cap(b.requests.b))
	}
}
