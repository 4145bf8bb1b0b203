package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

var modules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh", "ip_vs_pe_sip", "veth", "bridge"}

func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Config{Modules: modules, Programs: []string{"/usr/sbin/ipvsadm"}})
}

// table covers every scheduler, forwarding method, family, flag and
// persistence option, plus the NAT service the traffic goes through.
const table = `-A -t 10.0.0.8:80 -s rr
-a -t 10.0.0.8:80 -r 10.0.0.110:80 -m -w 1
-a -t 10.0.0.8:80 -r 10.0.0.120:80 -m -w 1
-A -t 10.0.0.201:80 -s wrr -p 10 -M 255.255.255.0
-a -t 10.0.0.201:80 -r 10.0.0.110:80 -g -w 2
-a -t 10.0.0.201:80 -r 10.0.0.120:80 -g -w 0 -x 100 -y 10
-A -u 10.0.0.202:53 -s lc -o
-a -u 10.0.0.202:53 -r 10.0.0.110:5353 -m -w 3
-A --sctp-service 10.0.0.203:3868 -s wlc
-a --sctp-service 10.0.0.203:3868 -r 10.0.0.130:3868 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -t 10.0.0.204:80 -s lblc
-A -t 10.0.0.205:80 -s lblcr
-A -t 10.0.0.206:80 -s dh
-A -t 10.0.0.207:80 -s sh -b sh-fallback,sh-port
-A -t 10.0.0.208:80 -s sed
-A -t 10.0.0.209:80 -s nq
-A -t 10.0.0.210:80 -s fo
-a -t 10.0.0.210:80 -r 10.0.0.150:80 -i -w 5 --tun-type gre --tun-csum
-A -t 10.0.0.211:80 -s ovf
-A -u 10.0.0.212:5060 -s rr -p 60 --pe sip
-A -t [2001:db8::100]:80 -s mh -p 300 -M 64 -b mh-fallback,mh-port
-a -t [2001:db8::100]:80 -r 10.0.0.110:80 -i -w 1 --tun-type ipip
-A -f 10 -s rr
-a -f 10 -r 10.0.0.110:0 -i -w 1 --tun-type ipip
-A -f 20 -6 -s wrr
-a -f 20 -6 -r 10.0.0.120:0 -i -w 7 --tun-type gue --tun-port 7000 --tun-nocsum
`

