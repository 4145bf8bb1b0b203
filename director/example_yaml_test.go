package director_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/ipvs"
)

// A configuration built in Go, written as the file Load reads.
func ExampleConfig_AppendYAML() {
	cfg := &director.Config{Services: []director.VirtualService{{
		Name:     "web",
		Protocol: ipvs.TCP, Address: netip.MustParseAddrPort("10.0.0.8:80"),
		Scheduler: ipvs.WeightedRoundRobin,
		Check:     &director.Check{Spec: &check.HTTP{Path: "/healthz"}, Interval: 2 * time.Second},
		RealServers: []director.RealServer{
			{Address: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.Masquerade, Weight: 1},
		},
	}}}
	b, err := cfg.AppendYAML(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(b))
	if _, err := director.Parse(b); err != nil {
		fmt.Println(err)
	}
	// Output:
	// services:
	// - name: web
	//   protocol: tcp
	//   address: 10.0.0.8:80
	//   scheduler: wrr
	//   realServers:
	//   - address: 10.0.0.110:80
	//     forward: nat
	//     weight: 1
	//   check:
	//     type: http
	//     path: /healthz
	//     interval: 2s
}
