package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// command is a subcommand: one line for -h, and what runs it.
type command struct {
	summary string
	run     func(args []string) int
}

// commands are the subcommands, most of which talk to a running director;
// each returns the exit status.
var commands = map[string]command{
	"status":  {"what the running director has: services, real servers, health, weights", statusCommand},
	"disable": {"take a real server out of service by hand: disable [-reason TEXT] SERVICE REALSERVER", func(args []string) int { return maintenanceCommand("disable", args) }},
	"enable":  {"put a real server disabled by hand back in service: enable SERVICE REALSERVER", func(args []string) int { return maintenanceCommand("enable", args) }},
	"weight":  {"set a real server's weight by hand, until restore: weight [-reason TEXT] SERVICE REALSERVER WEIGHT", weightCommand},
	"drain":   {"drain a real server (weight 0 until idle or -until/-for), until restore: drain [-for D] SERVICE REALSERVER", drainCommand},
	"restore": {"put a real server back at the configuration's weight after weight or drain", func(args []string) int { return overrideCommand("restore", args) }},
	"reload":  {"re-read the configuration file; exits 1 if it was refused or its apply failed", reloadCommand},
	"withdraw": {"withdraw this director's prefixes from the routers (cluster.bgp)",
		func(args []string) int { return clusterCommand("withdraw", "withdrawn", args) }},
	"rejoin":  {"announce this director's prefixes again after withdraw", func(args []string) int { return clusterCommand("rejoin", "rejoined", args) }},
	"version": {"print the version and exit", versionCommand},
	// undrain, rejoin's former name, is kept for one release (see
	// CHANGELOG.md), and so is drain without arguments (withdraw).
	"undrain": {"former name of rejoin, kept for one release", func(args []string) int { return clusterCommand("rejoin", "rejoined", args) }},
}

// commandNames are the subcommands in the order -h lists them.
func commandNames() []string {
	return []string{"status", "disable", "enable", "weight", "drain", "restore", "reload", "withdraw", "rejoin", "version", "undrain"}
}

func versionCommand(args []string) int {
	fs := flag.NewFlagSet(progName()+" version", flag.ExitOnError)
	fs.Parse(args)
	writeVersion(os.Stdout, readBuildVersion())
	return 0
}

// clusterCommand takes the director out of its cluster (its prefixes
// withdrawn from the routers, withdraw) or back (rejoin).
func clusterCommand(name, done string, args []string) int {
	fs, control := commandFlags(name, "")
	fs.Parse(args)
	if err := newControlClient(*control).call("POST", "/v1/"+name, nil, &struct{}{}); err != nil {
		return fail(err)
	}
	fmt.Println(done)
	return 0
}

func commandFlags(name, usage string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(progName()+" "+name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s [flags] %s\n", progName(), name, usage)
		fs.PrintDefaults()
	}
	return fs, fs.String("control", defaultControl, "the running director's control socket")
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "%s: %v\n", progName(), err)
	return 1
}

func statusCommand(args []string) int {
	fs, control := commandFlags("status", "")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	fs.Parse(args)
	var v statusView
	if err := newControlClient(*control).call("GET", "/v1/status", nil, &v); err != nil {
		return fail(err)
	}
	if *asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		if err := e.Encode(v); err != nil {
			return fail(err)
		}
		return 0
	}
	if err := writeStatus(os.Stdout, v, time.Now()); err != nil {
		return fail(err)
	}
	return 0
}

// maintenanceCommand disables or enables a real server: its arguments are
// the service (one or two words: "tcp 10.0.0.8:80", "fwmark 10") and the
// real server's address, with its port (a firewall-mark service's real
// servers may have none: port 0).
func maintenanceCommand(name string, args []string) int {
	fs, control := commandFlags(name, "SERVICE REALSERVER")
	reason := new(string)
	if name == "disable" {
		reason = fs.String("reason", "", "why, shown by status and kept with the real server")
	}
	fs.Parse(args)
	rest := fs.Args()
	if len(rest) < 2 {
		fs.Usage()
		return 2
	}
	svc, err := ipvs.ParseKey(strings.Join(rest[:len(rest)-1], " "))
	if err != nil {
		return fail(err)
	}
	rs, err := parseRealServer(rest[len(rest)-1])
	if err != nil {
		return fail(err)
	}
	req := maintenanceRequest{Service: svc, RealServer: rs, Reason: *reason}
	if err := newControlClient(*control).call("POST", "/v1/"+name, req, &struct{}{}); err != nil {
		return fail(err)
	}
	fmt.Printf("%sd %v of %v\n", name, rs, svc)
	return 0
}

