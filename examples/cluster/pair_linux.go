package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lvs-go/lvs/internal/syncbuf"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/keepalived"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/netnsx"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/realserver"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"
)

// The pair lab is a keepalived site: one LAN, 10.0.0.0/24, with a client
// (10.0.0.2), two directors (10.0.0.11 and .12) and the real servers (DR).
// The director that is VRRP master holds the VIP on its eth0 and answers
// the client's ARP for it; the real servers answer the client directly.
const (
	pairClient = "10.0.0.2"
	pairVRID   = 51
	pairSyncID = 9
)

// pairIP is node i's address (i from 0).
func pairIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)}) }

// pairPriority is node i's VRRP priority: the first is the preferred
// master.
func pairPriority(i int) int { return 150 - 50*i }

// node is what runs on a pair node: keepalived or a director process.
type node struct {
	kind string // "keepalived" or "lvs-director"
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan error
}

// backupLine is what each daemon logs when its VRRP instance enters
// BACKUP: keepalived's, and runDirector's record of the director's event.
var backupLine = map[string]string{"keepalived": "Entering BACKUP STATE", "lvs-director": "-> BACKUP"}

// waitBackup waits until node i's VRRP instance is a backup, listening:
// a daemon applies its table before it starts VRRP, and a master's
// priority-0 advert sent before then would go unheard.
func (p *pair) waitBackup(ctx context.Context, i int) error {
	n := p.nodes[i]
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(n.out.String(), backupLine[n.kind]) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (%s) did not enter BACKUP in 30s%s", hostName(i), n.kind, p.logs())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// pair is a running pair lab.
type pair struct {
	lab    *lab.Lab
	dir    string
	client *lab.Host
	hosts  [2]*lab.Host
	nodes  [2]*node
	roles  []*realserver.Role
	// closers run when the pair closes, before the namespaces go.
	closers []func()
}

func buildPair(ctx context.Context) (*pair, error) {
	s := lab.Spec{
		Hosts:   []lab.HostSpec{{Name: "client"}},
		Bridges: []lab.BridgeSpec{{Name: "lan", Ports: []lab.PortSpec{{Host: "client", If: "eth0", CIDR: pairClient + "/24"}}}},
	}
	for i := range 2 {
		name := hostName(i)
		// The operator's sysctls of a keepalived pair with
		// lvs_sync_daemon: a connection is synced when it is set up and
		// again once a second while packets flow, so that a backup
		// started late learns the long-lived ones.
		s.Hosts = append(s.Hosts, lab.HostSpec{Name: name, Sysctls: []lab.SysctlSpec{
			{Key: "net.ipv4.vs.sync_threshold", Value: "2 0"},
			{Key: "net.ipv4.vs.sync_refresh_period", Value: "1"},
		}})
		s.Bridges[0].Ports = append(s.Bridges[0].Ports, lab.PortSpec{Host: name, If: "eth0", CIDR: pairIP(i).String() + "/24"})
	}
	for i, ip := range realIPs {
		name := fmt.Sprintf("rs%d", i+1)
		s.Hosts = append(s.Hosts, lab.HostSpec{Name: name})
		s.Bridges[0].Ports = append(s.Bridges[0].Ports, lab.PortSpec{Host: name, If: "eth0", CIDR: ip + "/24"})
	}
	l, err := lab.Build(s)
	if err != nil {
		return nil, err
	}
	p := &pair{lab: l, client: l.Host("client"), hosts: [2]*lab.Host{l.Host("d1"), l.Host("d2")}}
	if p.dir, err = os.MkdirTemp("", "lvs-pair-"); err != nil {
		p.close()
		return nil, err
	}
	c := &cluster{lab: l} // for serve
	for i := range realIPs {
		h := l.Host(fmt.Sprintf("rs%d", i+1))
		if err := c.serve(h); err != nil {
			p.close()
			return nil, err
		}
		r, err := realserver.Setup(ctx, &realserver.Config{Mode: realserver.DR, VIPs: []netip.Addr{vip}, NetNS: int(h.NS())})
		if err != nil {
			p.close()
			return nil, err
		}
		p.roles = append(p.roles, r)
	}
	p.pagesFrom(c)
	return p, nil
}

// pagesFrom keeps the servers c started, to close them with the pair.
func (p *pair) pagesFrom(c *cluster) {
	p.closers = append(p.closers, func() {
		for _, s := range c.pages {
			s.Close()
		}
	})
}

// keepalivedConf is node i's keepalived.conf: a VRRP instance holding
// the VIP (nopreempt, so that a node coming back does not take the VIP
// before it has the connections), the sync daemon following it, and the
// virtual server with a TCP check per real server.
func keepalivedConf(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global_defs {
	router_id %s
	lvs_sync_daemon eth0 VI_1 id %d
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id %d
	priority %d
	advert_int 1
	nopreempt
	virtual_ipaddress {
		%v/24 dev eth0
	}
}
virtual_server %v 80 {
	delay_loop 2
	lb_algo rr
	lb_kind DR
	protocol TCP
`, hostName(i), pairSyncID, pairVRID, pairPriority(i), vip, vip)
	for _, ip := range realIPs {
		fmt.Fprintf(&b, "\treal_server %s 80 {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 1\n\t\t}\n\t}\n", ip)
	}
	b.WriteString("}\n")
	return b.String()
}

// confPath writes node i's keepalived.conf and returns its path.
func (p *pair) confPath(i int) (string, error) {
	path := filepath.Join(p.dir, hostName(i)+".keepalived.conf")
	return path, os.WriteFile(path, []byte(keepalivedConf(i)), 0o600)
}

// startKeepalived runs keepalived (VRRP and checkers) on node i.
func (p *pair) startKeepalived(i int) error {
	conf, err := p.confPath(i)
	if err != nil {
		return err
	}
	pid := func(s string) string { return filepath.Join(p.dir, hostName(i)+"."+s+".pid") }
	cmd := exec.Command(keepalivedPath, "-n", "-l", "-D", "-f", conf, "-p", pid("keepalived"), "-c", pid("checkers"), "-r", pid("vrrp"))
	return p.start(i, "keepalived", cmd)
}

// startDirector runs a director process on node i from its keepalived.conf
// imported as `lvs-director -import` does.
func (p *pair) startDirector(i int) error {
	conf, err := p.confPath(i)
	if err != nil {
		return err
	}
	cfg, _, err := keepalived.ImportFile(conf, nil)
	if err != nil {
		return fmt.Errorf("import %s: %w", conf, err)
	}
	if _, err := director.Compile(cfg); err != nil {
		return fmt.Errorf("import %s: %w", conf, err)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	path := filepath.Join(p.dir, hostName(i)+".yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return p.start(i, "lvs-director", exec.Command(self, directorArg, path, filepath.Join(p.dir, hostName(i)+".state")))
}

func (p *pair) start(i int, kind string, cmd *exec.Cmd) error {
	if p.nodes[i] != nil {
		return fmt.Errorf("%s runs %s already", hostName(i), p.nodes[i].kind)
	}
	n := &node{kind: kind, cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = n.out, n.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := netnsx.Do(int(p.hosts[i].NS()), cmd.Start); err != nil {
		return fmt.Errorf("%s on %s: %w", kind, hostName(i), err)
	}
	go func() { n.done <- cmd.Wait() }()
	p.nodes[i] = n
	return nil
}

// stop ends what runs on node i with SIGTERM (a clean stop: priority 0
// sent) or SIGKILL, and waits for it.
func (p *pair) stop(i int, sig syscall.Signal) error {
	n := p.nodes[i]
	if n == nil {
		return nil
	}
	p.nodes[i] = nil
	syscall.Kill(-n.cmd.Process.Pid, sig)
	select {
	case <-n.done:
		return nil
	case <-time.After(20 * time.Second):
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
		return fmt.Errorf("%s on %s did not stop in 20s", n.kind, hostName(i))
	}
}

// holder is the node whose eth0 has the VIP: 0, 1, or -1 for none (or
// both: -2). A node whose link is down (killed) holds nothing the LAN
// sees.
func (p *pair) holder() (int, error) {
	who := -1
	for i, h := range p.hosts {
		has, err := hostHas(h, "eth0", vip)
		if err != nil {
			return 0, err
		}
		if has {
			if who >= 0 {
				return -2, nil
			}
			who = i
		}
	}
	return who, nil
}

// waitHolder waits until node i alone holds the VIP and returns how long
// that took.
func (p *pair) waitHolder(ctx context.Context, i int, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		who, err := p.holder()
		if err != nil {
			return 0, err
		}
		if who == i {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s does not hold the VIP alone after %v (holder %d)%s", hostName(i), limit, who, p.logs())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logs is what the nodes printed, for a failure.
func (p *pair) logs() string {
	var b strings.Builder
	for i, n := range p.nodes {
		if out := ""; n != nil {
			if out = n.out.String(); out == "" {
				continue
			}
			fmt.Fprintf(&b, "\n--- %s (%s):\n%s", hostName(i), n.kind, lastLines(out, 30))
		}
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hostHas reports whether h's link has addr and is up.
func hostHas(h *lab.Host, link string, addr netip.Addr) (bool, error) {
	var has bool
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(addr.AsSlice()) {
				has = ifi.Flags&net.FlagUp != 0
			}
		}
		return nil
	})
	return has, err
}

// macOf is h's eth0 hardware address.
func macOf(h *lab.Host) (net.HardwareAddr, error) {
	var mac net.HardwareAddr
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err == nil {
			mac = ifi.HardwareAddr
		}
		return err
	})
	return mac, err
}

// neighbour is the client's neighbour entry for the VIP (nil if none).
func (p *pair) neighbour() (net.HardwareAddr, error) {
	var mac net.HardwareAddr
	err := p.client.Do(func() error {
		conn, err := rtnetlink.Dial(&netlink.Config{})
		if err != nil {
			return err
		}
		defer conn.Close()
		ns, err := conn.Neigh.List()
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.Attributes == nil || n.Family != unix.AF_INET {
				continue
			}
			if a, ok := netip.AddrFromSlice(n.Attributes.Address); ok && a.Unmap() == vip {
				mac = n.Attributes.LLAddress
			}
		}
		return nil
	})
	return mac, err
}

// synced counts the flows node i's connection table has, bound to the
// flow's real server.
func (p *pair) synced(ctx context.Context, i int, fs []*flow) (int, error) {
	c, err := ipvs.New(&ipvs.Config{NetNS: int(p.hosts[i].NS())})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	conns, err := c.Connections(ctx)
	if err != nil {
		return 0, err
	}
	have := map[netip.AddrPort]netip.Addr{}
	for _, cn := range conns {
		if cn.Virtual.Addr() == vip && cn.State == "ESTABLISHED" {
			have[cn.Client] = cn.Destination.Addr()
		}
	}
	n := 0
	for _, f := range fs {
		if d, ok := have[f.local]; ok && d.String() == rsIP(f.rs) {
			n++
		}
	}
	return n, nil
}

// rsIP is the address of the real server that names itself rs ("rs2").
func rsIP(rs string) string {
	var i int
	if _, err := fmt.Sscanf(rs, "rs%d", &i); err != nil || i < 1 || i > len(realIPs) {
		return ""
	}
	return realIPs[i-1]
}

// waitSynced asks the flows (each request refreshes its entry on the
// master and so its sync message) until node i has every one of them.
func (p *pair) waitSynced(ctx context.Context, i int, fs []*flow) (outcome, error) {
	var total outcome
	deadline := time.Now().Add(40 * time.Second)
	for {
		o := ask(fs)
		total.same += o.same
		total.moved += o.moved
		total.broken += o.broken
		if o.moved+o.broken > 0 {
			return total, fmt.Errorf("while waiting for %s's sync daemon: %v", hostName(i), o)
		}
		n, err := p.synced(ctx, i, fs)
		if err != nil {
			return total, err
		}
		if n == len(fs) {
			return total, nil
		}
		if time.Now().After(deadline) {
			return total, fmt.Errorf("%s has %d of the %d flows after 40s%s", hostName(i), n, len(fs), p.logs())
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(700 * time.Millisecond):
		}
	}
}

// moreFlows opens n more flows, added to fs (closed with fs on failure).
func (p *pair) moreFlows(fs []*flow, n int) ([]*flow, error) {
	more, err := p.openPairFlows(n)
	if err != nil {
		return fs, fmt.Errorf("%w%s", err, p.logs())
	}
	return append(fs, more...), nil
}

// openPairFlows opens n keep-alive connections from the client to the VIP.
func (p *pair) openPairFlows(n int) ([]*flow, error) {
	return dialFlows(p.client, func(int) netip.Addr { return netip.MustParseAddr(pairClient) }, n)
}

func (p *pair) close() {
	for i := range p.nodes {
		p.stop(i, syscall.SIGTERM)
	}
	for _, r := range p.roles {
		r.Teardown(context.Background())
	}
	for _, c := range p.closers {
		c()
	}
	p.lab.Close()
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

var errNoKeepalived = errors.New("no keepalived (sh scripts/install-deps.sh installs it; it runs only in the VM guest)")

const keepalivedPath = "/usr/sbin/keepalived"
