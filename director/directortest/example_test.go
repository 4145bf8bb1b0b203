package directortest_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
)

// A program that embeds a Director is tested on a Kernel of stand-ins: no
// root, no ip_vs, milliseconds. Here the program under test is a function
// that applies a configuration; the test reads what the kernel would hold.
func Example() {
	k := directortest.NewKernel()
	d, err := director.New(k.Options(nil))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	cfg, err := director.Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: wrr
    realServers:
      - {address: 10.0.0.110:80, forward: dr}
      - {address: 10.0.0.120:80, forward: dr, weight: 3}
`))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	p, err := d.Plan(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		log.Fatal(err)
	}
	table, err := k.IPVS.Table(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range table.Services {
		for _, dst := range s.Destinations {
			fmt.Println(s.Addr, dst.Addr, dst.Weight)
		}
	}
	// Unordered output:
	// 10.0.0.8:80 10.0.0.120:80 3
	// 10.0.0.8:80 10.0.0.110:80 1
}

// A fault in one side: the Director reports the operation that failed
// with the side's error, applies the rest, and plans only what is missing
// next time.
func Example_fault() {
	k := directortest.NewKernel()
	d, err := director.New(k.Options(nil))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	cfg, err := director.Parse([]byte(`
vips: [{address: 192.0.2.8}]
services:
  - {protocol: tcp, address: 192.0.2.8:80, realServers: [{address: 10.0.0.110:80, forward: dr}]}
`))
	if err != nil {
		log.Fatal(err)
	}
	k.Links.Fail(func(op, name string) error {
		if op == "AddAddr" {
			return errors.New("refused")
		}
		return nil
	})
	ctx := context.Background()
	p, _ := d.Plan(ctx, cfg)
	fmt.Println(d.Apply(ctx, p))
	k.Links.Fail(nil)
	p, _ = d.Plan(ctx, cfg)
	fmt.Print(p)
	// Output:
	// director: 1 operation(s) failed:
	//   + vip 192.0.2.8 on lo: refused
	// + vip 192.0.2.8 on lo
}
