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

// commands are the subcommands that talk to a running director; each
// returns the exit status.
var commands = map[string]func(args []string) int{
	"status":   statusCommand,
	"disable":  func(args []string) int { return maintenanceCommand("disable", args) },
	"enable":   func(args []string) int { return maintenanceCommand("enable", args) },
	"reload":   reloadCommand,
	"withdraw": func(args []string) int { return clusterCommand("withdraw", "withdrawn", args) },
	"rejoin":   func(args []string) int { return clusterCommand("rejoin", "rejoined", args) },
	// drain and undrain, withdraw's and rejoin's former names, are kept
	// for one release (see CHANGELOG.md).
	"drain":   func(args []string) int { return clusterCommand("withdraw", "withdrawn", args) },
	"undrain": func(args []string) int { return clusterCommand("rejoin", "rejoined", args) },
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
	fs := flag.NewFlagSet("director "+name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: director %s [flags] %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, fs.String("control", defaultControl, "the running director's control socket")
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "director:", err)
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