// real runs the real ipvsadm inside the namespace.
func real(t *testing.T, h *lab.Host, args ...string) string {
	t.Helper()
	var out []byte
	err := nstest.Do(h.NS(), func() error {
		var err error
		out, err = exec.Command("ipvsadm", args...).CombinedOutput()
		return err
	})
	if err != nil {
		t.Fatalf("ipvsadm %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// ours runs this program's code path in-process on the namespace's client.
func ours(t *testing.T, c *ipvs.Client, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), c, args, strings.NewReader(stdin), &out, &errOut); code != 0 {
		t.Fatalf("ipvsadm %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// TestSideBySide loads a table through this program, sends traffic through
// it, and compares each listing with the real ipvsadm's on the same kernel
// state. Numbers that move (rates, expiry times) are compared with the
// real ipvsadm's listings just before and just after ours: ours must be one
// of them.
func TestSideBySide(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.Build(t, lab.NAT())
	director := labtest.Host(t, l, lab.Director)
	if err := director.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	c, err := ipvs.New(&ipvs.Config{NetNS: int(director.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ours(t, c, table, "-R")
	ours(t, c, "", "--set", "900", "120", "300")
	ours(t, c, "", "-E", "-t", "10.0.0.201:80", "-s", "wrr", "-p", "20", "-M", "255.255.0.0")
	ours(t, c, "", "-e", "-t", "10.0.0.8:80", "-r", "10.0.0.120:80", "-m", "-w", "2")
	ours(t, c, "", "-a", "-t", "10.0.0.204:80", "-r", "10.0.0.140:80", "-g", "-w", "4")
	ours(t, c, "", "-d", "-t", "10.0.0.204:80", "-r", "10.0.0.140:80")
	ours(t, c, "", "-A", "-t", "10.0.0.250:80")
	ours(t, c, "", "-D", "-t", "10.0.0.250:80")

	client := labtest.Host(t, l, lab.Client)
	for i := 0; i < 9; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := client.Get(ctx, "http://10.0.0.8/"); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	time.Sleep(2500 * time.Millisecond) // let the estimator publish

	for _, args := range [][]string{
		{"-Ln"}, {"-L", "-n"}, {"-Ln", "--stats"}, {"-Ln", "--rate"}, {"-Ln", "--stats", "--exact"},
		{"-L", "--timeout"}, {"-Sn"}, {"-Lnc"}, {"-Ln", "-t", "10.0.0.8:80"}, {"-Ln", "-f", "20", "-6"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var last string
			for try := 0; try < 20; try++ {
				before := real(t, director, args...)
				got := ours(t, c, "", args...)
				after := real(t, director, args...)
				// The kernel's numbers (expiry times) may move meanwhile:
				// ours must be one of the real snapshots around it.
				if got == before || got == after {
					if try == 0 && strings.Count(got, "\n") < 2 && args[0] != "-L" {
						t.Errorf("suspiciously short listing:\n%s", got)
					}
					return
				}
				last = fmt.Sprintf("--- ipvsadm\n%s--- ours\n%s", before, got)
				time.Sleep(100 * time.Millisecond)
			}
			t.Errorf("listings differ:\n%s", last)
		})
	}
	// The listings above saw the traffic: a table of zeros would pass too.
	if s := real(t, director, "-Ln", "--stats", "--exact", "-t", "10.0.0.8:80"); !strings.Contains(s, "        9") {
		t.Errorf("expected 9 connections in the stats:\n%s", s)
	}
	if s := real(t, director, "-Lnc"); strings.Count(s, "10.0.0.8:80") != 9 {
		t.Errorf("expected 9 connections in the table:\n%s", s)
	}
	ours(t, c, "", "-Z")
	s := real(t, director, "-Ln", "--stats", "--exact", "-t", "10.0.0.8:80")
	if !strings.Contains(s, "\nTCP  10.0.0.8:80 ") || strings.Join(strings.Fields(strings.Split(s, "\n")[2]), " ") != "TCP 10.0.0.8:80 0 0 0 0 0" {
		t.Errorf("after -Z:\n%s", s)
	}
	ours(t, c, "", "-C")
	if s := real(t, director, "-Sn"); s != "" {
		t.Errorf("after -C, ipvsadm -Sn shows:\n%s", s)
	}
}

// TestRulesLikeIpvsadm runs the same rule commands through the real
// ipvsadm in one namespace and through this program in another: each is
// refused by both or by neither, and the two kernel tables end up the same
// (ipvsadm -Sn). The commands lean on what ipvsadm fills in and rewrites:
// -p alone, -r without a port, the port of a -g or -i real server, port-0
// services, -M forms, popt's option forms; then -R stops at the first line
// ipvsadm refuses, after applying the lines before it.
func TestRulesLikeIpvsadm(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.New(t)
	director := func(name string) *lab.Host {
		h, err := l.NewHost(name)
		if err != nil {
			t.Fatal(err)
		}
		// Real servers on 10/8 must be routable for the kernel to take them.
		if err := h.AddAddr("lo", "10.255.255.254/8"); err != nil {
			t.Fatal(err)
		}
		return h
	}
	withReal, withOurs := director("real"), director("ours")
	c, err := ipvs.New(&ipvs.Config{NetNS: int(withOurs.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, line := range []string{
		"-A -t 10.0.0.1:80 -p",
		"-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g",
		"-a -t 10.0.0.1:80 -r 10.0.0.3 -mw2",
		"-a -t 10.0.0.1:80 -r [2001:db8::4]:8080 -i",
		"-A -t [2001:db8::1]:80 -s rr -p10 -M 64",
		"-a -t [2001:db8::1]:80 -r 2001:db8::2 -m",
		"-A -t 10.0.0.5 -p 60 -M 4294967040",
		"-a -t 10.0.0.5 -r 10.0.0.6 -m",
		"-A -u 10.0.0.1:5060 --pe sip -o",
		"-A -f 5 -6 -p -M 64",
		"-a -f 5 -6 -r 2001:db8::7 -m",
		"--add-service --tcp-service=10.1:81 --scheduler=mh --sched-flags=mh-port",
		"-E -t 10.0.0.1:80 -s sh -b sh-port",
		"-e -t 10.0.0.1:80 -r 10.0.0.3 -m",
		"-d -t 10.0.0.1:80 -r 10.0.0.2:8080", // refused: it was added as :80
		"-d -t 10.0.0.1:80 -r 10.0.0.2",
		"-A -t 10.0.0.9:80 -o",                     // refused: one-packet only for UDP
		"-t 10.0.0.9:80 -A",                        // refused: the command comes first
		"-A -t 10.0.0.9",                           // refused: port 0 needs -p
		"-a -t 10.0.0.1:80 -r 10.0.0.8 -g -w 2 -m", // refused: two methods
	} {
		args := strings.Fields(line)
		var rout []byte
		rerr := nstest.Do(withReal.NS(), func() error {
			var err error
			rout, err = exec.Command("ipvsadm", args...).CombinedOutput()
			return err
		})
		var out, errOut bytes.Buffer
		code := run(context.Background(), c, args, strings.NewReader(""), &out, &errOut)
		if (rerr == nil) != (code == 0) {
			t.Errorf("%s: ipvsadm: %v %s; ours: exit %d %s", line, rerr, rout, code, errOut.String())
		}
	}
	restore := "-A -t 10.0.0.20:80 -s rr\n--add-service --tcp-service 10.0.0.21:80 -p\n-A -t 10.0.0.22:80 -o\n-A -t 10.0.0.23:80\n"
	var rout []byte
	rerr := nstest.Do(withReal.NS(), func() error {
		cmd := exec.Command("ipvsadm", "-R")
		cmd.Stdin = strings.NewReader(restore)
		var err error
		rout, err = cmd.CombinedOutput()
		return err
	})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), c, []string{"-R"}, strings.NewReader(restore), &out, &errOut); rerr == nil || code == 0 {
		t.Errorf("-R with a refused line: ipvsadm: %v %s; ours: exit %d %s", rerr, rout, code, errOut.String())
	}
	want := real(t, withReal, "-Sn")
	if got := real(t, withOurs, "-Sn"); got != want {
		t.Errorf("loaded by this program, ipvsadm -Sn shows:\n%s\nloaded by ipvsadm:\n%s", got, want)
	}
	for _, line := range []string{"-A -t 10.0.0.1:80 -s sh -b sh-port", "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1",
		"-a -t 10.0.0.1:80 -r [2001:db8::4]:80 -i -w 1 --tun-type ipip", "-A -t 10.0.0.5:0 -s wlc -p 60 -M 255.255.255.0",
		"-a -t 10.0.0.5:0 -r 10.0.0.6:0 -m -w 1", "-A -t 10.0.0.20:80 -s rr", "-A -t 10.0.0.21:80 -s wlc -p 360"} {
		if !strings.Contains(want, line+"\n") {
			t.Errorf("ipvsadm -Sn has no line %q:\n%s", line, want)
		}
	}
	if strings.Contains(want, "10.0.0.23") || strings.Contains(want, "10.0.0.9:") {
		t.Errorf("a line after the refused one, or a refused line, was applied:\n%s", want)
	}
}
