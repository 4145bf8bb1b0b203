package ipvs

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// TestStatsMoveWithTraffic sends a client's requests through the note's NAT
// lab (service 10.0.0.8:80, rr, two masqueraded real servers in their own
// namespaces) and checks the answers alternate and the counters move, then
// that ZeroService and ZeroAll reset them.
func TestStatsMoveWithTraffic(t *testing.T) {
	vmtest.Require(t, "ip_vs", "ip_vs_rr", "veth", "bridge")
	l := labtest.Build(t, lab.NAT())
	director := labtest.Host(t, l, lab.Director)
	if err := director.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	c, err := New(&Config{NetNS: int(director.NS())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"), Scheduler: RoundRobin}
	if err := c.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	for _, rip := range []string{"10.0.0.110:80", "10.0.0.120:80"} {
		if err := c.CreateDestination(ctx, svc, Destination{Addr: netip.MustParseAddrPort(rip), Forward: Masquerade, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	client := labtest.Host(t, l, lab.Client)
	var answers []string
	for i := 0; i < 4; i++ {
		body, err := client.Get(ctx, "http://10.0.0.8/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		answers = append(answers, body)
	}
	if answers[0] == answers[1] || answers[0] != answers[2] || answers[1] != answers[3] {
		t.Errorf("rr answers = %v, want alternating rs1/rs2", answers)
	}

	// Counters reach user space through the estimator, every 2 seconds.
	s := waitStats(t, c, svc, func(s Stats) bool { return s.Connections == 4 })
	if s.PacketsIn == 0 || s.PacketsOut == 0 || s.BytesIn == 0 || s.BytesOut == 0 {
		t.Errorf("service stats %+v: NAT sees both directions, want packets and bytes in and out", s)
	}
	ds, err := c.Destinations(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Stats.Connections != 2 {
			t.Errorf("destination %v: %d connections, want 2", d.Addr, d.Stats.Connections)
		}
		if d.ActiveConns+d.InactiveConns == 0 {
			t.Errorf("destination %v: no connections in the table after 2 requests", d.Addr)
		}
	}

	// The connection table holds the 4 connections (client to the VIP,
	// each to a real server), read whole and as an iterator that can stop.
	conns, err := c.Connections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	through := 0
	for _, cn := range conns {
		if cn.Virtual == svc.Addr && cn.Protocol == TCP {
			through++
		}
	}
	if through != 4 {
		t.Errorf("%d connections through %v in the table, want 4: %+v", through, svc.Addr, conns)
	}
	n := 0
	for _, err := range c.AllConnections(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("the iterator yielded %d before stopping, want 2", n)
	}

	if err := c.ZeroService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Service(ctx, svc); err != nil || got.Stats.Connections != 0 || got.Stats.PacketsIn != 0 {
		t.Errorf("after ZeroService: %+v, %v", got.Stats, err)
	}
	if _, err := client.Get(ctx, "http://10.0.0.8/"); err != nil {
		t.Fatal(err)
	}
	waitStats(t, c, svc, func(s Stats) bool { return s.Connections == 1 })
	if err := c.ZeroAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Service(ctx, svc); err != nil || got.Stats.Connections != 0 {
		t.Errorf("after ZeroAll: %+v, %v", got.Stats, err)
	}
}

func waitStats(t *testing.T, c *Client, svc Service, ok func(Stats) bool) Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		got, err := c.Service(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		if ok(got.Stats) {
			return got.Stats
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stats never reached the expected values: %+v", got.Stats)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
