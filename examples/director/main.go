// Command lvs-director runs the lvs director from a configuration file: it
// applies the file, keeps real servers' health checked, re-reads the file
// on SIGHUP or when asked, logs each change as one structured record, and
// on SIGINT or SIGTERM stops (leaving the configuration in place, as
// keepalived does) or, with -teardown, removes everything it owns first.
//
//	lvs-director -config /etc/lvs/director.yaml [-config-format auto|yaml|keepalived] [-config-id ID] [-state /var/lib/lvs/director.json] [-control /run/lvs-director.sock]
//	             [-drain 30s] [-teardown] [-metrics 127.0.0.1:9120 [-status-page]] [-log-format text|json] [-log-level info]
//	lvs-director -check [-config] FILE      validate a configuration offline (no root, no kernel), like keepalived -t
//	lvs-director -dry-run -config FILE      print the plan (the diff against the kernel) and exit
//	lvs-director -import keepalived.conf [-config-id ID] [-report]
//	                                        print a keepalived configuration's virtual servers as a director configuration,
//	                                        or with -report what of each virtual server and VRRP instance is carried over
//	lvs-director status [-json]             what the running director has: services, real servers, health, weights, drains
//	lvs-director disable -reason TEXT SERVICE REALSERVER
//	lvs-director enable SERVICE REALSERVER  take a real server out of service by hand, and back
//	lvs-director weight [-reason TEXT] SERVICE REALSERVER WEIGHT
//	lvs-director drain [-for D | -until T] [-reason TEXT] SERVICE REALSERVER
//	lvs-director restore SERVICE REALSERVER set a real server's weight by hand, drain it (weight 0 until idle or the deadline), and back
//	lvs-director reload                     re-read the configuration file (as SIGHUP does), and say how it went
//	lvs-director withdraw / rejoin          withdraw this director's prefixes from the routers (cluster.bgp), and back
//	lvs-director -version / version         the version (module version or VCS revision) and Go release
//
// The -config file may be a keepalived.conf (-config-format keepalived, or
// auto: detected by its first statement): the daemon then imports it as
// -import does, at start and at each reload, for the config id -config-id
// (keepalived's -i; the host's short name by default), and logs the
// import's notes as warnings, again on a reload only if they changed; an
// import keepalived could not read, or of no virtual server, is refused as
// a YAML file that does not load is (the running configuration stays).
// -check reads it too. So a migration can be: stop keepalived, start
// lvs-director on the same file. -import FILE -report prints, instead of
// the configuration, what of each virtual_server and vrrp_instance is
// carried fully, partly (the notes saying what not) or not, and the counts.
//
// SERVICE is "tcp 10.0.0.8:80" (one or two words) or "fwmark 10"; the
// subcommands talk to the running director over its control socket
// (-control, mode 0600: root and the daemon's user; with -control-group
// or -status-group it is mode 0666 and each connection's peer, as the
// kernel gives it, is checked: the members of -control-group may change
// the director, those of -status-group read its status). The subcommands
// talk only to a daemon run by root (or by their own user).
//
// Under systemd (Type=notify, see lvs-director.service) it says READY=1
// once the first apply has succeeded, RELOADING=1 and READY=1 around each
// reload, STOPPING=1 when it stops, and WATCHDOG=1 every half of
// WatchdogSec while its loop answers.
//
// -metrics serves Prometheus metrics at /metrics on the address: the IPVS
// table and the director's status (package director/metrics), and the
// process's own. With -status-page it also serves, at /, a read-only HTML
// page of the director's state (services, real servers with their declared
// and effective weights and why they differ, health and since when,
// connections and rates, BGP sessions, the last reload) that refreshes
// itself every 5 seconds, loads nothing from elsewhere (it works on an
// air-gapped host) and shows narrow screens each real server as a card:
// open http://127.0.0.1:9120/ in a browser (or through an SSH tunnel).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lvs-go/lvs/director"
)

