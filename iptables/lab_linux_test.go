package iptables

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
)

// The note's lab 6 on a real IPVS kernel: the director marks TCP packets to
// the VIP 10.0.0.100 on ports 80 and 88 with mark 10, one firewall-mark
// service (ipvsadm -A -f 10 -s rr) sends them to rs1 and rs2 by direct
// routing (the note uses TUN; the marks do not care), and the client sees
// one rotation across both ports. The control half shows the test can tell:
// two per-port services give two interleaved rotations instead.

const vip = "10.0.0.100"

// lab6Topology is the DR lab with the VIP on the director, and on the real
// servers' lo with the ARP sysctls that keep them from answering for it.
func lab6Topology(t *testing.T) (client, director *lab.Host) {
	t.Helper()
	labtest.CheckNoLeaks(t)
	l := labtest.Build(t, lab.DR())
	director = labtest.Host(t, l, lab.Director)
	if err := director.AddAddr("lo", vip+"/32"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{lab.RS1, lab.RS2} {
		rs := labtest.Host(t, l, name)
		for _, kv := range [][2]string{
			{"net.ipv4.conf.all.arp_ignore", "1"}, {"net.ipv4.conf.all.arp_announce", "2"},
			{"net.ipv4.conf.eth0.arp_ignore", "1"}, {"net.ipv4.conf.eth0.arp_announce", "2"},
		} {
			if err := rs.Sysctl(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := rs.AddAddr("lo", vip+"/32"); err != nil {
			t.Fatal(err)
		}
	}
	return labtest.Host(t, l, lab.Client), director
}

// fetch requests the VIP on each port in turn and returns who answered.
func fetch(t *testing.T, client *lab.Host, ports ...int) []string {
	t.Helper()
	var got []string
	for _, p := range ports {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := client.Get(ctx, "http://"+netip.AddrPortFrom(netip.MustParseAddr(vip), uint16(p)).String()+"/")
		cancel()
		if err != nil {
			t.Fatalf("GET :%d: %v (so far %v)", p, err, got)
		}
		got = append(got, body)
	}
	return got
}

// alternates reports whether every answer differs from the one before.
func alternates(got []string) bool {
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			return false
		}
	}
	return true
}

func addDestinations(t *testing.T, c *ipvs.Client, svc ipvs.Service, port uint16) {
	t.Helper()
	for _, rs := range []string{"10.0.0.110", "10.0.0.120"} {
		d := ipvs.Destination{Addr: netip.AddrPortFrom(netip.MustParseAddr(rs), port), Forward: ipvs.DirectRoute, Weight: 1}
		if err := c.CreateDestination(context.Background(), svc, d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLab6FirewallMark(t *testing.T) {
	vmtest.Require(t, labModules...)
	ctx := context.Background()
	client, director := lab6Topology(t)
	ns := int(director.NS())
	c, err := ipvs.New(&ipvs.Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fwm := ipvs.Service{FirewallMark: 10, Scheduler: ipvs.RoundRobin}
	if err := c.CreateService(ctx, fwm); err != nil {
		t.Fatal(err)
	}
	addDestinations(t, c, fwm, 0)

	// Without marks nothing reaches the service: the director itself has
	// nothing listening on the VIP.
	noMarks, cancel := context.WithTimeout(ctx, 2*time.Second)
	if body, err := client.Get(noMarks, "http://"+vip+"/"); err == nil {
		t.Fatalf("GET before marking = %q, want a refusal", body)
	}
	cancel()

	fw, err := New(&Config{NetNS: ns})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, fw, []Rule{lab6()}, true)

	// Port 80 is asked at positions 0 and 2: one rotation across both ports
	// gives the same answer there, a rotation per port cannot. And each real
	// server gets to answer on both ports.
	ports := []int{80, 88, 80, 88, 88, 80, 80, 88}
	got := fetch(t, client, ports...)
	t.Logf("FWM 10 rr, ports %v: %v", ports, got)
	if !alternates(got) {
		t.Fatalf("answers %v for ports %v: want one rotation across both ports", got, ports)
	}
	seen := map[string]bool{}
	for i, who := range got {
		seen[who+":"+strconv.Itoa(ports[i])] = true
	}
	for _, want := range []string{"rs1:80", "rs1:88", "rs2:80", "rs2:88"} {
		if !seen[want] {
			t.Fatalf("answers %v for ports %v: %s never answered", got, ports, want)
		}
	}
	dests, err := c.Destinations(ctx, fwm)
	if err != nil {
		t.Fatal(err)
	}
	// The connection entries count at once (Stats wait for the estimator).
	for _, d := range dests {
		if n := d.ActiveConns + d.InactiveConns; n != 4 {
			t.Errorf("destination %v: %d connections (%d active), want 4", d.Addr, n, d.ActiveConns)
		}
	}

	// Control: the marks gone and one service per port, the same requests
	// see two rotations, one per port.
	if err := fw.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []uint16{80, 88} {
		svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.AddrPortFrom(netip.MustParseAddr(vip), p), Scheduler: ipvs.RoundRobin}
		if err := c.CreateService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		addDestinations(t, c, svc, p)
	}
	got = fetch(t, client, ports...)
	t.Logf("two services rr, ports %v: %v", ports, got)
	if alternates(got) {
		t.Fatalf("answers %v for ports %v alternate with a service per port: the test cannot tell", got, ports)
	}
}
