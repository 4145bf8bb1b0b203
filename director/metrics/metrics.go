// Package metrics exports a network namespace's IPVS table, and a
// Director's status, as Prometheus metrics: a prometheus.Collector that
// reads the kernel on each scrape (one ipvs.Client.Table) and registers
// nothing itself.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.New(d, nil))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Only this package, of the SDK's, imports client_golang: ipvs and director
// do not.
//
// # Names
//
// The IPVS metrics are node_exporter's ipvs collector's, with its label
// names, where they mean the same, under the namespace lvs instead of node:
// that collector is on by default, and on a director it exports node_ipvs_*
// itself, from /proc, with other label sets and other meanings (its
// node_ipvs_connections_total is the host's total, ours are per service),
// so that the same names would mix in queries. The director's own metrics
// are lvs_director_*.
//
// Per service, labelled local_address, local_port, proto, local_mark,
// family:
//
//	lvs_ipvs_service_connections_total       counter  node_ipvs_connections_total (host-wide there)
//	lvs_ipvs_service_incoming_packets_total  counter  node_ipvs_incoming_packets_total (host-wide)
//	lvs_ipvs_service_outgoing_packets_total  counter  node_ipvs_outgoing_packets_total (host-wide)
//	lvs_ipvs_service_incoming_bytes_total    counter  node_ipvs_incoming_bytes_total (host-wide)
//	lvs_ipvs_service_outgoing_bytes_total    counter  node_ipvs_outgoing_bytes_total (host-wide)
//	lvs_ipvs_service_connections_active      gauge    (the sum of its real servers')
//	lvs_ipvs_service_connections_inactive    gauge    (the sum of its real servers')
//	lvs_ipvs_service_backends                gauge    (its real servers in the kernel)
//
// Per real server of a service, labelled local_address, local_port,
// remote_address, remote_port, proto, local_mark, family:
//
//	lvs_ipvs_backend_connections_active      gauge    node_ipvs_backend_connections_active
//	lvs_ipvs_backend_connections_inactive    gauge    node_ipvs_backend_connections_inactive
//	lvs_ipvs_backend_weight                  gauge    node_ipvs_backend_weight
//	lvs_ipvs_backend_connections_total       counter  (none: the same five counters as a service's)
//	lvs_ipvs_backend_incoming_packets_total  counter
//	lvs_ipvs_backend_outgoing_packets_total  counter
//	lvs_ipvs_backend_incoming_bytes_total    counter
//	lvs_ipvs_backend_outgoing_bytes_total    counter
//
// and lvs_ipvs_backends_omitted, a gauge of the real servers whose series
// Options left out of the scrape.
//
// The counters are the kernel's 64-bit ones, which its estimator refreshes
// every 2 seconds; outgoing traffic passes the director only with NAT
// forwarding. The labels' values are node_exporter's: proto is TCP, UDP,
// SCTP, or FWM for a firewall-mark service, whose local_address is empty
// and local_port 0; local_mark is empty for an address service. Two
// differences: local_mark is decimal, as ipvsadm -Ln and the configuration
// write it (node_exporter copies /proc/net/ip_vs's eight hex digits), and
// family (IPv4 or IPv6) is added, since the same firewall mark may key an
// IPv4 and an IPv6 service.
//
// With New, the Director's Status adds, per real server that Run checks,
// labelled as the backend series:
//
//	lvs_director_backend_healthy                          gauge  1 healthy, 0 failed
//	lvs_director_backend_health_changed_timestamp_seconds gauge  last change, or when checking began
//
// per real server disabled by hand, labelled as the backend series and
// with the reason given (one series per disabled real server, which
// operators keep few; a reason is cut to 256 bytes, and a byte that is
// not UTF-8 shown as U+FFFD):
//
//	lvs_director_backend_disabled{...,reason}             gauge  1
//
// per service below its quorum, labelled as the service series:
//
//	lvs_director_service_below_quorum                     gauge  1
//
// and, for the Director:
//
//	lvs_director_applies_total                    counter  Apply calls
//	lvs_director_operations_total{kind}           counter  operations applied, by kind
//	lvs_director_operation_failures_total{kind}   counter  operations that failed, by kind
//	lvs_director_errors_total                     counter  Run's steps that ended in an error
//	lvs_director_last_apply_timestamp_seconds     gauge    0 before the first
//	lvs_director_last_apply_duration_seconds      gauge
//	lvs_director_last_resync_timestamp_seconds    gauge    last full read and repair by Run; 0 before
//	lvs_director_resync_drift_operations_total    counter  changes made by others that resyncs repaired
//
// where kind is the operation's kind in lower case with underscores
// ("update_destination"); every kind has its series from the start.
//
// Per VRRP instance that Run runs, labelled vrrp_instance (its name; not
// instance, which Prometheus gives the target):
//
//	lvs_director_vrrp_instance_info{group,interface,vrid}   gauge    1
//	lvs_director_vrrp_state{state}                          gauge    1 for its state, 0 for the other four
//	lvs_director_vrrp_state_since_timestamp_seconds         gauge
//	lvs_director_vrrp_priority                              gauge    configured
//	lvs_director_vrrp_effective_priority                    gauge    advertised (track weights)
//	lvs_director_vrrp_adverts_sent_total                    counter
//	lvs_director_vrrp_adverts_received_total                counter
//	lvs_director_vrrp_adverts_invalid_total{reason}         counter  every reason from the start
//	lvs_director_vrrp_adverts_other_vrid_total              counter
//	lvs_director_vrrp_priority_zero_sent_total              counter
//	lvs_director_vrrp_priority_zero_received_total          counter
//	lvs_director_vrrp_transitions_total                     counter
//	lvs_director_vrrp_gratuitous_announcements_total        counter  GARPs and unsolicited NAs
//	lvs_director_vrrp_last_master_change_timestamp_seconds  gauge    0: never
//	lvs_director_vrrp_track_failing{item}                   gauge    1 per failing track item
//	lvs_director_vrrp_instance_error                        gauge    1 while its socket fails
//
// # Cardinality
//
// A scrape has one series per service for each per-service metric, one
// per (service, real server) for each per-real-server metric, two per
// checked real server (three when disabled by hand), one per service
// below its quorum, and a fixed few dozen for the Director (two per
// operation kind): with S services and R real servers in all, at most
// 9·S + 11·R + 33, plus 31 per VRRP instance (and one per failing track
// item). The per-real-server series are
// what grow; Options.MaxRealServers bounds them (the first real servers in
// the kernel's order keep theirs) and Options.NoRealServers drops them,
// leaving the per-service sums.
//
// # Errors
//
// A read of the table that fails fails the scrape: the collector reports
// the error to the registry, promhttp answers 500, and Prometheus records
// up == 0.
package metrics

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Collector; a nil *Options means the zero Options.
type Options struct {
	// MaxRealServers, if positive, bounds the real servers that get
	// per-real-server series in one scrape: the first ones in the
	// kernel's order (and, separately, the first checked ones in the
	// Director's order) keep theirs, and lvs_ipvs_backends_omitted counts
	// the others. Zero means no bound.
	MaxRealServers int
	// NoRealServers drops the per-real-server series altogether.
	NoRealServers bool
	// Timeout bounds one read of the table (5 seconds if zero).
	Timeout time.Duration
}

