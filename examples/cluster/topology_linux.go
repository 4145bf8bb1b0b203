package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
	"github.com/lvs-go/lvs/sysctl"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"
)

// The cluster's addresses: clients on 192.168.10.0/24 behind the router;
// the directors' LAN 192.168.100.0/24, where they talk BGP with the router;
// the backend LAN 10.0.0.0/24 with the directors, the real servers and the
// router (the real servers' way back to the clients: DR replies bypass
// the directors).
var (
	vip       = netip.MustParseAddr("10.0.0.100")
	vipPrefix = netip.PrefixFrom(vip, 32)
	routerLAN = netip.MustParseAddr("192.168.100.1")
	realIPs   = []string{"10.0.0.110", "10.0.0.120", "10.0.0.130"}
)

// directorIP is director i's address on the directors' LAN (i from 0).
func directorIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 168, 100, byte(11 + i)}) }

// options are a cluster's variations.
type options struct {
	directors int
	sync      bool     // run the sync daemons
	sloppy    bool     // keep sloppy TCP (a cluster's default); false sets it off
	meds      []uint32 // per director; none: all 0
}

// cluster is a running cluster lab.
type cluster struct {
	opts   options
	lab    *lab.Lab
	dir    string // temporary files
	bird   *exec.Cmd
	procs  []*exec.Cmd // the directors' processes, by index; nil once killed
	roles  []*realserver.Role
	pages  []*http.Server
	client *lab.Host
	router *lab.Host
}

func hostName(i int) string { return fmt.Sprintf("d%d", i+1) }