// defaultControl is where the control socket is unless -control says.
const defaultControl = "/run/lvs-director.sock"

// progName is the name the program was run as (lvs-director when
// installed as the unit expects).
func progName() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return "lvs-director"
	}
	return filepath.Base(os.Args[0])
}

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := commands[os.Args[1]]; ok {
			os.Exit(cmd.run(os.Args[2:]))
		}
	}
	fs := flag.NewFlagSet(progName(), flag.ContinueOnError)
	var (
		path      = fs.String("config", "", "configuration file (YAML or JSON, or a keepalived.conf: see -config-format)")
		format    = fs.String("config-format", formatAuto, "the -config file's format: yaml (also JSON), keepalived (imported at start and at each reload, as -import reads it), or auto: keepalived if its first statement is a keepalived block keyword (global_defs, virtual_server, vrrp_instance, include...), an @ or a $ line, else yaml")
		cfgID     = fs.String("config-id", "", "keepalived's -i (--config-id) for a keepalived.conf (-import, or a -config read as keepalived): the id that \"@ID\" lines are read for, and \"@^ID\" lines are not (default: the host's short name, as keepalived's)")
		report    = fs.Bool("report", false, "with -import: print a migration report instead of the configuration: each virtual_server and vrrp_instance carried fully, partly (the notes saying what not, file:line first) or not (why), then the counts")
		state     = fs.String("state", "", "file that keeps what the director owns, and the real servers disabled by hand, across restarts")
		control   = fs.String("control", defaultControl, "control socket for status, disable, enable and reload (mode 0600); off if empty")
		drain     = fs.Duration("drain", 0, "drain removed real servers for up to this long instead of deleting them")
		callTO    = fs.Duration("call-timeout", 0, "deadline of each step of the director's loop (a plan, an apply, a collection); an apply gets 1ms more per operation, a read of the whole table 2ms per service (0: 10s)")
		maxChecks = fs.Int("max-checks", 0, "health checks run at once (0: 32); raise it for many real servers, or slow ones")
		resync    = fs.Duration("resync", 0, "how often the whole IPVS table is read and what others changed repaired (0: adaptive, every 30s or 100 times the last read's duration, whichever is longer, so that resyncs take at most about 1% of the time; negative: never)")
		check     = fs.Bool("check", false, "validate the configuration (-config FILE, or FILE) and exit: no root, no kernel")
		dryRun    = fs.Bool("dry-run", false, "print the plan and exit")
		teardown  = fs.Bool("teardown", false, "remove what the director owns when stopped")
		metricsAt = fs.String("metrics", "", "address to serve Prometheus metrics on at /metrics (host:port); off if empty")
		page      = fs.Bool("status-page", false, "also serve a read-only HTML status page at / on the -metrics address (refreshes itself, no external assets)")
		pprofOn   = fs.Bool("pprof", false, "also serve Go's runtime profiles at /debug/pprof/ on the -metrics address (CPU, heap, goroutines: where the director's time and memory go; keep that address local)")
		cpuProf   = fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (mode 0600) when the director stops")
		logFormat = fs.String("log-format", "text", "log records as text or json")
		logLevel  = fs.String("log-level", "info", "the least important records logged: debug, info, warn or error")
		importKA  = fs.String("import", "", "print this keepalived.conf's virtual servers as a director configuration, and what was not carried over, and exit")
		version   = fs.Bool("version", false, "print the version and exit")
		ctlGroup  = fs.String("control-group", "", "a group whose members may use the control socket as root does (it is then mode 0666, each peer checked)")
		statGroup = fs.String("status-group", "", "a group whose members may read the status over the control socket")
	)
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *check && *path == "" && fs.NArg() == 1 {
		*path = fs.Arg(0) // -check FILE
	} else if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unknown subcommand or stray argument %q (see %s -h)\n", progName(), fs.Arg(0), progName())
		os.Exit(2)
	}
	switch {
	case *version:
		writeVersion(os.Stdout, readBuildVersion())
		os.Exit(0)
	case *importKA != "":
		os.Exit(importKeepalived(*importKA, *cfgID, *report))
	case *report:
		fmt.Fprintf(os.Stderr, "%s: -report goes with -import FILE (see %s -h)\n", progName(), progName())
		os.Exit(2)
	case checkFormat(*format) != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), checkFormat(*format))
		os.Exit(2)
	case *path == "":
		fmt.Fprintf(os.Stderr, "%s: -config FILE is required (see %s -h)\n", progName(), progName())
		os.Exit(2)
	case *check:
		os.Exit(checkConfig(*path, *format, *cfgID))
	case *page && *metricsAt == "":
		fmt.Fprintf(os.Stderr, "%s: -status-page is served on the -metrics address: give -metrics too (see %s -h)\n", progName(), progName())
		os.Exit(2)
	case *pprofOn && *metricsAt == "":
		fmt.Fprintf(os.Stderr, "%s: -pprof is served on the -metrics address: give -metrics too (see %s -h)\n", progName(), progName())
		os.Exit(2)
	}
	log, err := newLogger(os.Stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
		os.Exit(2)
	}
	var access controlAccess
	if access.change, err = lookupGroups(*ctlGroup); err == nil {
		access.read, err = lookupGroups(*statGroup)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
		os.Exit(2)
	}
	opts, err := daemonOptions(*state, *drain, *callTO, *maxChecks)
	opts.Resync = *resync
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
		os.Exit(2)
	}
	d := daemon{
		path: *path, format: *format, configID: *cfgID, opts: opts, control: *control, access: access,
		dryRun: *dryRun, teardown: *teardown, metricsAt: *metricsAt, statusPage: *page, pprof: *pprofOn, log: log, stopTimeout: 30 * time.Second,
		version: readBuildVersion(),
	}
	if err := noHugePages(); err != nil {
		log.Warn("transparent huge pages left on", "error", err) // the resident size is larger, nothing else
	}
	stopProfile, err := startCPUProfile(*cpuProf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
		os.Exit(2)
	}
	err = d.run()
	if perr := stopProfile(); perr != nil {
		log.Error("cpu profile", "error", perr)
	}
	if err != nil {
		log.Error("director stopped", "error", err)
		os.Exit(1)
	}
}

