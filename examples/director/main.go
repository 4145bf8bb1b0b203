// Command director runs the lvs director from a configuration file: it
// applies the file, keeps real servers' health checked, re-reads the file
// on SIGHUP, prints each change, and on SIGINT or SIGTERM stops (leaving
// the configuration in place, as keepalived does) or, with -teardown,
// removes everything it owns first.
//
//	director -config configs/nat.yaml [-state /run/lvs-director.json] [-drain 30s] [-dry-run] [-metrics 127.0.0.1:9120]
//
// -dry-run prints the plan (the diff against the kernel) and exits.
// -metrics serves Prometheus metrics at /metrics on the address: the IPVS
// table and the director's status (package director/metrics), and the
// process's own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	var (
		path      = flag.String("config", "", "configuration file (YAML or JSON)")
		state     = flag.String("state", "", "file that keeps what the director owns across restarts")
		drain     = flag.Duration("drain", 0, "drain removed real servers for up to this long instead of deleting them")
		dryRun    = flag.Bool("dry-run", false, "print the plan and exit")
		teardown  = flag.Bool("teardown", false, "remove what the director owns when stopped")
		metricsAt = flag.String("metrics", "", "address to serve Prometheus metrics on at /metrics (host:port); off if empty")
	)
	flag.Parse()
	if *path == "" {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(log.LstdFlags)
	if err := run(*path, director.Options{StateFile: *state, Drain: *drain}, *dryRun, *teardown, *metricsAt); err != nil {
		log.Fatal(err)
	}
}

func run(path string, opts director.Options, dryRun, teardown bool, metricsAt string) error {
	cfg, err := director.Load(path)
	if err != nil {
		return err
	}
	d, err := director.New(&opts)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if dryRun {
		p, err := d.Plan(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Print(p)
		return nil
	}
	if metricsAt != "" {
		stop, err := serveMetrics(metricsAt, d)
		if err != nil {
			return err
		}
		defer stop()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan *director.Config)
	go func() {
		for range hup {
			c, err := director.Load(path)
			if err != nil {
				log.Printf("reload %s: %v (keeping the running configuration)", path, err)
				continue
			}
			log.Printf("reloading %s", path)
			select {
			case reload <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	log.Printf("applying %s", path)
	err = d.Run(ctx, cfg, reload, report)
	if teardown {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if terr := d.Teardown(tctx); terr != nil {
			log.Printf("teardown: %v", terr)
		} else {
			log.Print("removed what the director owned")
		}
	}
	return err
}

func report(r director.Report) {
	switch {
	case r.Err != nil:
		log.Printf("error: %v", r.Err)
	case r.Health != nil:
		log.Printf("health: %v", r.Health)
	case r.Plan != nil:
		log.Printf("applied:\n%s", r.Plan)
	case r.Collected > 0:
		log.Printf("deleted %d drained real server(s)", r.Collected)
	}
}

// serveMetrics serves d's metrics, and the process's, at /metrics on addr
// until the returned func is called.
func serveMetrics(addr string, d *director.Director) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		metrics.New(d, nil),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("metrics: %v", err)
		}
	}()
	log.Printf("serving metrics on http://%s/metrics", ln.Addr())
	return func() { srv.Close() }, nil
}
