package bgp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// speakerArg makes the test binary a speaker process (runSpeaker) instead
// of the tests: GoBGP's sockets belong to its process's namespace, so each
// director's speaker is a process started in the director's namespace.
const speakerArg = "bgp-speaker"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == speakerArg {
		os.Exit(runSpeaker(os.Args[2], os.Stdin, os.Stdout))
	}
	vmtest.Main(m, vmtest.Config{Modules: []string{"veth", "bridge"}, Programs: []string{birdPath}})
}

const birdPath = "/usr/sbin/bird"

// runSpeaker runs a Speaker of the JSON configuration cfg, taking commands
// from in ("announce P", "withdraw P", "peers", "close"), each answered
// on out by one line: "ok", a JSON value, or "error ...".
func runSpeaker(cfg string, in io.Reader, out io.Writer) int {
	var c director.BGP
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(out, "error", err)
		return 2
	}
	ctx := context.Background()
	sp, err := New(ctx, &c, nil)
	if err != nil {
		fmt.Fprintln(out, "error", err)
		return 1
	}
	fmt.Fprintln(out, "ok")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(sc.Text(), " ")
		var err error
		switch verb {
		case "announce", "withdraw":
			var p netip.Prefix
			if p, err = netip.ParsePrefix(arg); err == nil && verb == "announce" {
				err = sp.Announce(ctx, p)
			} else if err == nil {
				err = sp.Withdraw(ctx, p)
			}
		case "peers":
			var ps []director.Peer
			if ps, err = sp.Peers(ctx); err == nil {
				b, _ := json.Marshal(ps)
				fmt.Fprintln(out, string(b))
				continue
			}
		case "close":
			err = sp.Close()
		default:
			err = fmt.Errorf("unknown command %q", verb)
		}
		if err != nil {
			fmt.Fprintln(out, "error", err)
		} else {
			fmt.Fprintln(out, "ok")
		}
	}
	return 0
}

// speaker is a speaker process the test drives.
type speaker struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startSpeaker starts a speaker process in the namespace ns.
func startSpeaker(t *testing.T, ns int, cfg director.BGP) *speaker {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(self, speakerArg, string(b))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := netnsx.Do(ns, cmd.Start); err != nil {
		t.Fatal(err)
	}
	s := &speaker{t: t, cmd: cmd, in: in, out: bufio.NewScanner(outp)}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	if got := s.line(); got != "ok" {
		t.Fatalf("speaker: %s", got)
	}
	return s
}

func (s *speaker) line() string {
	s.t.Helper()
	if !s.out.Scan() {
		s.t.Fatalf("speaker: no answer (%v)", s.out.Err())
	}
	return s.out.Text()
}

// do sends a command and fails the test unless it is answered "ok".
func (s *speaker) do(cmd string) {
	s.t.Helper()
	fmt.Fprintln(s.in, cmd)
	if got := s.line(); got != "ok" {
		s.t.Fatalf("speaker %s: %s", cmd, got)
	}
}

func (s *speaker) peers() []director.Peer {
	s.t.Helper()
	fmt.Fprintln(s.in, "peers")
	var ps []director.Peer
	if err := json.Unmarshal([]byte(s.line()), &ps); err != nil {
		s.t.Fatal(err)
	}
	return ps
}

const birdConf = `
router id 192.168.100.1;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
template bgp dirs {
	local 192.168.100.1 as 65000;
	ipv4 { import all; export none; };
	hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
}
protocol bgp d1 from dirs { neighbor 192.168.100.2 as 65001; }
protocol bgp d2 from dirs { neighbor 192.168.100.3 as 65001; }
`