// parseRealServer reads ADDR:PORT, or an address alone as port 0.
func parseRealServer(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 0), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("real server %q: want ADDR:PORT", s)
	}
	return ap, nil
}

func reloadCommand(args []string) int {
	fs, control := commandFlags("reload", "")
	fs.Parse(args)
	var a reloadAnswer
	if err := newControlClient(*control).call("POST", "/v1/reload", nil, &a); err != nil {
		return fail(err)
	}
	if a.Errors > 0 {
		fmt.Printf("reloaded; the director reported %d error(s) applying it: see its log\n", a.Errors)
		return 1
	}
	fmt.Println("reloaded")
	return 0
}

// weightCommand sets a real server's weight by hand.
func weightCommand(args []string) int {
	return overrideCommand("weight", args)
}

// drainCommand drains a real server; without arguments it is withdraw's
// former name, kept for one release.
func drainCommand(args []string) int {
	probe := flag.NewFlagSet("drain", flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	probe.String("control", "", "")
	probe.String("reason", "", "")
	probe.String("until", "", "")
	probe.Duration("for", 0, "")
	if probe.Parse(args) == nil && probe.NArg() == 0 && probe.NFlag() <= 1 && (probe.NFlag() == 0 || probe.Lookup("control").Value.String() != "") {
		fmt.Fprintf(os.Stderr, "%s: drain without a real server is withdraw's former name: use withdraw\n", progName())
		return clusterCommand("withdraw", "withdrawn", args)
	}
	return overrideCommand("drain", args)
}

// overrideCommand sets a real server's weight (weight), drains it (drain)
// or puts it back at the configuration's weight (restore).
func overrideCommand(name string, args []string) int {
	usage := map[string]string{"weight": "SERVICE REALSERVER WEIGHT", "drain": "SERVICE REALSERVER", "restore": "SERVICE REALSERVER"}[name]
	fs, control := commandFlags(name, usage)
	var reason *string
	var until *string
	var within *time.Duration
	if name != "restore" {
		reason = fs.String("reason", "", "why, shown by status and kept with the real server")
	}
	if name == "drain" {
		until = fs.String("until", "", "the drain's deadline, RFC 3339 (2006-01-02T15:04:05Z07:00); none: until idle")
		within = fs.Duration("for", 0, "the drain's deadline from now (e.g. 10m); none: until idle")
	}
	fs.Parse(args)
	rest := fs.Args()
	want := 2
	if name == "weight" {
		want = 3
	}
	if len(rest) < want {
		fs.Usage()
		return 2
	}
	req := overrideRequest{}
	if name == "weight" {
		w, err := strconv.Atoi(rest[len(rest)-1])
		if err != nil {
			return fail(fmt.Errorf("weight %q: want a number", rest[len(rest)-1]))
		}
		req.Weight = &w
		rest = rest[:len(rest)-1]
	}
	svc, err := ipvs.ParseKey(strings.Join(rest[:len(rest)-1], " "))
	if err != nil {
		return fail(err)
	}
	rs, err := parseRealServer(rest[len(rest)-1])
	if err != nil {
		return fail(err)
	}
	req.Service, req.RealServer = svc, rs
	if reason != nil {
		req.Reason = *reason
	}
	if name == "drain" {
		switch {
		case *until != "" && *within != 0:
			return fail(errors.New("-until and -for: give one"))
		case *until != "":
			if req.Until, err = time.Parse(time.RFC3339, *until); err != nil {
				return fail(fmt.Errorf("-until %q: want RFC 3339, as 2006-01-02T15:04:05Z", *until))
			}
		case *within < 0:
			return fail(fmt.Errorf("-for %v: the deadline would be in the past", *within))
		case *within > 0:
			req.Until = time.Now().Add(*within)
		}
	}
	if err := newControlClient(*control).call("POST", "/v1/realservers/"+name, req, &struct{}{}); err != nil {
		return fail(err)
	}
	switch name {
	case "weight":
		fmt.Printf("set %v of %v to weight %d\n", rs, svc, *req.Weight)
	case "drain":
		fmt.Printf("draining %v of %v\n", rs, svc)
	default:
		fmt.Printf("restored %v of %v to its configured weight\n", rs, svc)
	}
	return 0
}
