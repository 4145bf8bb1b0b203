package director_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/ipvs"
	"sigs.k8s.io/yaml"
)

// Plan prints the difference between the kernel and a configuration (a dry
// run); Apply makes it so with the fewest changes.
func Example() {
	cfg, err := director.Parse([]byte(`
vips:
  - address: 10.0.0.100
services:
  - name: web
    protocol: tcp
    address: 10.0.0.100:80
    scheduler: wrr
    check: {type: http, path: /healthz, interval: 2s, fall: 3, rise: 2}
    realServers:
      - {address: 10.0.0.110:80, forward: dr, weight: 1}
      - {address: 10.0.0.120:80, forward: dr, weight: 2}
`))
	if err != nil {
		log.Fatal(err) // errors.Is(err, director.ErrInvalid): nothing was changed
	}
	d, err := director.New(&director.Options{Drain: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	p, err := d.Plan(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(p) // + -A -t 10.0.0.100:80 -s wrr ...
	if err := d.Apply(ctx, p); err != nil {
		log.Fatal(err)
	}
}

// Run keeps the director in step with health checks and reloads until its
// context ends.
func ExampleDirector_Run() {
	cfg, err := director.Load("/etc/lvs/director.yaml")
	if err != nil {
		log.Fatal(err)
	}
	d, err := director.New(&director.Options{StateFile: "/run/lvs-director.json"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	reload := make(chan *director.Compiled) // send a new configuration to re-apply
	err = d.Run(context.Background(), cfg, reload, func(r director.Report) {
		switch {
		case r.Health != nil:
			log.Print(r.Health)
		case r.Plan != nil:
			log.Printf("applied:\n%s", r.Plan)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A configuration in Go uses the ipvs package's types; a real server's
// Weight is set on purpose (0 would quiesce it), as is its Forward. In a
// file the same service reads `forward: dr` and a missing weight means 1.
func ExampleConfig() {
	cfg := &director.Config{
		VIPs: []director.VIP{{Address: netip.MustParseAddr("10.0.0.100")}},
		Services: []director.VirtualService{{
			Name:      "web",
			Protocol:  ipvs.TCP,
			Address:   netip.MustParseAddrPort("10.0.0.100:80"),
			Scheduler: ipvs.MaglevHashing,
			Flags:     ipvs.FlagMHFallback,
			RealServers: []director.RealServer{
				{Address: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1},
				{Address: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 2},
			},
			Check: &director.Check{Spec: &check.TCP{}, Interval: 2 * time.Second, OnFailure: director.Quiesce},
		}},
	}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))

	// Every error says where, in the file's names, matches
	// director.ErrInvalid, and keeps the error it comes from.
	cfg.Services[0].RealServers[1].Forward = ipvs.Tunnel
	cfg.Services[0].RealServers[1].Tunnel = &director.Tunnel{Type: ipvs.TunnelGUE}
	err = cfg.Validate()
	var ve *ipvs.ValidationError
	fmt.Println(err)
	fmt.Println(errors.Is(err, director.ErrInvalid), errors.As(err, &ve) && ve.Field == "Destination.TunnelPort")
	// Output:
	// services:
	// - address: 10.0.0.100:80
	//   check:
	//     interval: 2s
	//     type: tcp
	//   flags:
	//   - mh-fallback
	//   name: web
	//   protocol: tcp
	//   realServers:
	//   - address: 10.0.0.110:80
	//     forward: dr
	//     weight: 1
	//   - address: 10.0.0.120:80
	//     forward: dr
	//     weight: 2
	//   scheduler: mh
	// vips:
	// - address: 10.0.0.100
	// director: config: services[0] (web).realServers[1].tunnel.port: a GUE tunnel needs a port
	// true true
}

// Changing a running director safely: edit the configuration file, look
// at the plan (only what differs: here one weight), then apply it.
func ExampleDirector_Plan() {
	ctx := context.Background()
	d, err := director.New(nil) // the caller's namespace
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	cfg, err := director.Load("/etc/lvs/director.yaml") // rs 10.0.0.110's weight edited to 5
	if err != nil {
		log.Fatal(err)
	}
	p, err := d.Plan(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(p) // ~ -e -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 5 (was: -r 10.0.0.110:80 -g -w 1)
	if err := d.Apply(ctx, p); err != nil {
		log.Fatal(err) // an *ApplyError lists what failed; the rest was applied and saved
	}
}
