// Command director runs the lvs director from a configuration file: it
// applies the file, keeps real servers' health checked, re-reads the file
// on SIGHUP, prints each change, and on SIGINT or SIGTERM stops (leaving
// the configuration in place, as keepalived does) or, with -teardown,
// removes everything it owns first.
//
//	director -config configs/nat.yaml [-state /run/lvs-director.json] [-drain 30s] [-dry-run]
//
// -dry-run prints the plan (the diff against the kernel) and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/director"
)

func main() {
	var (
		path     = flag.String("config", "", "configuration file (YAML or JSON)")
		state    = flag.String("state", "", "file that keeps what the director owns across restarts")
		drain    = flag.Duration("drain", 0, "drain removed real servers for up to this long instead of deleting them")
		dryRun   = flag.Bool("dry-run", false, "print the plan and exit")
		teardown = flag.Bool("teardown", false, "remove what the director owns when stopped")
	)
	flag.Parse()
	if *path == "" {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(log.LstdFlags)
	if err := run(*path, director.Options{StateFile: *state, Drain: *drain}, *dryRun, *teardown); err != nil {
		log.Fatal(err)
	}
}

func run(path string, opts director.Options, dryRun, teardown bool) error {
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
