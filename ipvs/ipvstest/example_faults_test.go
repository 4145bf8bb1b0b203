package ipvstest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"syscall"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvstest"
)

// A test makes the kernel refuse what it would not refuse on its own: here
// the second destination of a batch, and then every read of one service's
// destinations. The errors are those the client returns, so the code under
// test sees what it would see in production.
func ExampleFake_Inject() {
	ctx := context.Background()
	api := ipvstest.New(nil)
	defer api.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	rs1 := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1}
	rs2 := ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 1}

	// The second destination created fails with ENOMEM; the rest of the
	// batch is applied, as the kernel applies each change on its own.
	remove := api.Inject(ipvstest.Fault{Op: "create destination", Nth: 2, Errno: syscall.ENOMEM})
	var b ipvs.Batch
	b.CreateService(svc)
	b.CreateDestination(svc, rs1)
	b.CreateDestination(svc, rs2)
	results, err := api.Apply(ctx, &b)
	fmt.Println(results, err)
	remove()

	// Every listing of svc's destinations fails as if svc were gone.
	api.Inject(ipvstest.Fault{Op: "list destinations", Service: svc.Key(), Errno: syscall.ESRCH})
	_, err = api.Destinations(ctx, svc)
	fmt.Println(err, errors.Is(err, fs.ErrNotExist))

	c := api.Counts()
	fmt.Println(c.Calls["Apply"], c.Changes[ipvs.CreateDestination], c.Refused)
	// Output:
	// [<nil> <nil> ipvs: create destination 10.0.0.120:80 in tcp 10.0.0.100:80: cannot allocate memory] <nil>
	// ipvs: list destinations tcp 10.0.0.100:80: no such service true
	// 1 1 1
}