// limit is how many real servers get series; negative means all.
func (o Options) limit() int {
	switch {
	case o.NoRealServers:
		return 0
	case o.MaxRealServers > 0:
		return o.MaxRealServers
	}
	return -1
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 5 * time.Second
	}
	return o.Timeout
}

// Collector is a prometheus.Collector of a namespace's IPVS table and,
// when made by New, of its Director's status. It is safe for concurrent
// use.
type Collector struct {
	table  func(context.Context) (ipvs.Table, error)
	status func() director.Status // nil: no Director
	opts   Options
}

// New returns a Collector of d's IPVS table (read through d.IPVS()) and
// of d.Status().
func New(d *director.Director, opts *Options) *Collector {
	return newCollector(d.IPVS().Table, d.Status, opts)
}

// NewIPVS returns a Collector of the IPVS table c reads (an *ipvs.Client,
// or an ipvstest.Fake in a test), for programs without a Director: it
// exports the lvs_ipvs_* metrics only.
func NewIPVS(c ipvs.API, opts *Options) *Collector {
	return newCollector(c.Table, nil, opts)
}

// newCollector is a Collector over functions, which tests replace.
func newCollector(table func(context.Context) (ipvs.Table, error), status func() director.Status, opts *Options) *Collector {
	if opts == nil {
		opts = &Options{}
	}
	return &Collector{table: table, status: status, opts: *opts}
}

