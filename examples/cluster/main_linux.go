package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lvs-go/lvs/internal/vm"
)

var modules = []string{"ip_vs", "ip_vs_mh", "ip_vs_rr", "veth", "bridge"}

// programs are what the guest needs besides this program: the router,
// and keepalived for the migrate scenario.
var programs = []string{birdPath, keepalivedPath}

type scenario struct {
	name string
	run  func(ctx context.Context, w io.Writer) error
}

var scenarios = []scenario{
	{"spread", spread},
	{"failover", failover},
	{"add", add},
	{"withdraw", withdraw},
	{"backup", backup},
	{"pair", pairScenario},
	{"migrate", migrate},
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == directorArg {
		os.Exit(runDirector(os.Args[2], os.Args[3]))
	}
	vm.Main(modules, programs, run)
}

func run() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "cluster: must run as root (it creates network namespaces)")
		return 1
	}
	if _, err := os.Stat(birdPath); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: no bird2 (sh scripts/install-deps.sh installs it): %v\n", err)
		return 1
	}
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		want[a] = true
	}
	failed := 0
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		fmt.Printf("=== %s\n", s.name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := s.run(ctx, os.Stdout)
		cancel()
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", s.name, err)
			continue
		}
		fmt.Printf("PASS %s\n", s.name)
	}
	if failed > 0 {
		return 1
	}
	return 0
}
