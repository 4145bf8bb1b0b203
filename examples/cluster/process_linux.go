package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/bgp"
)

// directorArg makes this program a director process (runDirector): a
// director's BGP speaker must live in a process of the director's own
// namespace.
const directorArg = "-director-process"

// runDirector runs one director from the configuration file at path until
// SIGTERM: its BGP speaker if it has one, and a Director with its state in
// statePath.
func runDirector(path, statePath string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := director.Load(path)
	if err != nil {
		log.Error("config", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	opts := &director.Options{StateFile: statePath}
	if c := cfg.Config().Cluster; c != nil && c.BGP != nil {
		sp, err := bgp.New(ctx, c.BGP, nil)
		if err != nil {
			log.Error("bgp", "error", err)
			return 1
		}
		defer sp.Close()
		opts.Announcer = sp
	}
	d, err := director.New(opts)
	if err != nil {
		log.Error("director", "error", err)
		return 1
	}
	defer d.Close()
	// SIGUSR1 withdraws the director (the withdraw scenario).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			if err := d.Withdraw(ctx); err != nil {
				log.Warn("withdraw", "error", err)
			}
		}
	}()
	err = d.Run(ctx, cfg, nil, func(r director.Report) {
		if r.Err != nil {
			log.Warn("director", "error", r.Err)
		}
		if r.VRRP != nil {
			// The pair scenarios read these (waitBackup).
			log.Warn("vrrp", "event", r.VRRP.String())
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