// stat is one of the kernel's counters, kept by services and real servers
// alike.
type stat struct {
	name, help string
	value      func(ipvs.Stats) uint64
}

var stats = [...]stat{
	{"connections_total", "Connections scheduled.", func(s ipvs.Stats) uint64 { return s.Connections }},
	{"incoming_packets_total", "Packets received from clients.", func(s ipvs.Stats) uint64 { return s.PacketsIn }},
	{"outgoing_packets_total", "Packets sent back to clients through the director (NAT only).", func(s ipvs.Stats) uint64 { return s.PacketsOut }},
	{"incoming_bytes_total", "Bytes received from clients.", func(s ipvs.Stats) uint64 { return s.BytesIn }},
	{"outgoing_bytes_total", "Bytes sent back to clients through the director (NAT only).", func(s ipvs.Stats) uint64 { return s.BytesOut }},
}

// Label names, node_exporter's and family.
var (
	serviceLabels = []string{"local_address", "local_port", "proto", "local_mark", "family"}
	backendLabels = []string{"local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark", "family"}
)

// descs are the metrics' descriptions, which never change.
var descs = newDescs()

type descSet struct {
	serviceStats, backendStats               [len(stats)]*prometheus.Desc
	serviceActive, serviceInactive, backends *prometheus.Desc
	backendActive, backendInactive, weight   *prometheus.Desc
	omitted                                  *prometheus.Desc

	healthy, healthChanged, disabled         *prometheus.Desc
	belowQuorum                              *prometheus.Desc
	applies, ops, failedOps, errors          *prometheus.Desc
	lastApply, lastApplyDuration, lastResync *prometheus.Desc
	drift                                    *prometheus.Desc
}

