// Command bench measures the SDK's ipvs package side by side with its peers
// on the same kernel in one run: github.com/moby/ipvs, github.com/cloudflare/ipvs,
// ipvsadm (restore and save) and, as the limit any loader can reach,
// generic netlink requests encoded before the clock starts. It lives in a
// module of its own so that the SDK's go.mod does not gain the peers.
//
// Run it from this directory (as root; on a host whose kernel lacks IPVS it
// runs in a QEMU guest on Debian's kernel):
//
//	go run . -n 1000,10000 -reps 3
//
// For each table size N it creates N TCP services with 4 masqueraded
// destinations each, reads the whole table, changes 1% of the weights and
// deletes every service, with each loader in a fresh network namespace,
// and prints min and median wall time, the ratio of the median to the SDK's
// batched median, user and system CPU (the system CPU is the kernel's work,
// the user CPU the loader's), and the Go loaders' allocations and bytes
// per object. -profile writes CPU profiles of the SDK's loaders to
// -profile-dir, taken in a run of their own after the timed ones.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type options struct {
	sizes      []int
	reps       int
	profile    bool
	profileDir string
	timeout    time.Duration
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("n", "1000,10000", "table sizes (services, each with 4 destinations), comma-separated")
	o := &options{}
	fs.IntVar(&o.reps, "reps", 3, "repetitions of every workload")
	fs.BoolVar(&o.profile, "profile", false, "write CPU profiles of the SDK's loaders")
	fs.StringVar(&o.profileDir, "profile-dir", "profiles", "where -profile writes")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "how long the guest may run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 65536 {
			return nil, fmt.Errorf("bench: -n %q: want sizes from 1 to 65536", f)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.reps < 1 {
		return nil, fmt.Errorf("bench: -reps %d: want at least 1", o.reps)
	}
	return o, nil
}

func main() { os.Exit(start()) }
