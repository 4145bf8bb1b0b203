//go:build linux

package lab_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/mdlayher/netlink"
)

// mustGet fetches url from h and fails t unless the body is want.
func mustGet(t *testing.T, h *lab.Host, url, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := h.Get(ctx, url)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", h.Name(), url, err)
	}
	if got != want {
		t.Fatalf("%s: GET %s = %q, want %q", h.Name(), url, got, want)
	}
}

// mustFail fetches url from h and fails t if it succeeds.
func mustFail(t *testing.T, h *lab.Host, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if got, err := h.Get(ctx, url); err == nil {
		t.Fatalf("%s: GET %s = %q, want an error", h.Name(), url, got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// routed builds client 10.1.0.2 - 10.1.0.1 router 10.2.0.1 - 10.2.0.2 server,
// with a page "server" on the server's :80.
func routed(t *testing.T) (l *lab.Lab, client, router, server *lab.Host) {
	t.Helper()
	labtest.CheckNoLeaks(t)
	l = labtest.New(t)
	hosts := make([]*lab.Host, 3)
	for i, name := range []string{"client", "router", "server"} {
		h, err := l.NewHost(name)
		must(t, err)
		hosts[i] = h
	}
	client, router, server = hosts[0], hosts[1], hosts[2]
	must(t, l.Link(lab.Port{Host: client, If: "eth0", CIDR: "10.1.0.2/24"}, lab.Port{Host: router, If: "eth0", CIDR: "10.1.0.1/24"}))
	must(t, l.Link(lab.Port{Host: router, If: "eth1", CIDR: "10.2.0.1/24"}, lab.Port{Host: server, If: "eth0", CIDR: "10.2.0.2/24"}))
	must(t, client.Route("default", "10.1.0.1"))
	must(t, server.Route("10.1.0.0/24", "10.2.0.1"))
	must(t, server.Serve(context.Background(), ":80", "server"))
	return l, client, router, server
}

func TestRoutedHTTPNeedsForwarding(t *testing.T) {
	_, client, router, _ := routed(t)
	mustGet(t, router, "http://10.2.0.2/", "server") // directly connected
	must(t, router.Sysctl("net.ipv4.ip_forward", "0"))
	mustFail(t, client, "http://10.2.0.2/")
	must(t, router.Sysctl("net.ipv4.ip_forward", "1"))
	mustGet(t, client, "http://10.2.0.2/", "server")
	if v, err := router.ReadSysctl("net/ipv4/conf/eth1/forwarding"); err != nil || v != "1" {
		t.Fatalf("router eth1 forwarding = %q, %v; want 1", v, err)
	}
}

func TestSysctlIsPerNamespace(t *testing.T) {
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	_, client, router, _ := routed(t)
	for _, h := range []*lab.Host{client, router} {
		for _, key := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.arp_ignore"} {
			if v, err := h.ReadSysctl(key); err != nil || v != "0" {
				t.Fatalf("%s: fresh %s = %q, %v; want the kernel default 0", h.Name(), key, v, err)
			}
		}
	}
	must(t, router.Sysctl("net.ipv4.ip_forward", "1"))
	if v, _ := client.ReadSysctl("net.ipv4.ip_forward"); v != "0" {
		t.Fatalf("client ip_forward = %q after setting the router's, want 0", v)
	}
	after, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	must(t, err)
	if string(after) != string(host) {
		t.Fatalf("host ip_forward changed: %q -> %q", host, after)
	}
	if err := client.Sysctl("net.ipv4.no_such_key", "1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Sysctl(missing key) = %v, want ErrNotExist", err)
	}
}

func TestGetOpensOneConnectionPerRequest(t *testing.T) {
	l := labtest.New(t)
	a, err := l.NewHost("a")
	must(t, err)
	b, err := l.NewHost("b")
	must(t, err)
	must(t, l.Link(lab.Port{Host: a, If: "eth0", CIDR: "10.3.0.1/24"}, lab.Port{Host: b, If: "eth0", CIDR: "10.3.0.2/24"}))

	var ln net.Listener
	must(t, b.Do(func() error { ln, err = net.Listen("tcp", "10.3.0.2:8080"); return err }))
	var conns atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "b") }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for range 3 {
		mustGet(t, a, "http://10.3.0.2:8080/", "b")
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("3 requests opened %d connections, want 3", n)
	}
	// Names are never resolved.
	if _, err := a.Get(context.Background(), "http://localhost:8080/"); err == nil || !strings.Contains(err.Error(), "must be an IP address") {
		t.Fatalf("Get(name) = %v, want a refusal to resolve", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	l := labtest.New(t)
	a, err := l.NewHost("a")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	must(t, a.Serve(ctx, "127.0.0.1:80", "a"))
	mustGet(t, a, "http://127.0.0.1/", "a")
	if err := a.Serve(context.Background(), "127.0.0.1:80", "again"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Serve on the port = %v, want EADDRINUSE", err)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := a.Get(context.Background(), "http://127.0.0.1/")
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET after cancel = %v, want connection refused", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBridgeJoinsOneSegment(t *testing.T) {
	labtest.CheckNoLeaks(t)
	l := labtest.New(t)
	var ports []lab.Port
	for i, name := range []string{"h1", "h2", "h3"} {
		h, err := l.NewHost(name)
		must(t, err)
		must(t, h.Serve(context.Background(), ":80", name))
		ports = append(ports, lab.Port{Host: h, If: "eth0", CIDR: fmt.Sprintf("10.4.0.%d/24", i+1)})
	}
	sw, err := l.Bridge("br0", ports...)
	must(t, err)
	if l.Host("br0") != sw {
		t.Fatal("Host(bridge name) is not the bridge's host")
	}
	for _, from := range ports {
		for j, to := range ports {
			mustGet(t, from.Host, fmt.Sprintf("http://10.4.0.%d/", j+1), to.Host.Name())
		}
	}

	// The bridge namespace holds the bridge and one port per host, enslaved
	// to it and up, and nothing else; NS() opens sockets there.
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: int(sw.NS())})
	must(t, err)
	defer c.Close()
	links, err := c.Link.List()
	must(t, err)
	var br uint32
	for _, m := range links {
		if m.Attributes.Name == "br0" {
			br = m.Index
		}
	}
	got := map[string]bool{}
	for _, m := range links {
		switch name := m.Attributes.Name; name {
		case "lo", "br0":
		default:
			if m.Attributes.Master == nil || *m.Attributes.Master != br || m.Flags&syscall.IFF_UP == 0 {
				t.Errorf("bridge port %s: master %v up %v, want master %d and up", name, m.Attributes.Master, m.Flags&syscall.IFF_UP != 0, br)
			}
			got[name] = true
		}
	}
	if len(got) != 3 || !got["h1-eth0"] || !got["h2-eth0"] || !got["h3-eth0"] {
		t.Fatalf("bridge ports = %v, want h1-eth0, h2-eth0, h3-eth0", got)
	}
}

