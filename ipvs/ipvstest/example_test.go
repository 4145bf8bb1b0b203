package ipvstest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/netip"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// reconcile is the heart of a small controller: it makes svc exist and its
// destinations exactly want, in one batch. It takes an ipvs.API, so that
// *ipvs.Client runs it in production and a Fake in its tests. A destination
// is rewritten only if its configuration differs: what the kernel lists
// also carries connection counts and stats, which traffic changes.
func reconcile(ctx context.Context, api ipvs.API, svc ipvs.Service, want []ipvs.Destination) error {
	if err := api.CreateService(ctx, svc); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	have, err := api.Destinations(ctx, svc)
	if err != nil {
		return err
	}
	current := map[netip.AddrPort]ipvs.Destination{}
	for _, d := range have {
		current[d.Addr] = d
	}
	var b ipvs.Batch
	for _, d := range want {
		cur, ok := current[d.Addr]
		switch {
		case !ok:
			b.CreateDestination(svc, d)
		case cur.Settings() != d.Settings(): // not !=: the kernel's counters move
			b.UpdateDestination(svc, d)
		}
		delete(current, d.Addr)
	}
	for _, d := range current {
		b.DeleteDestination(svc, d)
	}
	results, err := api.Apply(ctx, &b)
	return errors.Join(append(results, err)...)
}

// A controller tested without root: reconcile runs against a Fake, which
// answers as the kernel would, errors and all.
func Example() {
	ctx := context.Background()
	api := ipvstest.New(nil)
	defer api.Close()

	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin}
	rs := func(n byte, weight int) ipvs.Destination {
		return ipvs.Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, n}), 80), Forward: ipvs.DirectRoute, Weight: weight}
	}
	if err := reconcile(ctx, api, svc, []ipvs.Destination{rs(110, 1), rs(120, 2)}); err != nil {
		log.Fatal(err)
	}
	// rs 110 is drained (weight 0), rs 120 is gone, rs 130 is new.
	if err := reconcile(ctx, api, svc, []ipvs.Destination{rs(110, 0), rs(130, 1)}); err != nil {
		log.Fatal(err)
	}
	t, err := api.Table(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range t.Services { // in the kernel's order: destinations newest first
		fmt.Println(s.Service, s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Println("  ->", d.Addr, d.Forward, d.Weight)
		}
	}

	// The kernel's refusals come back as the client reports them.
	bcast := ipvs.Destination{Addr: netip.MustParseAddrPort("255.255.255.255:80"), Forward: ipvs.DirectRoute, Weight: 1}
	err = reconcile(ctx, api, svc, []ipvs.Destination{rs(110, 1), bcast})
	fmt.Println(err)
	err = api.DeleteService(ctx, ipvs.Service{Protocol: ipvs.UDP, Addr: svc.Addr})
	fmt.Println(err, errors.Is(err, fs.ErrNotExist))
	// Output:
	// TCP  10.0.0.100:80 wrr
	//   -> 10.0.0.130:80 Route 1
	//   -> 10.0.0.110:80 Route 0
	// ipvs: create destination 255.255.255.255:80 in tcp 10.0.0.100:80: invalid argument
	// ipvs: delete service udp 10.0.0.100:80: no such service true
}