// startBird runs bird with the configuration text in the namespace ns
// until the test ends.
func startBird(t *testing.T, ns int, text string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(birdPath, "-f", "-c", conf, "-s", filepath.Join(dir, "bird.ctl"), "-P", filepath.Join(dir, "bird.pid"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := netnsx.Do(ns, cmd.Start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
}

// nextHops returns the gateways of the router's route to p in its main
// table, none if it has no route.
func nextHops(t *testing.T, ns int, p netip.Prefix) []netip.Addr {
	t.Helper()
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	routes, err := c.Route.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, r := range routes {
		if r.Family != unix.AF_INET || int(r.DstLength) != p.Bits() || r.Table != unix.RT_TABLE_MAIN {
			continue
		}
		if a, ok := netip.AddrFromSlice(r.Attributes.Dst); !ok || a.Unmap() != p.Addr() {
			continue
		}
		if g, ok := netip.AddrFromSlice(r.Attributes.Gateway); ok {
			out = append(out, g.Unmap())
		}
		for _, nh := range r.Attributes.Multipath {
			if g, ok := netip.AddrFromSlice(nh.Gateway); ok {
				out = append(out, g.Unmap())
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// waitHops waits until the router's route to p goes through exactly want,
// and returns how long that took.
func waitHops(t *testing.T, ns int, p netip.Prefix, d time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	var got []netip.Addr
	for time.Since(start) < d {
		got = nextHops(t, ns, p)
		if strings.Join(strs(got), ",") == strings.Join(want, ",") {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the router's route to %v goes through %v, not %v, after %v", p, got, want, d)
	return 0
}

func strs(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// birdLab builds a router and two directors, d1 (192.168.100.2) and d2
// (.3), on one LAN with the router (.1), which runs bird with conf; it
// returns the lab and the router's namespace.
func birdLab(t *testing.T, conf string) (*lab.Lab, int) {
	t.Helper()
	vmtest.Require(t, "veth", "bridge")
	if _, err := os.Stat(birdPath); err != nil {
		t.Skipf("no bird2 (scripts/install-deps.sh installs it): %v", err)
	}
	l := labtest.Build(t, lab.Spec{
		Hosts: []lab.HostSpec{{Name: "router"}, {Name: "d1"}, {Name: "d2"}},
		Bridges: []lab.BridgeSpec{{Name: "lan", Ports: []lab.PortSpec{
			{Host: "router", If: "eth0", CIDR: "192.168.100.1/24"},
			{Host: "d1", If: "eth0", CIDR: "192.168.100.2/24"},
			{Host: "d2", If: "eth0", CIDR: "192.168.100.3/24"},
		}}},
	})
	router := int(labtest.Host(t, l, "router").NS())
	startBird(t, router, conf)
	return l, router
}

// TestBirdRouter: two directors' speakers against a real bird2 router in
// its own namespace, whose kernel table shows what BGP did: an announced
// VIP gets a route through the director, two directors announcing it one
// route with both as next hops (ECMP), a withdraw or a Close takes a
// director out at once, a director whose speaker freezes is taken out by
// bird's hold timer (3 s), one killed at once (its kernel closes the
// session), and a director announcing a worse MED is only a backup.
func TestBirdRouter(t *testing.T) {
	l, router := birdLab(t, birdConf)
	vip := netip.MustParsePrefix("10.0.0.100/32")
	cfg := func(self string, med uint32) director.BGP {
		a := netip.MustParseAddr(self)
		return director.BGP{LocalASN: 65001, RouterID: a, NextHop: a, MED: med, Peers: []director.BGPPeer{
			{Address: netip.MustParseAddr("192.168.100.1"), ASN: 65000, HoldTime: 3 * time.Second, ConnectRetry: time.Second}}}
	}
	d1 := startSpeaker(t, int(labtest.Host(t, l, "d1").NS()), cfg("192.168.100.2", 0))
	d2 := startSpeaker(t, int(labtest.Host(t, l, "d2").NS()), cfg("192.168.100.3", 0))

	d1.do("announce " + vip.String())
	took := waitHops(t, router, vip, 30*time.Second, "192.168.100.2")
	t.Logf("announced by d1: a route through d1 after %v", took)
	if ps := d1.peers(); len(ps) != 1 || !ps[0].Established || ps[0].State != "established" || ps[0].Since.IsZero() {
		t.Errorf("d1's peers %+v, want the router established", ps)
	}
	d2.do("announce " + vip.String())
	took = waitHops(t, router, vip, 30*time.Second, "192.168.100.2", "192.168.100.3")
	t.Logf("announced by d1 and d2: one route, both next hops, after %v", took)

	d2.do("withdraw " + vip.String())
	t.Logf("d2 withdrew: d1 alone after %v", waitHops(t, router, vip, 10*time.Second, "192.168.100.2"))
	d2.do("announce " + vip.String())
	waitHops(t, router, vip, 10*time.Second, "192.168.100.2", "192.168.100.3")

	// Frozen: the session is silent, and bird's hold timer ends it.
	d2.cmd.Process.Signal(syscall.SIGSTOP)
	took = waitHops(t, router, vip, 10*time.Second, "192.168.100.2")
	t.Logf("d2 frozen: taken out by the hold timer (3 s) after %v", took)
	if took < 2*time.Second {
		t.Errorf("a frozen speaker was taken out after %v, before the hold timer could expire", took)
	}
	d2.cmd.Process.Signal(syscall.SIGCONT)
	waitHops(t, router, vip, 30*time.Second, "192.168.100.2", "192.168.100.3")

	// Killed: its kernel closes the connection, bird notices at once.
	d2.cmd.Process.Kill()
	d2.cmd.Wait()
	took = waitHops(t, router, vip, 10*time.Second, "192.168.100.2")
	t.Logf("d2 killed: taken out after %v", took)

	// A backup announces a higher MED: the router uses d1 alone, and d3
	// (in d2's namespace) only once d1 has gone.
	d3 := startSpeaker(t, int(labtest.Host(t, l, "d2").NS()), cfg("192.168.100.3", 100))
	d3.do("announce " + vip.String())
	time.Sleep(3 * time.Second) // the backup's session comes up; the route must not change
	if got := nextHops(t, router, vip); len(got) != 1 || got[0] != netip.MustParseAddr("192.168.100.2") {
		t.Errorf("with a backup announcing MED 100: next hops %v, want d1 alone", got)
	}
	d1.do("close")
	t.Logf("d1 closed: the backup carries the VIP after %v", waitHops(t, router, vip, 10*time.Second, "192.168.100.3"))
	d3.do("close")
	waitHops(t, router, vip, 10*time.Second)
}

// TestNewRefusesBadConfig: what a director.Config refuses, New refuses,
// before opening anything.
func TestNewRefusesBadConfig(t *testing.T) {
	_, err := New(context.Background(), &director.BGP{LocalASN: 65001, RouterID: netip.MustParseAddr("2001:db8::1")}, nil)
	if err == nil || !strings.Contains(err.Error(), "IPv4") {
		t.Errorf("IPv6 router id: %v", err)
	}
	if _, err := New(context.Background(), nil, nil); err == nil {
		t.Error("nil configuration accepted")
	}
}

// TestBirdPassword: sessions signed with TCP MD5 (RFC 2385): a speaker
// with the router's password gets its route in, one with another password
// gets no session at all.
func TestBirdPassword(t *testing.T) {
	l, router := birdLab(t, strings.ReplaceAll(birdConf, "as 65001; }", "as 65001; password \"s3cret\"; }"))
	vip := netip.MustParsePrefix("10.0.0.100/32")
	cfg := func(self, password string) director.BGP {
		a := netip.MustParseAddr(self)
		return director.BGP{LocalASN: 65001, RouterID: a, NextHop: a, Peers: []director.BGPPeer{
			{Address: netip.MustParseAddr("192.168.100.1"), ASN: 65000, HoldTime: 3 * time.Second, ConnectRetry: time.Second, Password: password}}}
	}
	good := startSpeaker(t, int(labtest.Host(t, l, "d1").NS()), cfg("192.168.100.2", "s3cret"))
	bad := startSpeaker(t, int(labtest.Host(t, l, "d2").NS()), cfg("192.168.100.3", "wrong"))
	good.do("announce " + vip.String())
	bad.do("announce " + vip.String())
	t.Logf("the signed session's route after %v", waitHops(t, router, vip, 30*time.Second, "192.168.100.2"))
	time.Sleep(4 * time.Second) // several connect retries of the wrongly signed one
	if got := nextHops(t, router, vip); len(got) != 1 {
		t.Errorf("next hops %v: the wrongly signed speaker got a route in", got)
	}
	if ps := bad.peers(); len(ps) != 1 || ps[0].Established {
		t.Errorf("the wrong password's session: %+v", ps)
	}
	if ps := good.peers(); len(ps) != 1 || !ps[0].Established {
		t.Errorf("the right password's session: %+v", ps)
	}
}
