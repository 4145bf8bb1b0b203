package director

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// BenchmarkRecordDeletes: the state's bookkeeping when a plan deletes
// 10,000 owned services at once (a teardown, a configuration emptied).
func BenchmarkRecordDeletes(b *testing.B) {
	const n = 10000
	var keys []ipvs.Key
	var ops []Op
	for i := range n {
		k := ipvs.Key{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), Family: ipvs.IPv4}
		keys = append(keys, k)
		ops = append(ops, Op{Kind: DeleteService, Rule: ipvs.Rule{Command: ipvs.DeleteService, Service: ipvs.Service{Protocol: k.Protocol, Addr: k.Addr}}})
	}
	for b.Loop() {
		d := &Director{st: state{Services: append([]ipvs.Key(nil), keys...), Draining: map[string]time.Time{}}}
		recordAll(d, ops)
		if len(d.st.Services) != 0 {
			b.Fatal(fmt.Sprint(len(d.st.Services), " services left"))
		}
	}
}

func recordAll(d *Director, ops []Op) { d.record(ops) }
