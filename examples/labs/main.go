// Command labs runs the study note's LVS labs, each in network namespaces of
// its own, configured only through the SDK, and prints a PASS or FAIL line
// for each. On a host whose kernel lacks IPVS it runs itself in a QEMU guest
// on Debian's kernel (scripts/install-deps.sh installs what that needs).
//
//	go run ./examples/labs          # every lab
//	go run ./examples/labs dr tun   # some labs
//
// Every namespace a lab makes is unnamed and held only by this process's
// file descriptors, with its links, bridges, addresses, IPVS table and
// firewall rules inside it: when the process ends, however it ends (Ctrl-C
// included), the kernel frees them all. Nothing is created in the host's
// own namespace, and traffic flows only between the lab's namespaces.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lvs-go/lvs/internal/vm"
)

// labSpec is one self-checking lab.
type labSpec struct {
	name, title string
	run         func(ctx context.Context, w io.Writer) error
}

var labs = []labSpec{
	{"nat", "NAT: masquerade to rs1 and rs2 through the director, wlc then rr (note 5(1))", natLab},
	{"dr", "DR, one subnet: VIP 10.0.0.100 on lo everywhere, wrr rs2:rs1 = 2:1, replies bypass the director (note 5(2))", drLab},
	{"dr-multi", "DR, several subnets: VIP 172.16.0.100 routed by the router's second address, rr (note 5(3))", drMultiLab},
	{"tun", "TUN: IP-in-IP to real servers with the VIP on tunl0 and rp_filter off, rr (note 5(4))", tunLab},
	{"fwmark", "firewall marks: ports 80 and 88 marked 10, one FWM rr service, one rotation across both (note 6)", fwmarkLab},
	{"persistence", "persistence: -p 10 with timeouts 20 20 20, the client sticks, then moves after expiry (note 7)", persistLab},
	{"fullnat", "FULLNAT's effect on the mainline kernel: NAT plus source NAT, real servers without a route back (note 3(4))", fullnatLab},
}

// modules are the kernel modules the labs need.
var modules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "veth", "bridge", "ipip", "nf_tables", "nft_masq", "nft_chain_nat"}

func main() {
	vm.Main(modules, nil, run)
}

func run() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "labs: must run as root (it creates network namespaces)")
		return 1
	}
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		want[a] = true
	}
	failed := 0
	for _, l := range labs {
		if len(want) > 0 && !want[l.name] {
			continue
		}
		fmt.Printf("=== %s: %s\n", l.name, l.title)
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		err := l.run(ctx, os.Stdout)
		cancel()
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", l.name, err)
			continue
		}
		fmt.Printf("PASS %s\n", l.name)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