func TestDR(t *testing.T) {
	l := labtest.Build(t, lab.DR())
	client := labtest.Host(t, l, lab.Client)
	director := labtest.Host(t, l, lab.Director)
	for _, port := range []string{"", ":88"} {
		mustGet(t, client, "http://10.0.0.110"+port+"/", "rs1") // through the router and the bridge
		mustGet(t, client, "http://10.0.0.120"+port+"/", "rs2")
	}
	mustGet(t, director, "http://10.0.0.110/", "rs1") // same segment
	if v, err := labtest.Host(t, l, lab.Router).ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "1" {
		t.Fatalf("router ip_forward = %q, %v; want 1", v, err)
	}
	if v, err := director.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "0" {
		t.Fatalf("director ip_forward = %q, %v; want 0", v, err)
	}
	// No VIP anywhere: the lab does not answer on 10.0.0.100.
	mustFail(t, client, "http://10.0.0.100/")
}

// TestDR6: the IPv6 twin of DR forwards between the client and the real
// servers through the router, on both pages.
func TestDR6(t *testing.T) {
	l := labtest.Build(t, lab.DR6())
	client := labtest.Host(t, l, lab.Client)
	// On a fresh topology the first request waits for neighbour discovery
	// at the client and at the router, which can take longer than the
	// lab's 2 s to connect: give it a few tries.
	for start := time.Now(); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := client.Get(ctx, "http://[fd00:1::110]/")
		cancel()
		if err == nil {
			break
		}
		if time.Since(start) > 8*time.Second {
			t.Fatalf("the client never reached rs1: %v", err)
		}
	}
	for _, port := range []string{"", ":88"} {
		mustGet(t, client, "http://[fd00:1::110]"+port+"/", "rs1")
		mustGet(t, client, "http://[fd00:1::120]"+port+"/", "rs2")
	}
	mustGet(t, labtest.Host(t, l, lab.Director), "http://[fd00:1::120]/", "rs2")
	if v, err := labtest.Host(t, l, lab.Router).ReadSysctl("net.ipv6.conf.all.forwarding"); err != nil || v != "1" {
		t.Fatalf("router IPv6 forwarding = %q, %v; want 1", v, err)
	}
	mustFail(t, client, "http://[2001:db8::100]/")
}

