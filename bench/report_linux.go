package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// printReport writes one Markdown table per table size and workload.
func printReport(w io.Writer, o *options, results map[resultKey][]sample) {
	var u unix.Utsname
	unix.Uname(&u)
	fmt.Fprintf(w, "\n## %s, kernel %s, %s, %d CPU, %d repetitions\n", time.Now().UTC().Format("2006-01-02"),
		unix.ByteSliceToString(u.Release[:]), runtime.Version(), runtime.NumCPU(), o.reps)
	fmt.Fprintln(w, "\nObjects: services plus destinations (5 per service) for create, dump and delete; the changed destinations for weights.")
	for _, n := range o.sizes {
		for _, wl := range workloads {
			base := median(results[resultKey{n, wl, loaders[0].name}], func(s sample) time.Duration { return s.wall })
			objects := 5 * n
			if wl == "weights 1%" {
				objects = max(1, n*4/100)
			}
			fmt.Fprintf(w, "\n### %s, %d x 4 (%d objects)\n\n", wl, n, objects)
			fmt.Fprintf(w, "| loader | min | median | ratio to %s | user CPU | system CPU | allocs/object | bytes/object |\n", loaders[0].name)
			fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
			for _, l := range loaders {
				ss := results[resultKey{n, wl, l.name}]
				if len(ss) == 0 {
					continue
				}
				name := l.name
				if wl == "dump" && l.name == "lvs batched" {
					name = "lvs Client.Table"
				}
				med := median(ss, func(s sample) time.Duration { return s.wall })
				allocs, bytes := "n/a", "n/a"
				if !strings.HasPrefix(l.name, "ipvsadm") {
					allocs = fmt.Sprintf("%.1f", float64(medianU(ss, func(s sample) uint64 { return s.allocs }))/float64(objects))
					bytes = fmt.Sprintf("%.0f", float64(medianU(ss, func(s sample) uint64 { return s.bytes }))/float64(objects))
				}
				ratio := "n/a"
				if base > 0 {
					ratio = fmt.Sprintf("%.2f", float64(med)/float64(base))
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", name,
					dur(slices.MinFunc(ss, func(a, b sample) int { return int(a.wall - b.wall) }).wall), dur(med),
					ratio,
					dur(median(ss, func(s sample) time.Duration { return s.user })),
					dur(median(ss, func(s sample) time.Duration { return s.sys })), allocs, bytes)
			}
		}
	}
}

func median(ss []sample, f func(sample) time.Duration) time.Duration {
	v := make([]time.Duration, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func medianU(ss []sample, f func(sample) uint64) uint64 {
	v := make([]uint64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}
