package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/bgp"
	"github.com/lvs-go/lvs/director/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// daemon is one run of the director daemon.
type daemon struct {
	path    string
	opts    director.Options
	control string // the control socket's path; none if empty
	access  controlAccess
	// controlTimeout and controlConns, if not zero, replace the control
	// server's timeouts and connection limit (tests).
	controlTimeout time.Duration
	controlConns   int
	dryRun         bool
	teardown       bool
	metricsAt      string
	log            *slog.Logger
	stopTimeout    time.Duration // for the teardown

	d       *director.Director
	reload  chan reloadRequest
	sd      *notifier
	version buildVersion
	reloads *reloadMetrics
	bgp     *director.BGP    // the speaker's settings, which a reload cannot change
	hup     <-chan os.Signal // SIGHUP

	// statusPage serves the status page at / on metricsAt, refreshing
	// itself every pageRefresh (the default if zero); events keeps what it
	// shows beyond the director's status.
	statusPage  bool
	pageRefresh time.Duration
	events      *pageEvents
	// pprof serves Go's runtime profiles at /debug/pprof/ on metricsAt.
	pprof bool
	// startGC restores the garbage collector's target relaxed for the
	// start (relaxGC), once ready.
	startGC func()
	// statusGate lets one status request at a time wait for a running
	// apply (readStatusGated).
	statusGate statusGate
	// overdueEvery is how often the overdue health checks are looked at
	// (overdueInterval if zero; tests shorten it).
	overdueEvery time.Duration

	// format is -config-format (auto if empty) and configID -config-id,
	// for a keepalived.conf; loads counts the loads, and lastNotes are
	// the last load's import notes, to log them again only if they
	// change.
	format    string
	configID  string
	loads     int
	lastNotes string
}

// overdueInterval is how often the daemon looks for health checks that
// waited longer than their interval for a free checker, and logs them.
const overdueInterval = 10 * time.Second

// reloadRequest asks the daemon to re-read its configuration file; done,
// if not nil, gets the outcome.
type reloadRequest struct {
	done chan reloadResult
}

// reloadResult is how a reload went: the file refused (Err), or handed to
// the director, which then applied it with Errors new errors.
type reloadResult struct {
	Err    error
	Errors uint64
}

// run runs the daemon until SIGINT or SIGTERM.
func (dm *daemon) run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dm.hup = hup
	return dm.runContext(ctx)
}

// runContext runs the daemon until ctx is done; it reloads on each
// signal of dm.hup (none if nil) and on each request of the control
// socket.
func (dm *daemon) runContext(ctx context.Context) error {
	steadyGC()
	// Parsing and the first apply allocate much that is garbage once the
	// table is made: the collector waits until ready (supervise), then
	// the memory is given back.
	dm.startGC = relaxGC(dm.configSize())
	// Restored once ready (supervise), or a minute on if the start is
	// not, and when the daemon stops.
	defer dm.startGC()
	defer time.AfterFunc(time.Minute, dm.startGC).Stop()
	compiled, err := dm.load()
	if err != nil {
		return err
	}
	if c := compiled.Config().Cluster; c != nil && c.BGP != nil && !dm.dryRun {
		// The speaker's sockets are this process's: it runs in the
		// director's namespace.
		sp, err := bgp.New(ctx, c.BGP, &bgp.Options{Logger: dm.log.With("component", "bgp")})
		if err != nil {
			return err
		}
		defer sp.Close()
		dm.opts.Announcer = sp
		dm.bgp = c.BGP
		dm.log.Info("bgp speaker started", "asn", c.BGP.LocalASN, "router_id", c.BGP.RouterID, "peers", len(c.BGP.Peers))
	}
	d, err := director.New(&dm.opts)
	if err != nil {
		return err
	}
	defer d.Close()
	dm.d = d
	dm.reloads = newReloadMetrics(time.Now())
	if dm.statusPage {
		dm.events = newPageEvents(time.Now())
	}
	if dm.dryRun {
		p, err := d.Plan(ctx, compiled)
		if err != nil {
			return err
		}
		fmt.Print(p)
		return nil
	}
	if dm.metricsAt != "" {
		stop, err := dm.serveMetrics()
		if err != nil {
			return err
		}
		defer stop()
	}
	dm.reload = make(chan reloadRequest)
	dm.statusGate = newStatusGate()
	if dm.control != "" {
		stop, err := dm.serveControl()
		if err != nil {
			return err
		}
		defer stop()
	}
	dm.sd = newNotifier()
	configs := make(chan *director.Compiled)
	go dm.reloadLoop(ctx, configs)
	go dm.supervise(ctx)
	go dm.watchOverdue(ctx)

	dm.log.Info("applying", "config", dm.path)
	err = d.Run(ctx, compiled, configs, dm.events.observe(dm.report))
	dm.sd.send("STOPPING=1")
	if dm.teardown {
		tctx, cancel := context.WithTimeout(context.Background(), dm.stopTimeout)
		defer cancel()
		if terr := d.Teardown(tctx); terr != nil {
			dm.log.Error("teardown failed", "error", terr)
		} else {
			dm.log.Info("removed what the director owned")
		}
	}
	return err
}