func TestDRMultiSegment(t *testing.T) {
	l := labtest.Build(t, lab.DRMultiSegment())
	var addrs []string
	must(t, labtest.Host(t, l, lab.Router).Do(func() error {
		ifc, err := net.InterfaceByName("eth1")
		if err != nil {
			return err
		}
		as, err := ifc.Addrs()
		for _, a := range as {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				addrs = append(addrs, a.String())
			}
		}
		return err
	}))
	if strings.Join(addrs, " ") != "10.0.0.200/24 172.16.0.200/24" {
		t.Fatalf("router eth1 addresses = %v, want 10.0.0.200/24 172.16.0.200/24", addrs)
	}
	mustGet(t, labtest.Host(t, l, lab.Client), "http://10.0.0.120/", "rs2")
}

func TestNAT(t *testing.T) {
	l := labtest.Build(t, lab.NAT())
	client := labtest.Host(t, l, lab.Client)
	director := labtest.Host(t, l, lab.Director)
	mustGet(t, director, "http://10.0.0.110/", "rs1")
	mustGet(t, director, "http://10.0.0.120:88/", "rs2")
	// The builder leaves the director's forwarding to the SDK: the client
	// reaches the real servers only once it is on, and the real servers
	// answer through their gateway, the director.
	mustFail(t, client, "http://10.0.0.110/")
	must(t, director.Sysctl("net.ipv4.ip_forward", "1"))
	mustGet(t, client, "http://10.0.0.110/", "rs1")
	mustGet(t, client, "http://10.0.0.120/", "rs2")
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	nstest.Privileged(t)
	before, err := labtest.Take()
	must(t, err)
	l, err := lab.Build(lab.DR())
	must(t, err)
	during, err := labtest.Take()
	must(t, err)
	if got, want := len(during.NetNS)-len(before.NetNS), 6; got != want { // five hosts and the bridge
		t.Errorf("lab holds %d namespaces, want %d", got, want)
	}
	if fmt.Sprint(during.Links) != fmt.Sprint(before.Links) {
		t.Errorf("host links changed while the lab runs: %v -> %v", before.Links, during.Links)
	}
	client := l.Host(lab.Client)
	mustGet(t, client, "http://10.0.0.110/", "rs1")

	must(t, l.Close())
	must(t, l.Close()) // idempotent
	if _, err := client.Get(context.Background(), "http://10.0.0.110/"); !errors.Is(err, lab.ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	for name, err := range map[string]error{
		"NewHost": func() error { _, err := l.NewHost("x"); return err }(),
		"Sysctl":  client.Sysctl("net.ipv4.ip_forward", "1"),
		"Route":   client.Route("default", "192.168.10.1"),
		"AddAddr": client.AddAddr("lo", "10.9.9.9/32"),
		"Serve":   client.Serve(context.Background(), ":80", "x"),
		"Do":      client.Do(func() error { return nil }),
	} {
		if !errors.Is(err, lab.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	waitSame(t, before)
}

func TestFailedBuildCleansUp(t *testing.T) {
	nstest.Privileged(t)
	before, err := labtest.Take()
	must(t, err)
	s := lab.DR()
	// The last step fails: a gateway on no connected network.
	s.Hosts = append(s.Hosts, lab.HostSpec{Name: "late", Routes: []lab.RouteSpec{{Dst: "default", Via: "10.99.0.1"}}})
	l, err := lab.Build(s)
	if err == nil {
		l.Close()
		t.Fatal("Build with an unreachable gateway succeeded")
	}
	if !errors.Is(err, syscall.ENETUNREACH) || !strings.Contains(err.Error(), "late") {
		t.Fatalf("Build error = %v, want ENETUNREACH naming host late", err)
	}
	waitSame(t, before)

	// A failure halfway through the imperative API: Close still frees all.
	l, err = lab.New()
	must(t, err)
	a, err := l.NewHost("a")
	must(t, err)
	must(t, a.Serve(context.Background(), ":80", "a"))
	if err := l.Link(lab.Port{Host: a, If: "eth0"}, lab.Port{Host: a, If: "eth0"}); err == nil {
		t.Fatal("Link with both ends named eth0 in one host succeeded")
	}
	if _, err := l.NewHost("a"); err == nil {
		t.Fatal("a second host called a was created")
	}
	must(t, l.Close())
	waitSame(t, before)
}

// waitSame fails t unless the process returns to the snapshot before.
func waitSame(t *testing.T, before labtest.Snapshot) {
	t.Helper()
	diff, err := before.Await(2 * time.Second)
	must(t, err)
	if diff != "" {
		t.Fatalf("left behind: %s", diff)
	}
}