func newDescs() *descSet {
	ipvsDesc := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("lvs_ipvs_"+name, help, labels, nil)
	}
	dirDesc := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("lvs_director_"+name, help, labels, nil)
	}
	d := &descSet{
		serviceActive:   ipvsDesc("service_connections_active", "The service's active connections: the sum of its real servers'.", serviceLabels),
		serviceInactive: ipvsDesc("service_connections_inactive", "The service's inactive connections: the sum of its real servers'.", serviceLabels),
		backends:        ipvsDesc("service_backends", "The service's real servers in the kernel.", serviceLabels),
		backendActive:   ipvsDesc("backend_connections_active", "The real server's active connections (established, for TCP).", backendLabels),
		backendInactive: ipvsDesc("backend_connections_inactive", "The real server's inactive connections (closing or not yet established, for TCP).", backendLabels),
		weight:          ipvsDesc("backend_weight", "The real server's weight in its service (0: quiesced).", backendLabels),
		omitted:         ipvsDesc("backends_omitted", "Real servers whose series the collector's options left out of this scrape.", nil),

		healthy:           dirDesc("backend_healthy", "Whether the real server passes its health check (1) or has failed it (0).", backendLabels),
		healthChanged:     dirDesc("backend_health_changed_timestamp_seconds", "When the real server's health last changed, or its checks began.", backendLabels),
		disabled:          dirDesc("backend_disabled", "1 for a real server taken out of service by hand (director disable), with its reason.", append(slices.Clone(backendLabels), "reason")),
		belowQuorum:       dirDesc("service_below_quorum", "1 for a service with fewer real servers in service than its quorum: quiesced, its sorry server in.", serviceLabels),
		applies:           dirDesc("applies_total", "Plans applied (Apply calls).", nil),
		ops:               dirDesc("operations_total", "Operations applied, by kind.", []string{"kind"}),
		failedOps:         dirDesc("operation_failures_total", "Operations that failed, by kind.", []string{"kind"}),
		errors:            dirDesc("errors_total", "Steps of the director's loop that ended in an error.", nil),
		lastApply:         dirDesc("last_apply_timestamp_seconds", "When the last apply ended (0: never).", nil),
		lastApplyDuration: dirDesc("last_apply_duration_seconds", "How long the last apply took.", nil),
		lastResync:        dirDesc("last_resync_timestamp_seconds", "When the director last read the whole IPVS table and made the kernel match (0: never).", nil),
		drift:             dirDesc("resync_drift_operations_total", "Changes made by others that the periodic resyncs repaired.", nil),
	}
	for i, s := range stats {
		d.serviceStats[i] = ipvsDesc("service_"+s.name, s.help, serviceLabels)
		d.backendStats[i] = ipvsDesc("backend_"+s.name, s.help, backendLabels)
	}
	return d
}

// Describe sends the descriptions of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	d := descs
	for i := range stats {
		ch <- d.serviceStats[i]
		ch <- d.backendStats[i]
	}
	for _, x := range []*prometheus.Desc{d.serviceActive, d.serviceInactive, d.backends, d.backendActive, d.backendInactive, d.weight, d.omitted} {
		ch <- x
	}
	if c.status == nil {
		return
	}
	for _, x := range []*prometheus.Desc{d.healthy, d.healthChanged, d.disabled, d.belowQuorum, d.applies, d.ops, d.failedOps, d.errors, d.lastApply, d.lastApplyDuration, d.lastResync, d.drift} {
		ch <- x
	}
	for _, x := range vdescs.all() {
		ch <- x
	}
}

// Collect reads the IPVS table once, and the Director's status, and sends
// their metrics. A failed read is sent as an invalid metric, which fails
// the scrape.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.timeout())
	t, err := c.table(ctx)
	cancel()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descs.backends, fmt.Errorf("metrics: %w", err))
	} else {
		c.collectTable(ch, t)
	}
	if c.status != nil {
		c.collectStatus(ch, c.status())
	}
}

func (c *Collector) collectTable(ch chan<- prometheus.Metric, t ipvs.Table) {
	d := descs
	left, omitted := c.opts.limit(), 0
	for _, s := range t.Services {
		sl := serviceValues(s.Key())
		var active, inactive uint64
		for _, dst := range s.Destinations {
			active += uint64(dst.ActiveConns)
			inactive += uint64(dst.InactiveConns)
		}
		for i, st := range stats {
			send(ch, d.serviceStats[i], prometheus.CounterValue, float64(st.value(s.Stats)), sl[:]...)
		}
		send(ch, d.serviceActive, prometheus.GaugeValue, float64(active), sl[:]...)
		send(ch, d.serviceInactive, prometheus.GaugeValue, float64(inactive), sl[:]...)
		send(ch, d.backends, prometheus.GaugeValue, float64(len(s.Destinations)), sl[:]...)
		for _, dst := range s.Destinations {
			if left == 0 {
				omitted++
				continue
			}
			left--
			bl := backendValues(sl, dst.Addr)
			send(ch, d.backendActive, prometheus.GaugeValue, float64(dst.ActiveConns), bl[:]...)
			send(ch, d.backendInactive, prometheus.GaugeValue, float64(dst.InactiveConns), bl[:]...)
			send(ch, d.weight, prometheus.GaugeValue, float64(dst.Weight), bl[:]...)
			for i, st := range stats {
				send(ch, d.backendStats[i], prometheus.CounterValue, float64(st.value(dst.Stats)), bl[:]...)
			}
		}
	}
	send(ch, d.omitted, prometheus.GaugeValue, float64(omitted))
}

