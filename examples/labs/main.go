// Command labs runs the study note's LVS labs, each in network namespaces of
// its own, configured only through the SDK, and prints a PASS or FAIL line
// for each. On a host whose kernel lacks IPVS it runs itself in a QEMU guest
// on Debian's kernel (scripts/install-deps.sh installs what that needs).
//
//	go run ./examples/labs          # every lab
//	go run ./examples/labs dr-table # one lab
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
	{"dr-table", "DR service 10.0.0.100:80, wrr, rs2 weighted 2:1 (note 5(2)), printed as ipvsadm -Ln", drTable},
}

// modules are the kernel modules the labs need.
var modules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc", "veth", "bridge", "ipip"}

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
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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
