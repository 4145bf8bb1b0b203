package director

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/vishvananda/netns"
)

// BenchmarkScheduler20k is the health-check scheduler checking 20,000 real
// servers every second (interval 1s, the first checks spread over a second
// by jitter), with the default 32 workers (Options.MaxChecks) and with
// 128, measured over a window of 3 s after a second of warm-up:
//
//	LVS_VMTEST=host go test ./director/ -run '^$' -bench Scheduler20k -cpu 1 -benchtime 1x
//
// It reports the checks run per second, the checks that failed (the
// in-process listener refusing when its accept queue overflows on a busy
// machine: the checker connects faster than it accepts), the checks found overdue (waiting
// longer than their interval for a worker), the process's CPU (user and
// system) per second of the window (cores) and per check: on a shared
// machine the rate is what the CPU the process got allows, and
// 1e6/cpu-µs/check is what one core of its own would sustain. "stub" is the scheduler
// and its workers alone (a check that returns at once); "tcp" checks
// 20,000 addresses of 127.0.0.0/8 in a namespace the benchmark creates,
// where one in-process listener accepts them (its accepts and closes
// count in the CPU too), through the Director's own Env in that
// namespace (which enters it for each dial); "tcp-here" checks them
// from the process's own namespace, as a director without
// Options.NetNS does, and runs only in a namespace with nothing but lo:
//
//	go test -c -o /tmp/director.test ./director/
//	unshare -n sh -c 'ip link set lo up && LVS_VMTEST=host /tmp/director.test \
//	    -test.run "^$" -test.bench Scheduler20k -test.cpu 1 -test.benchtime 1x'
func BenchmarkScheduler20k(b *testing.B) {
	const n, window = 20000, 3 * time.Second
	for _, run := range []struct {
		kind    string
		workers int
	}{{"stub", 32}, {"tcp", 32}, {"tcp-here", 32}, {"tcp-here", 128}} {
		kind := run.kind
		b.Run(fmt.Sprintf("%s/workers=%d", kind, run.workers), func(b *testing.B) {
			var d Director
			var chk check.Checker = stubChecker{}
			if kind != "stub" {
				var ns netns.NsHandle // this process's
				if kind == "tcp" {
					ns = nstest.New(b)
				} else if !nstest.OnlyLoopback(b) {
					b.Skip("run the process in a network namespace of its own (unshare -n) to check from it")
				}
				d.netns = int(ns)
				nstest.AcceptAndClose(b, ns, "0.0.0.0:80", nil)
				var err error
				if chk, err = (check.TCP{}).Compile(); err != nil {
					b.Fatal(err)
				}
			}
			var ran, failed, took atomic.Int64
			cc := &compiledCheck{check: Check{Interval: time.Second, Timeout: time.Second, Jitter: time.Second, Rise: 2, Fall: 3},
				checker: countingChecker{chk, &ran, &failed, &took}}
			for range b.N {
				now := time.Now()
				ps := make([]*probe, n)
				for i := range ps {
					addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1 + byte(i>>16), byte(i >> 8), byte(i)}), 80)
					ps[i] = &probe{cc: cc, due: now.Add(time.Duration(i) * time.Second / n),
						subs: []subscriber{{tg: &targetRef{s: &service{dests: []ipvs.Destination{{Addr: addr}}}}}}}
				}
				changes := make(chan healthChange, n)
				go func() {
					for range changes {
					}
				}()
				ctx, cancel := context.WithCancel(context.Background())
				stop := d.runProbes(ctx, cancel, ps, run.workers, changes)
				time.Sleep(time.Second)
				ran0, failed0, took0, over0, cpu0, start := ran.Load(), failed.Load(), took.Load(), d.status.snapshot().OverdueChecks, nstest.CPUTime(b), time.Now()
				time.Sleep(window)
				checks, overdue, cpu, wall := ran.Load()-ran0, d.status.snapshot().OverdueChecks-over0, nstest.CPUTime(b)-cpu0, time.Since(start)
				// A failed check here is the in-process listener falling
				// behind (its accept queue full) on a loaded machine, not
				// the checker's doing: counted, not an error.
				b.ReportMetric(float64(failed.Load()-failed0), "failed")
				b.ReportMetric(float64(took.Load()-took0)/float64(max(checks, 1))/1e3, "µs/check")
				stop()
				close(changes)
				b.ReportMetric(float64(checks)/wall.Seconds(), "checks/s")
				b.ReportMetric(float64(overdue), "overdue")
				b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
				b.ReportMetric(float64(cpu.Microseconds())/float64(max(checks, 1)), "cpu-µs/check")
			}
		})
	}
}

type stubChecker struct{}

func (stubChecker) Check(context.Context, check.Env, netip.AddrPort) error { return nil }

// countingChecker counts the checks it runs.
type countingChecker struct {
	check.Checker
	n, failed, took *atomic.Int64
}

func (c countingChecker) Check(ctx context.Context, env check.Env, rs netip.AddrPort) error {
	start := time.Now()
	err := c.Checker.Check(ctx, env, rs)
	c.n.Add(1)
	if err != nil {
		c.failed.Add(1)
	}
	c.took.Add(int64(time.Since(start)))
	return err
}