// reloadLoop re-reads the configuration file on SIGHUP and on each request of
// the control socket, and hands what it reads to Run; a file that does not
// load is logged (or answered) and the running configuration stays.
func (dm *daemon) reloadLoop(ctx context.Context, configs chan<- *director.Compiled) {
	for {
		var r reloadRequest
		select {
		case <-ctx.Done():
			return
		case <-dm.hup:
		case r = <-dm.reload:
		}
		res := dm.reloadOnce(ctx, configs)
		dm.reloads.record(res, time.Now())
		dm.events.reloaded(res, time.Now())
		if r.done != nil {
			r.done <- res
		}
	}
}

func (dm *daemon) reloadOnce(ctx context.Context, configs chan<- *director.Compiled) reloadResult {
	defer relaxGC(dm.configSize())()
	c, err := dm.load()
	if err != nil {
		dm.log.Error("reload refused, keeping the running configuration", "config", dm.path, "error", err)
		return reloadResult{Err: err}
	}
	if err := checkRestart(dm.bgp, bgpOf(c)); err != nil {
		dm.log.Error("reload refused, keeping the running configuration", "config", dm.path, "error", err)
		return reloadResult{Err: err}
	}
	dm.sd.send(reloadingMessage())
	defer dm.sd.send("READY=1")
	dm.log.Info("reloading", "config", dm.path)
	before := dm.d.Status().Errors
	select {
	case configs <- c:
	case <-ctx.Done():
		return reloadResult{Err: ctx.Err()}
	}
	// Run answers a ping only after the reload's step has ended.
	if err := dm.d.Ping(ctx); err != nil {
		return reloadResult{Err: err}
	}
	res := reloadResult{Errors: dm.d.Status().Errors - before}
	releaseMemory()
	return res
}

// steadyGCPercent is the collector's target (GOGC) for a running
// daemon: half again what is live.
const steadyGCPercent = 50

// relaxedLimit is the least heap relaxGC lets grow before a collection;
// relaxedPerByte the heap it allows per byte of the configuration file
// (parsing, compiling and planning take about 25 times the file: -check
// of 100,000 services, a 27 MB file, peaks at 390 MB).
const (
	relaxedLimit   = 256 << 20
	relaxedPerByte = 32
)

// steadyGC sets the garbage collector's target for a running daemon: its
// heap may grow to 1.5 times what is live (Go's default is twice) before a
// collection. Once running the daemon allocates little (a health check,
// a few hundred bytes), so collections stay rare (minutes apart at 20,000
// real servers) and cost no measurable CPU, while the resident size is a
// third lower than the default leaves it after a resync. An operator's
// GOGC is left alone.
func steadyGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(steadyGCPercent)
	}
}

// gcRelax counts the relaxGC calls not yet restored, and keeps the
// settings to restore.
var gcRelax struct {
	sync.Mutex
	n         int
	prev      int
	prevLimit int64
}

