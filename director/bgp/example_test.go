package bgp_test

import (
	"context"
	"log"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/bgp"
)

// A director that announces its VIP to the router in front of it, through
// its Run: announced once the first apply succeeded, withdrawn while the
// service is below quorum, on Drain and on Teardown. The process runs in
// the director's network namespace.
func Example() {
	ctx := context.Background()
	cfg, err := director.Load("/etc/lvs/director.yaml") // with a cluster: {announce, bgp} section
	if err != nil {
		log.Fatal(err)
	}
	sp, err := bgp.New(ctx, cfg.Config().Cluster.BGP, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sp.Close() // ends the sessions: the routers withdraw at once
	d, err := director.New(&director.Options{Announcer: sp})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	if err := d.Run(ctx, cfg, nil, nil); err != nil {
		log.Fatal(err)
	}
}

// The speaker alone: announce a prefix to one router, look at the session.
func ExampleNew() {
	ctx := context.Background()
	sp, err := bgp.New(ctx, &director.BGP{
		LocalASN: 65001, RouterID: netip.MustParseAddr("192.168.100.11"), NextHop: netip.MustParseAddr("192.168.100.11"),
		Peers: []director.BGPPeer{{Address: netip.MustParseAddr("192.168.100.1"), ASN: 65000, HoldTime: 9 * time.Second}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Announce(ctx, netip.MustParsePrefix("10.0.0.100/32")); err != nil {
		log.Fatal(err)
	}
	peers, err := sp.Peers(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range peers {
		log.Printf("%v: %s since %v", p.Address, p.State, p.Since)
	}
}
