// Command versus runs keepalived and lvs-director side by side on the same
// generated keepalived.conf, in one QEMU guest on Debian's kernel, and
// prints what each costs: time from start to a complete IPVS table, the
// resident memory of the process tree once settled, CPU per 1,000 health
// checks at a fixed check rate, the time to take a refusing real server
// out, and the time a reload takes to show one changed weight (and whether
// anything else in the table moved).
//
// Run it from the bench directory, as root, with keepalived installed
// (scripts/install-deps.sh; it runs only in the guest, never on the host):
//
//	go run ./versus -n 1000,5000
//
// The configuration: N TCP virtual servers (rr, DR) of 4 real servers
// each, a TCP_CHECK on every real server, delay_loop set so that all the
// checks together run at -rate per second (100 by default, what the
// emulated CPU sustains with room to spare), keepalived's defaults for the
// rest (retry 1, delay_before_retry 1s, connect_timeout 5s); plus one
// virtual server checked every second whose real server the benchmark
// makes refuse. lvs-director runs the file as `lvs-director -import`
// converts it. The real servers are one namespace answering on every
// address of 10.1.0.0/16 (a local route), so every check is a real TCP
// handshake with a listener.
//
// At each N the benchmark first builds the same table itself, as one
// ipvs batch whose changes are built beforehand, and removes it: what the
// kernel alone costs, which no daemon can start faster than, printed under
// the table. It also pays the kernel's first-time costs at that size (its
// caches and per-CPU chunks growing) for both daemons alike. With -v each
// daemon's start is broken down further (user and system time, page
// faults, the guest's other work meanwhile), and lvs-director is also
// started on the keepalived.conf itself (-config keepalived.conf, which
// imports it at every start).
//
// With -profile DIR the director also serves its profiles (-pprof), and
// the benchmark takes them in the guest and writes them into DIR on the
// host, with each daemon's memory map summary (smaps_rollup) in its output:
//
//	go run ./versus -n 1000 -profile /tmp/prof
//	go tool pprof -top /tmp/prof/cpu-1000.pprof
//
// With -profile the director runs with its profiles served and one taken
// during the check window, which adds to its CPU per check: take the
// table's figures from a run without it.
//
// The guest runs with -icount shift=3,sleep=off: its clock counts
// instructions, so the CPU and time figures are the guest's own and repeat
// on a busy host; they are an emulated CPU's, so compare the ratios, not the
// absolute values, with a real machine's.
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
	sizes    []int
	rate     int
	window   time.Duration
	director string // the lvs-director binary (in the guest: its path)
	timeout  time.Duration
	verbose  bool
	flags    []string // more lvs-director flags
	profile  string   // host directory for lvs-director's profiles; empty: none
	env      []string // more environment for lvs-director (KEY=VALUE)
	only     string   // run only this daemon; empty: both
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("versus", flag.ContinueOnError)
	sizes := fs.String("n", "1000,5000", "numbers of virtual servers (4 real servers each), comma-separated")
	o := &options{}
	fs.IntVar(&o.rate, "rate", 100, "health checks per second, all real servers together")
	fs.DurationVar(&o.window, "window", 60*time.Second, "how long CPU is measured (guest time)")
	fs.StringVar(&o.director, "director", "", "the lvs-director binary (built from ../examples/director if empty)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "how long the guest may run")
	flags := fs.String("director-flags", "", "more lvs-director flags, space-separated (for example \"-resync -1s\")")
	fs.BoolVar(&o.verbose, "v", false, "print each daemon's last log lines after its run (lvs-director at -log-level info)")
	fs.StringVar(&o.profile, "profile", "", "write lvs-director's profiles into this directory: CPU from start to a complete table (start-N.pprof), heap once settled (heap-N.pprof), CPU over the check window (cpu-N.pprof) and over a second reload (reload-N.pprof); read them with go tool pprof")
	env := fs.String("director-env", "", "more environment for lvs-director, space-separated KEY=VALUE (for example \"GODEBUG=gctrace=1\", printed with -v)")
	fs.StringVar(&o.only, "only", "", "run only this daemon (keepalived or lvs-director; kernel: only what the kernel alone costs, which every run measures first at each N): no ratios")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.flags = strings.Fields(*flags)
	o.env = strings.Fields(*env)
	if o.only != "" && o.only != "keepalived" && o.only != "lvs-director" && o.only != "kernel" {
		return nil, fmt.Errorf("versus: -only %q: keepalived, lvs-director or kernel", o.only)
	}
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16000 {
			return nil, fmt.Errorf("versus: -n %q: want sizes from 1 to 16000", f)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.rate < 1 || o.window < time.Second {
		return nil, fmt.Errorf("versus: -rate %d, -window %v: want at least 1 and 1s", o.rate, o.window)
	}
	return o, nil
}

func main() { os.Exit(start()) }