func (c *Collector) collectStatus(ch chan<- prometheus.Metric, s director.Status) {
	d := descs
	left := c.opts.limit()
	for _, h := range s.RealServers {
		if left == 0 {
			break
		}
		left--
		bl := backendValues(serviceValues(h.Service), h.Addr)
		healthy := 0.0
		if h.Healthy {
			healthy = 1
		}
		send(ch, d.healthy, prometheus.GaugeValue, healthy, bl[:]...)
		send(ch, d.healthChanged, prometheus.GaugeValue, seconds(h.Since), bl[:]...)
	}
	for _, m := range s.Disabled {
		bl := backendValues(serviceValues(m.Service), m.Addr)
		send(ch, d.disabled, prometheus.GaugeValue, 1, append(bl[:], m.Reason)...)
	}
	for _, k := range s.BelowQuorum {
		sl := serviceValues(k)
		send(ch, d.belowQuorum, prometheus.GaugeValue, 1, sl[:]...)
	}
	send(ch, d.applies, prometheus.CounterValue, float64(s.Applies))
	for k, n := range s.Ops {
		send(ch, d.ops, prometheus.CounterValue, float64(n), kindValue(k))
	}
	for k, n := range s.Failed {
		send(ch, d.failedOps, prometheus.CounterValue, float64(n), kindValue(k))
	}
	send(ch, d.errors, prometheus.CounterValue, float64(s.Errors))
	send(ch, d.lastApply, prometheus.GaugeValue, seconds(s.LastApply))
	send(ch, d.lastApplyDuration, prometheus.GaugeValue, s.LastApplyDuration.Seconds())
	send(ch, d.lastResync, prometheus.GaugeValue, seconds(s.LastResync))
	send(ch, d.drift, prometheus.CounterValue, float64(s.Drift))
	collectVRRP(ch, s.VRRP)
}

// maxLabel bounds a label value from outside the kernel (a disabled real
// server's reason), in bytes.
const maxLabel = 256

// label is v as a label value: valid UTF-8 (each invalid byte U+FFFD, as
// the exposition format needs: one invalid value used to fail the whole
// scrape) and at most maxLabel bytes, cut at a character.
func label(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= maxLabel {
		return v
	}
	cut := maxLabel
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// send sends one metric, or the error that prevents it as an invalid
// metric. Label values are made valid (label).
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	for i, l := range labels {
		if len(l) > maxLabel || !utf8.ValidString(l) {
			labels[i] = label(l)
		}
	}
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, fmt.Errorf("metrics: %w", err))
	}
	ch <- m
}

// serviceValues are the values of serviceLabels for the service keyed k.
func serviceValues(k ipvs.Key) [5]string {
	if k.FirewallMark != 0 {
		return [5]string{"", "0", "FWM", strconv.FormatUint(uint64(k.FirewallMark), 10), k.Family.String()}
	}
	return [5]string{k.Addr.Addr().String(), strconv.Itoa(int(k.Addr.Port())), k.Protocol.String(), "", k.Family.String()}
}

// backendValues are the values of backendLabels for the real server addr
// of the service whose serviceValues are s.
func backendValues(s [5]string, addr netip.AddrPort) [7]string {
	return [7]string{s[0], s[1], addr.Addr().String(), strconv.Itoa(int(addr.Port())), s[2], s[3], s[4]}
}

// kindValue is an operation kind as a label value: "update_destination".
func kindValue(k director.OpKind) string {
	return strings.ReplaceAll(strings.ToLower(k.String()), " ", "_")
}

// seconds is t as Unix seconds, 0 for the zero time.
func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
