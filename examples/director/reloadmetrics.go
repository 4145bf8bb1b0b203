package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reloadMetrics are the outcome of the configuration's reloads, under
// Prometheus's own names for them:
//
//	lvs_director_config_last_reload_successful                 gauge    1 if the last reload was applied without error
//	lvs_director_config_last_reload_success_timestamp_seconds  gauge    when the configuration was last applied (start or reload)
//	lvs_director_config_reload_failures_total                  counter  reloads refused or applied with errors
type reloadMetrics struct {
	successful prometheus.Gauge
	timestamp  prometheus.Gauge
	failures   prometheus.Counter
}

func newReloadMetrics(start time.Time) *reloadMetrics {
	m := &reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lvs_director_config_last_reload_successful",
			Help: "Whether the last reload of the configuration file was applied without error (1) or not (0).",
		}),
		timestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lvs_director_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration file was last loaded and applied without error, at start or on a reload.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lvs_director_config_reload_failures_total",
			Help: "Reloads of the configuration file refused (it did not load) or applied with errors.",
		}),
	}
	m.successful.Set(1)
	m.timestamp.Set(float64(start.UnixNano()) / 1e9)
	return m
}

// collectors are the metrics to register.
func (m *reloadMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.successful, m.timestamp, m.failures}
}

// record counts a reload's result at now.
func (m *reloadMetrics) record(res reloadResult, now time.Time) {
	if res.Err != nil || res.Errors > 0 {
		m.successful.Set(0)
		m.failures.Inc()
		return
	}
	m.successful.Set(1)
	m.timestamp.Set(float64(now.UnixNano()) / 1e9)
}