// relaxGC stops the collector for a burst of allocation that is mostly
// garbage once done (parsing a configuration of size bytes, planning and
// applying it) unless the heap reaches a limit: what is live now, plus
// relaxedPerByte times size, and at least relaxedLimit. A start from
// nothing then collects once (releaseMemory, when ready), not several
// times as the heap grows, and for a big file the heap peaks lower than
// a percentage over what is live would let it (GOGC 400 allowed five
// times the live heap). Past the limit the collector runs as the memory
// limit has it run (GOMEMLIMIT). It returns what restores both settings
// once every relaxGC call has been restored; a later call only ever
// raises the limit. An operator's GOGC or GOMEMLIMIT is left alone.
func relaxGC(size int64) (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := max(relaxedLimit, liveHeap()+relaxedPerByte*size)
	gcRelax.Lock()
	if gcRelax.n == 0 {
		gcRelax.prev = debug.SetGCPercent(-1)
		gcRelax.prevLimit = debug.SetMemoryLimit(limit)
	} else if limit > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(limit)
	}
	gcRelax.n++
	gcRelax.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gcRelax.Lock()
			defer gcRelax.Unlock()
			if gcRelax.n--; gcRelax.n == 0 {
				debug.SetGCPercent(gcRelax.prev)
				debug.SetMemoryLimit(gcRelax.prevLimit)
			}
		})
	}
}

// liveHeap is the heap the last collection found live, in bytes.
func liveHeap() int64 {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// configSize is the size of the configuration file, 0 if unknown, and at
// most the most a load reads of it (director.MaxConfigSize; a keepalived
// import's limit is the same): a file too big to load does not raise
// relaxGC's limit.
func (dm *daemon) configSize() int64 {
	if fi, err := os.Stat(dm.path); err == nil {
		return min(fi.Size(), director.MaxConfigSize)
	}
	return 0
}

// releaseMemory hands the memory that parsing and the first apply (or a
// reload) used and no longer need back to the system at once: a garbage
// collection and a return of the free heap, a few milliseconds at
// 20,000 real servers, where the runtime would keep it for minutes, so
// that the daemon's resident size is about its live heap's.
func releaseMemory() { debug.FreeOSMemory() }

// supervise tells systemd READY=1 once the first apply has succeeded, and
// WATCHDOG=1 every half watchdog interval while Run's loop answers a ping
// in time.
func (dm *daemon) supervise(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if dm.ready() {
			break
		}
	}
	dm.sd.send("READY=1")
	dm.log.Info("ready")
	if dm.startGC != nil {
		dm.startGC()
	}
	releaseMemory()
	every := watchdogInterval() / 2
	if every <= 0 {
		return
	}
	tick.Reset(every)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, every)
		err := dm.d.Ping(pctx)
		cancel()
		if err != nil {
			dm.log.Warn("the director's loop did not answer; no watchdog ping", "error", err)
			continue
		}
		dm.sd.send("WATCHDOG=1")
	}
}

// watchOverdue logs, at most once every overdueEvery, how many health
// checks became overdue since the last look: checks that waited longer
// than their interval for a free checker, so that real servers are
// checked less often than configured (keepalived's checker falls behind
// silently). The count is the Director's Status.OverdueChecks.
func (dm *daemon) watchOverdue(ctx context.Context) {
	every := cmp.Or(dm.overdueEvery, overdueInterval)
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := dm.d.OverdueChecks()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := dm.d.OverdueChecks()
		if n > last {
			dm.log.Warn("health checks overdue", "count", n-last, "total", n, "within", every.String(),
				"hint", "too many or too slow checks for -max-checks at once")
		}
		last = n
	}
}

// ready says the first apply has succeeded: the director has made the
// kernel match the configuration once. It is polled every 50 ms during
// start, so it reads that alone, not the whole Status.
func (dm *daemon) ready() bool { return !dm.d.LastResync().IsZero() }

// serveMetrics serves the director's metrics, and the process's, at
// /metrics on dm.metricsAt until the returned func is called.
func (dm *daemon) serveMetrics() (stop func(), err error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		metrics.New(dm.d, nil),
		buildInfoGauge(dm.version),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if dm.opts.Announcer != nil {
		if err := reg.Register(newBGPCollector(dm.opts.Announcer)); err != nil {
			return nil, err
		}
	}
	for _, c := range dm.reloads.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", dm.metricsAt)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	dm.log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	if dm.statusPage {
		mux.Handle("GET /{$}", newStatusPage(dm))
		dm.log.Info("serving the status page", "url", "http://"+ln.Addr().String()+"/")
	}
	if dm.pprof {
		servePprof(mux)
		dm.log.Info("serving profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	}
	return dm.serve(ln, mux, "metrics"), nil
}

// serve serves h on ln until the returned func is called.
func (dm *daemon) serve(ln net.Listener, h http.Handler, what string) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			dm.log.Error(what+" server failed", "error", err)
		}
	}()
	return func() { srv.Close() }
}
