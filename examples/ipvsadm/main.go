// Command ipvsadm is a small ipvsadm built only on the lvs SDK: the common
// commands and options, with listings byte-identical to the real ipvsadm's
// numeric output (-n) for the same kernel state.
//
//	ipvsadm -A -t 10.0.0.100:80 -s wrr
//	ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 2
//	ipvsadm -Ln [--stats | --rate] [--exact]
//	ipvsadm -Lnc                 # the connection table
//	ipvsadm -L --timeout | --daemon
//	ipvsadm -Sn > rules; ipvsadm -C; ipvsadm -R < rules
//	ipvsadm -Z [-t|-u|--sctp-service|-f service]
//	ipvsadm --set 900 120 300
//
// Names are never resolved: listings are always numeric, as with -n.
//
// The rule commands (-A, -E, -D, -a, -e, -d, and each line of -R) are read
// as ipvsadm 1.31 reads them (ipvsadm.ParseRules, package ipvs/ipvsadm):
// the same option syntax, defaults (wlc, -g, weight 1, -p alone 360
// seconds), rewrites (a -g or -i real server gets its service's port) and
// refusals, so the kernel gets what the real ipvsadm would send. -R applies
// the lines before the first one ipvsadm would refuse and stops there, as
// ipvsadm -R does. The listings and -S are package ipvs/ipvsadm's too.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

func main() {
	os.Exit(run(context.Background(), nil, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one ipvsadm command line with c (a new client in the
// caller's namespace if nil) and returns the exit status.
func run(ctx context.Context, c *ipvs.Client, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if err := execute(ctx, c, expand(args), stdin, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return 0
}

// expand splits combined short flags: -Lnc becomes -L -n -c.
func expand(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], "LlnScCZ") == "" {
			for _, r := range a[1:] {
				out = append(out, "-"+string(r))
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func has(args []string, flags ...string) bool {
	for _, a := range args {
		for _, f := range flags {
			if a == f {
				return true
			}
		}
	}
	return false
}

func execute(ctx context.Context, c *ipvs.Client, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		args = []string{"-L"}
	}
	if c == nil {
		var err error
		if c, err = ipvs.New(nil); err != nil {
			return err
		}
		defer c.Close()
	}
	switch {
	case has(args, "-A", "--add-service", "-E", "--edit-service", "-D", "--delete-service",
		"-a", "--add-server", "-e", "--edit-server", "-d", "--delete-server"):
		rules, err := ipvsadm.ParseRules(strings.NewReader(strings.Join(args, " ")))
		if err != nil {
			return err
		}
		return applyRules(ctx, c, rules)
	case has(args, "-R", "--restore"):
		return restore(ctx, c, stdin)
	case has(args, "-C", "--clear"):
		return c.Flush(ctx)
	case has(args, "-S", "--save"):
		t, err := c.Table(ctx)
		if err != nil {
			return err
		}
		return ipvsadm.WriteRules(stdout, t)
	case has(args, "-Z", "--zero"):
		svc, ok, err := serviceArg(args)
		if err != nil {
			return err
		}
		if ok {
			return c.ZeroService(ctx, svc)
		}
		return c.ZeroAll(ctx)
	case has(args, "--set"):
		return setTimeouts(ctx, c, args)
	case has(args, "-L", "-l", "--list"):
		return list(ctx, c, args, stdout)
	}
	return fmt.Errorf("ipvsadm: no command in %q", strings.Join(args, " "))
}

func applyRules(ctx context.Context, c *ipvs.Client, rules []ipvs.Rule) error {
	var b ipvs.Batch
	b.AddRules(rules)
	results, err := c.Apply(ctx, &b)
	if err != nil {
		return err
	}
	return errors.Join(results...)
}

// restore is ipvsadm -R: one command a line. ipvsadm runs each line as it
// reads it and exits at the first one it refuses itself, so the lines
// before that one are applied and the rest are not; a line the kernel
// refuses is reported and the others still go on.
func restore(ctx context.Context, c *ipvs.Client, stdin io.Reader) error {
	data, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	rules, perr := ipvsadm.ParseRules(bytes.NewReader(data))
	if perr == nil {
		return applyRules(ctx, c, rules)
	}
	var re *ipvsadm.RuleError
	if !errors.As(perr, &re) {
		return perr
	}
	before := strings.Join(strings.SplitAfter(string(data), "\n")[:re.Line-1], "")
	if rules, err = ipvsadm.ParseRules(strings.NewReader(before)); err != nil || len(rules) == 0 {
		return errors.Join(err, perr)
	}
	return errors.Join(applyRules(ctx, c, rules), perr)
}

// serviceArg finds a service named by -t, -u, --sctp-service or -f.
func serviceArg(args []string) (ipvs.Service, bool, error) {
	for i, a := range args {
		switch a {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service", "-f", "--fwmark-service":
			if i+1 >= len(args) {
				return ipvs.Service{}, false, fmt.Errorf("%s needs a value", a)
			}
			line := "-D " + a + " " + args[i+1]
			if has(args, "-6") {
				line += " -6"
			}
			rules, err := ipvsadm.ParseRules(strings.NewReader(line))
			if err != nil {
				return ipvs.Service{}, false, err
			}
			return rules[0].Service, true, nil
		}
	}
	return ipvs.Service{}, false, nil
}

func setTimeouts(ctx context.Context, c *ipvs.Client, args []string) error {
	for i, a := range args {
		if a != "--set" {
			continue
		}
		if i+3 >= len(args) {
			return fmt.Errorf("--set needs tcp tcpfin udp")
		}
		var v [3]time.Duration
		for j := range v {
			n, err := strconv.ParseUint(args[i+1+j], 10, 31)
			if err != nil {
				return fmt.Errorf("--set: %q: %v", args[i+1+j], err)
			}
			v[j] = time.Duration(n) * time.Second
		}
		return c.SetTimeouts(ctx, ipvs.Timeouts{TCP: v[0], TCPFin: v[1], UDP: v[2]})
	}
	return nil
}

func list(ctx context.Context, c *ipvs.Client, args []string, w io.Writer) error {
	switch {
	case has(args, "--timeout"):
		t, err := c.Timeouts(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n", int64(t.TCP.Seconds()), int64(t.TCPFin.Seconds()), int64(t.UDP.Seconds()))
		return err
	case has(args, "-c", "--connection"):
		conns, err := c.Connections(ctx)
		if err != nil {
			return err
		}
		return ipvsadm.WriteConnections(w, conns)
	case has(args, "--daemon"):
		ds, err := c.SyncDaemons(ctx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			fmt.Fprintf(w, "%s sync daemon (mcast=%s, syncid=%d, maxlen=%d, group=%s, port=%d, ttl=%d)\n",
				d.State, d.Interface, d.SyncID, d.MaxLength, d.Group, d.Port, d.TTL)
		}
		return nil
	}
	t, err := c.Table(ctx)
	if err != nil {
		return err
	}
	svc, one, err := serviceArg(args)
	if err != nil {
		return err
	}
	if one {
		var only []ipvs.TableService
		for _, s := range t.Services {
			if s.Key() == svc.Key() {
				only = append(only, s)
			}
		}
		if len(only) == 0 {
			return fmt.Errorf("ipvsadm: %v: no such service", svc.Key())
		}
		t.Services = only
	}
	return ipvsadm.WriteList(w, t, ipvsadm.ListFormat{Stats: has(args, "--stats"), Rate: has(args, "--rate"),
		Exact: has(args, "--exact", "-X"), NoVersion: one})
}