// daemonOptions are the director's Options from the daemon's flags:
// -state, -drain, -call-timeout and -max-checks (neither negative).
func daemonOptions(state string, drain, callTimeout time.Duration, maxChecks int) (director.Options, error) {
	switch {
	case callTimeout < 0:
		return director.Options{}, fmt.Errorf("-call-timeout %v is negative", callTimeout)
	case maxChecks < 0:
		return director.Options{}, fmt.Errorf("-max-checks %d is negative", maxChecks)
	}
	return director.Options{StateFile: state, Drain: drain, CallTimeout: callTimeout, MaxChecks: maxChecks}, nil
}

// usage prints how to run the daemon, then the subcommands, one line each.
func usage(fs *flag.FlagSet) {
	w, p := fs.Output(), progName()
	fmt.Fprintf(w, "usage: %s -config FILE [flags]    run the director\n", p)
	fmt.Fprintf(w, "       %s -check FILE             validate a configuration offline\n", p)
	fmt.Fprintf(w, "       %s SUBCOMMAND [flags] ...  talk to the running director\n\nsubcommands:\n", p)
	for _, name := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.PrintDefaults()
}

// checkConfig validates the file at path, in format, offline and prints
// what is wrong with it, file:line first as compilers do; a keepalived.conf
// is imported with the config id id, its notes printed.
func checkConfig(path, format, id string) int {
	l, err := loadConfig(path, format, id)
	if l.keepalived {
		return checkKeepalived(path, l, err)
	}
	if err != nil {
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
