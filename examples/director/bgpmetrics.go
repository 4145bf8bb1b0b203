package main

import (
	"context"
	"strconv"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/prometheus/client_golang/prometheus"
)

// bgpCollector reads the BGP sessions on each scrape:
//
//	lvs_director_bgp_peer_up{peer,asn}                          gauge  1 established, 0 not
//	lvs_director_bgp_peer_state_changed_timestamp_seconds{...}  gauge  when it last came up or went down
type bgpCollector struct {
	a       director.Announcer
	timeout time.Duration
	up      *prometheus.Desc
	changed *prometheus.Desc
}

func newBGPCollector(a director.Announcer) *bgpCollector {
	labels := []string{"peer", "asn"}
	return &bgpCollector{a: a, timeout: 5 * time.Second,
		up:      prometheus.NewDesc("lvs_director_bgp_peer_up", "Whether the BGP session with the router is established (1) or not (0).", labels, nil),
		changed: prometheus.NewDesc("lvs_director_bgp_peer_state_changed_timestamp_seconds", "When the BGP session with the router last came up or went down.", labels, nil),
	}
}

func (c *bgpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.changed
}

func (c *bgpCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	peers, err := c.a.Peers(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.up, err)
		return
	}
	for _, p := range peers {
		labels := []string{p.Address.String(), strconv.FormatUint(uint64(p.ASN), 10)}
		up := 0.0
		if p.Established {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, labels...)
		if !p.Since.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.changed, prometheus.GaugeValue, float64(p.Since.UnixNano())/1e9, labels...)
		}
	}
}
