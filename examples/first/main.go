// Command first puts one virtual service with two real servers in the
// kernel's IPVS table and prints the table as ipvsadm -Ln does (as root,
// on Linux with ip_vs). Its test runs the same code on an in-memory IPVS,
// without root.
package main

import (
	"context"
	"io"
	"log"
	"net/netip"
	"os"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

func main() {
	ctx := context.Background()
	c, err := ipvs.New(nil) // the kernel's IPVS, in this network namespace
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := setup(ctx, c); err != nil {
		log.Fatal(err)
	}
	if err := show(ctx, c, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// setup creates the service 10.0.0.100:80 (TCP, weighted round robin) and
// its two real servers (direct routing, weights 1 and 2) in api: the
// kernel's (*ipvs.Client) or any other ipvs.API, such as a test's Fake.
func setup(ctx context.Context, api ipvs.API) error {
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin}
	if err := api.CreateService(ctx, svc); err != nil {
		return err
	}
	for i, rs := range []string{"10.0.0.110:80", "10.0.0.120:80"} {
		d := ipvs.Destination{Addr: netip.MustParseAddrPort(rs), Forward: ipvs.DirectRoute, Weight: i + 1}
		if err := api.CreateDestination(ctx, svc, d); err != nil {
			return err
		}
	}
	return nil
}

// show writes api's table as `ipvsadm -Ln` prints it.
func show(ctx context.Context, api ipvs.API, w io.Writer) error {
	table, err := api.Table(ctx)
	if err != nil {
		return err
	}
	return ipvsadm.WriteList(w, table, ipvsadm.ListFormat{})
}
