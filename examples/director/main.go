// Command director runs the lvs director from a configuration file: it
// applies the file, keeps real servers' health checked, re-reads the file
// on SIGHUP or when asked, logs each change as one structured record, and
// on SIGINT or SIGTERM stops (leaving the configuration in place, as
// keepalived does) or, with -teardown, removes everything it owns first.
//
//	director -config /etc/lvs/director.yaml [-state /var/lib/lvs/director.json] [-control /run/lvs-director.sock]
//	         [-drain 30s] [-teardown] [-metrics 127.0.0.1:9120] [-log-format text|json] [-log-level info]
//	director -check -config FILE        validate a configuration offline (no root, no kernel), like keepalived -t
//	director -dry-run -config FILE      print the plan (the diff against the kernel) and exit
//	director -import keepalived.conf    print a keepalived configuration's virtual servers as a director configuration
//	director status [-json]             what the running director has: services, real servers, health, weights, drains
//	director disable -reason TEXT SERVICE REALSERVER
//	director enable SERVICE REALSERVER  take a real server out of service by hand, and back
//	director reload                     re-read the configuration file (as SIGHUP does), and say how it went
//	director withdraw / rejoin          withdraw this director's prefixes from the routers (cluster.bgp), and back
//
// SERVICE is "tcp 10.0.0.8:80" (one or two words) or "fwmark 10"; the
// subcommands talk to the running director over its control socket
// (-control, mode 0600: whoever can open it can change the director).
//
// Under systemd (Type=notify, see lvs-director.service) it says READY=1
// once the first apply has succeeded, RELOADING=1 and READY=1 around each
// reload, STOPPING=1 when it stops, and WATCHDOG=1 every half of
// WatchdogSec while its loop answers.
//
// -metrics serves Prometheus metrics at /metrics on the address: the IPVS
// table and the director's status (package director/metrics), and the
// process's own.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lvs-go/lvs/director"
)

// defaultControl is where the control socket is unless -control says.
const defaultControl = "/run/lvs-director.sock"

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := commands[os.Args[1]]; ok {
			os.Exit(cmd(os.Args[2:]))
		}
	}
	var (
		path      = flag.String("config", "", "configuration file (YAML or JSON)")
		state     = flag.String("state", "", "file that keeps what the director owns, and the real servers disabled by hand, across restarts")
		control   = flag.String("control", defaultControl, "control socket for status, disable, enable and reload (mode 0600); off if empty")
		drain     = flag.Duration("drain", 0, "drain removed real servers for up to this long instead of deleting them")
		check     = flag.Bool("check", false, "validate the configuration and exit: no root, no kernel")
		dryRun    = flag.Bool("dry-run", false, "print the plan and exit")
		teardown  = flag.Bool("teardown", false, "remove what the director owns when stopped")
		metricsAt = flag.String("metrics", "", "address to serve Prometheus metrics on at /metrics (host:port); off if empty")
		logFormat = flag.String("log-format", "text", "log records as text or json")
		logLevel  = flag.String("log-level", "info", "the least important records logged: debug, info, warn or error")
		importKA  = flag.String("import", "", "print this keepalived.conf's virtual servers as a director configuration, and what was not carried over, and exit")
	)
	flag.Parse()
	switch {
	case *importKA != "":
		os.Exit(importKeepalived(*importKA))
	case *path == "":
		flag.Usage()
		os.Exit(2)
	case *check:
		os.Exit(checkConfig(*path))
	}
	log, err := newLogger(os.Stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "director:", err)
		os.Exit(2)
	}
	d := daemon{
		path: *path, opts: director.Options{StateFile: *state, Drain: *drain}, control: *control,
		dryRun: *dryRun, teardown: *teardown, metricsAt: *metricsAt, log: log, stopTimeout: 30 * time.Second,
	}
	if err := d.run(); err != nil {
		log.Error("director stopped", "error", err)
		os.Exit(1)
	}
}

// checkConfig validates the file at path offline and prints what is wrong
// with it, file:line first as compilers do.
func checkConfig(path string) int {
	if _, err := director.Load(path); err != nil {
		var ce *director.ConfigError
		if errors.As(err, &ce) && ce.Line > 0 {
			fmt.Fprintf(os.Stderr, "%s:%d: %v\n", path, ce.Line, err)
		} else {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		}
		return 1
	}
	fmt.Printf("%s: configuration OK\n", path)
	return 0
}
