package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
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
	"reload":  {"re-read the configuration file; exits 1 if it was refused or its apply failed", reloadCommand},
	"withdraw": {"withdraw this director's prefixes from the routers (cluster.bgp)",
		func(args []string) int { return clusterCommand("withdraw", "withdrawn", args) }},
	"rejoin":  {"announce this director's prefixes again after withdraw", func(args []string) int { return clusterCommand("rejoin", "rejoined", args) }},
	"version": {"print the version and exit", versionCommand},
	// drain and undrain, withdraw's and rejoin's former names, are kept
	// for one release (see CHANGELOG.md).
	"drain":   {"former name of withdraw, kept for one release", func(args []string) int { return clusterCommand("withdraw", "withdrawn", args) }},
	"undrain": {"former name of rejoin, kept for one release", func(args []string) int { return clusterCommand("rejoin", "rejoined", args) }},
}

// commandNames are the subcommands in the order -h lists them.
func commandNames() []string {
	return []string{"status", "disable", "enable", "reload", "withdraw", "rejoin", "version", "drain", "undrain"}
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