// build makes the topology, runs bird in the router, brings the real
// servers into the DR role, and starts the directors (processes of this
// program in their namespaces, each with its own BGP speaker).
func build(ctx context.Context, o options) (*cluster, error) {
	s := lab.Spec{
		Hosts: []lab.HostSpec{
			{Name: "client", Routes: []lab.RouteSpec{{Dst: "default", Via: "192.168.10.1"}}},
			{Name: "router", Sysctls: []lab.SysctlSpec{{Key: "net.ipv4.ip_forward", Value: "1"},
				{Key: "net.ipv4.fib_multipath_hash_policy", Value: "1"}}},
		},
		Links:   []lab.LinkSpec{{A: lab.PortSpec{Host: "client", If: "eth0", CIDR: "192.168.10.100/24"}, B: lab.PortSpec{Host: "router", If: "eth0", CIDR: "192.168.10.1/24"}}},
		Bridges: []lab.BridgeSpec{{Name: "dlan", Ports: []lab.PortSpec{{Host: "router", If: "eth1", CIDR: routerLAN.String() + "/24"}}}, {Name: "backend", Ports: []lab.PortSpec{{Host: "router", If: "eth2", CIDR: "10.0.0.1/24"}}}},
	}
	// Clients come from many addresses.
	for i := 101; i < 200; i++ {
		s.Hosts[0].Addrs = append(s.Hosts[0].Addrs, lab.AddrSpec{If: "eth0", CIDR: fmt.Sprintf("192.168.10.%d/24", i)})
	}
	for i := range o.directors {
		name := hostName(i)
		s.Hosts = append(s.Hosts, lab.HostSpec{Name: name, Routes: []lab.RouteSpec{{Dst: "default", Via: routerLAN.String()}}})
		s.Bridges[0].Ports = append(s.Bridges[0].Ports, lab.PortSpec{Host: name, If: "eth0", CIDR: directorIP(i).String() + "/24"})
		s.Bridges[1].Ports = append(s.Bridges[1].Ports, lab.PortSpec{Host: name, If: "eth1", CIDR: fmt.Sprintf("10.0.0.%d/24", 11+i)})
	}
	for i, ip := range realIPs {
		name := fmt.Sprintf("rs%d", i+1)
		s.Hosts = append(s.Hosts, lab.HostSpec{Name: name, Routes: []lab.RouteSpec{{Dst: "default", Via: "10.0.0.1"}}})
		s.Bridges[1].Ports = append(s.Bridges[1].Ports, lab.PortSpec{Host: name, If: "eth0", CIDR: ip + "/24"})
	}
	l, err := lab.Build(s)
	if err != nil {
		return nil, err
	}
	c := &cluster{opts: o, lab: l, client: l.Host("client"), router: l.Host("router")}
	if c.dir, err = os.MkdirTemp("", "lvs-cluster-"); err != nil {
		c.close()
		return nil, err
	}
	for i := range realIPs {
		if err := c.serve(l.Host(fmt.Sprintf("rs%d", i+1))); err != nil {
			c.close()
			return nil, err
		}
		r, err := realserver.Setup(ctx, &realserver.Config{Mode: realserver.DR, VIPs: []netip.Addr{vip}, NetNS: int(l.Host(fmt.Sprintf("rs%d", i+1)).NS())})
		if err != nil {
			c.close()
			return nil, err
		}
		c.roles = append(c.roles, r)
	}
	if err := c.startBird(); err != nil {
		c.close()
		return nil, err
	}
	c.procs = make([]*exec.Cmd, o.directors)
	for i := range o.directors {
		if err := c.startDirector(i); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// serve runs h's page, its name, on port 80, keeping idle connections a
// long time: the flows are long-lived keep-alive connections.
func (c *cluster) serve(h *lab.Host) error {
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp", ":80"); return }); err != nil {
		return err
	}
	name := h.Name()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	c.pages = append(c.pages, srv)
	go srv.Serve(ln)
	return nil
}

// config is director i's configuration.
func (c *cluster) config(i int) *director.Config {
	var med uint32
	if i < len(c.opts.meds) {
		med = c.opts.meds[i]
	}
	cfg := &director.Config{
		VIPs: []director.VIP{{Address: vip}},
		Cluster: &director.Cluster{
			Announce: []netip.Prefix{vipPrefix},
			BGP: &director.BGP{LocalASN: 65001, RouterID: directorIP(i), NextHop: directorIP(i), MED: med,
				Peers: []director.BGPPeer{{Address: routerLAN, ASN: 65000, HoldTime: 3 * time.Second, ConnectRetry: time.Second}}},
		},
		Services: []director.VirtualService{{Name: "web", Protocol: ipvs.TCP, Address: netip.AddrPortFrom(vip, 80),
			Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHFallback,
			Check: &director.Check{Spec: &check.TCP{}, Interval: time.Second, Timeout: time.Second}}},
		Sysctls: map[sysctl.Key]string{},
	}
	for _, ip := range realIPs {
		cfg.Services[0].RealServers = append(cfg.Services[0].RealServers,
			director.RealServer{Address: netip.AddrPortFrom(netip.MustParseAddr(ip), 80), Forward: ipvs.DirectRoute, Weight: 1})
	}
	if c.opts.sync {
		// A connection is synced from its second packet on, not its third.
		cfg.Cluster.Sync = &director.Sync{Interface: "eth1", SyncID: 9}
		cfg.Sysctls["net.ipv4.vs.sync_threshold"] = "2 50"
	}
	if !c.opts.sloppy {
		cfg.Sysctls[sysctl.VSSloppyTCP] = "0"
	}
	return cfg
}

// startDirector runs director i: this program in its namespace, reading
// its configuration from a file (see runDirector).
func (c *cluster) startDirector(i int) error {
	b, err := yaml.Marshal(c.config(i))
	if err != nil {
		return err
	}
	path := filepath.Join(c.dir, hostName(i)+".yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, directorArg, path, filepath.Join(c.dir, hostName(i)+".state"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := netnsx.Do(int(c.lab.Host(hostName(i)).NS()), cmd.Start); err != nil {
		return err
	}
	c.procs[i] = cmd
	return nil
}

const birdPath = "/usr/sbin/bird"

// startBird runs bird in the router with one BGP session per director,
// installing one route with a next hop per director announcing the VIP.
func (c *cluster) startBird() error {
	var b strings.Builder
	fmt.Fprintf(&b, `router id %v;
protocol device { scan time 1; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
template bgp dirs {
	local %v as 65000;
	ipv4 { import all; export none; };
	hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
}
`, routerLAN, routerLAN)
	for i := range c.opts.directors {
		fmt.Fprintf(&b, "protocol bgp %s from dirs { neighbor %v as 65001; }\n", hostName(i), directorIP(i))
	}
	conf := filepath.Join(c.dir, "bird.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		return err
	}
	c.bird = exec.Command(birdPath, "-f", "-c", conf, "-s", filepath.Join(c.dir, "bird.ctl"), "-P", filepath.Join(c.dir, "bird.pid"))
	return netnsx.Do(int(c.router.NS()), c.bird.Start)
}

// kill ends director i as a crash would: SIGKILL, and its link to the
// router down.
func (c *cluster) kill(i int) error {
	p := c.procs[i]
	if p == nil {
		return nil
	}
	p.Process.Kill()
	p.Wait()
	c.procs[i] = nil
	return c.lab.Host(hostName(i)).Do(setLink("eth0", false))
}

// nextHops are the router's next hops to the VIP.
func (c *cluster) nextHops() ([]netip.Addr, error) {
	var out []netip.Addr
	err := c.router.Do(func() error {
		conn, err := rtnetlink.Dial(&netlink.Config{})
		if err != nil {
			return err
		}
		defer conn.Close()
		routes, err := conn.Route.List()
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Family != unix.AF_INET || r.DstLength != 32 || r.Table != unix.RT_TABLE_MAIN {
				continue
			}
			if a, ok := netip.AddrFromSlice(r.Attributes.Dst); !ok || a.Unmap() != vip {
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
		return nil
	})
	return out, err
}

// waitHops waits until the router reaches the VIP through n directors and
// returns how long that took.
func (c *cluster) waitHops(ctx context.Context, n int) (time.Duration, error) {
	start := time.Now()
	for {
		hops, err := c.nextHops()
		if err != nil {
			return 0, err
		}
		if len(hops) == n {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the router has %d next hops to the VIP, not %d: %w", len(hops), n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// close stops everything and frees the namespaces.
func (c *cluster) close() {
	for _, p := range c.procs {
		if p != nil {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}
	if c.bird != nil {
		c.bird.Process.Signal(syscall.SIGTERM)
		c.bird.Wait()
	}
	for _, r := range c.roles {
		r.Teardown(context.Background())
	}
	for _, p := range c.pages {
		p.Close()
	}
	c.lab.Close()
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// setLink sets the link name up or down, in the namespace it runs in.
func setLink(name string, up bool) func() error {
	return func() error {
		conn, err := rtnetlink.Dial(&netlink.Config{})
		if err != nil {
			return err
		}
		defer conn.Close()
		l, err := conn.Link.List()
		if err != nil {
			return err
		}
		var flags uint32
		if up {
			flags = unix.IFF_UP
		}
		for _, m := range l {
			if m.Attributes != nil && m.Attributes.Name == name {
				return conn.Link.Set(&rtnetlink.LinkMessage{Family: m.Family, Type: m.Type, Index: m.Index, Flags: flags, Change: unix.IFF_UP})
			}
		}
		return fmt.Errorf("no %s", name)
	}
}
