package main

import (
	"context"
	"fmt"
	"io"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
)

// fullnatLab is the note's FULLNAT (section 3(4)) as the mainline kernel
// can do it: the real servers' gateway is not the director, so plain NAT
// cannot work (replies never return through it); the director masquerades
// and also gives forwarded packets its own source address (director's
// snat), and the real servers answer it directly.
func fullnatLab(ctx context.Context, w io.Writer) error {
	spec := lab.NAT()
	for i := range spec.Hosts {
		for j := range spec.Hosts[i].Routes {
			if spec.Hosts[i].Routes[j].Via == "10.0.0.8" {
				spec.Hosts[i].Routes[j].Via = "10.0.0.254" // not the director
			}
		}
	}
	l, err := lab.Build(spec)
	if err != nil {
		return err
	}
	defer l.Close()
	d, err := director.New(&director.Options{NetNS: int(l.Host(lab.Director).NS())})
	if err != nil {
		return err
	}
	defer d.Close()
	cfg, err := director.Parse([]byte(`
services:
  - name: web
    protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    snat: true
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`))
	if err != nil {
		return err
	}
	p, err := d.Plan(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "director plan:\n%s", p)
	if err := d.Apply(ctx, p); err != nil {
		return err
	}
	if err := printTable(ctx, w, d.IPVS()); err != nil {
		return err
	}
	answers, err := requests(ctx, w, l.Host(lab.Client), "http://10.0.0.8/", 4)
	if err != nil {
		return err
	}
	return alternates(answers)
}
