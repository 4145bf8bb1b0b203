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
// -loaders runs only the loaders named (comma-separated), and -icount runs
// the guest with QEMU's -icount shift=N,sleep=off, so that its CPU figures
// repeat on a busy host:
//
//	go run . -n 1000,10000 -loaders 'raw pre-encoded,raw, errors only' -icount 3
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
	loaders    string // comma-separated loader names; empty: every loader
	icount     int
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("n", "1000,10000", "table sizes (services, each with 4 destinations), comma-separated")
	o := &options{}
	fs.IntVar(&o.reps, "reps", 3, "repetitions of every workload")
	fs.BoolVar(&o.profile, "profile", false, "write CPU profiles of the SDK's loaders")
	fs.StringVar(&o.profileDir, "profile-dir", "profiles", "where -profile writes")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "how long the guest may run")
	fs.StringVar(&o.loaders, "loaders", "", "run only these loaders (their names as the tables print them, comma-separated)")
	fs.IntVar(&o.icount, "icount", 0, "run the guest with QEMU's -icount shift=N,sleep=off (0: not), for CPU figures that repeat on a busy host")
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
	if o.icount < 0 || o.icount > 10 {
		return nil, fmt.Errorf("bench: -icount %d: want 0 to 10", o.icount)
	}
	if o.reps < 1 {
		return nil, fmt.Errorf("bench: -reps %d: want at least 1", o.reps)
	}
	return o, nil
}

func main() { os.Exit(start()) }
