package director_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/lvs-go/lvs/director"
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
	d, err := director.New(director.Options{Drain: 30 * time.Second})
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
	d, err := director.New(director.Options{StateFile: "/run/lvs-director.json"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	reload := make(chan *director.Config) // send a new Config to re-apply
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
