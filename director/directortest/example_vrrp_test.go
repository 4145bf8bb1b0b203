package directortest_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/vrrp"
)

// Two Directors on Kernels of stand-ins form a VRRP pair over a
// VRRPNetwork: the higher priority is elected and holds the VIP; when it
// stops, its peer takes the VIP over.
func ExampleVRRPNetwork() {
	network := directortest.NewVRRPNetwork()
	conf := func(prio int) *director.Compiled {
		c, err := director.Parse([]byte(fmt.Sprintf(`
allowNoServices: true
vrrp:
  instances:
  - {name: VI_1, interface: eth0, vrid: 51, priority: %d, version: 3, interval: 100ms, vips: [10.0.0.100/24]}
`, prio)))
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	type node struct {
		k    *directortest.Kernel
		d    *director.Director
		stop context.CancelFunc
		done chan error
	}
	start := func(name, addr string, prio int) *node {
		k := directortest.NewKernel()
		k.Links.AddLink("eth0", "", true, netip.MustParsePrefix(addr+"/24"))
		d, err := director.New(k.Options(&director.Options{VRRP: network.Host(name, netip.MustParseAddr(addr))}))
		if err != nil {
			log.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		n := &node{k, d, stop, make(chan error, 1)}
		c := conf(prio)
		go func() { n.done <- d.Run(ctx, c, nil, nil) }()
		return n
	}
	holds := func(n *node) bool {
		_, addrs, _ := n.k.Links.State("eth0")
		return slices.Contains(addrs, netip.MustParsePrefix("10.0.0.100/24"))
	}
	waitMaster := func(n *node) {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if st := n.d.Status().VRRP; len(st) == 1 && st[0].State == vrrp.Master && holds(n) {
				return
			}
		}
		log.Fatal("no master")
	}

	a, b := start("a", "10.0.0.1", 150), start("b", "10.0.0.2", 100)
	waitMaster(a)
	fmt.Println("a master:", holds(a), "b holds the VIP:", holds(b))
	a.stop()
	<-a.done
	waitMaster(b)
	fmt.Println("a stopped holds the VIP:", holds(a), "b master:", holds(b))
	b.stop()
	<-b.done
	a.d.Close()
	b.d.Close()
	// Output:
	// a master: true b holds the VIP: false
	// a stopped holds the VIP: false b master: true
}
