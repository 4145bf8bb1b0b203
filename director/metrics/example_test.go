package metrics_test

import (
	"context"
	"log"
	"net/http"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/metrics"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A daemon registers the collector of its Director in its own registry and
// serves it; each scrape reads the IPVS table once.
func ExampleNew() {
	cfg, err := director.Load("/etc/lvs/director.yaml")
	if err != nil {
		log.Fatal(err)
	}
	d, err := director.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	reg := prometheus.NewRegistry()
	// At most 10,000 real servers get series of their own; the services
	// keep theirs whatever the size of the table.
	reg.MustRegister(metrics.New(d, &metrics.Options{MaxRealServers: 10000}))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	go func() { log.Fatal(http.ListenAndServe("127.0.0.1:9120", nil)) }()
	if err := d.Run(context.Background(), cfg, nil, nil); err != nil {
		log.Fatal(err)
	}
}

// A program without a Director exports the IPVS table alone, here with the
// per-service series only.
func ExampleNewIPVS() {
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewIPVS(c, &metrics.Options{NoRealServers: true}))
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Fatal(http.ListenAndServe("127.0.0.1:9120", nil))
}
