package metrics

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var (
	web = ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80"),
		Stats: ipvs.Stats{Connections: 10, PacketsIn: 100, PacketsOut: 90, BytesIn: 1000, BytesOut: 20000, CPS: 7}}
	dns  = ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("[2001:db8::1]:53")}
	fwm4 = ipvs.Service{FirewallMark: 10, Stats: ipvs.Stats{Connections: 3}}
	fwm6 = ipvs.Service{FirewallMark: 10, Family: ipvs.IPv6, Stats: ipvs.Stats{Connections: 4}}
	rs1  = netip.MustParseAddrPort("10.0.0.110:80")
	rs2  = netip.MustParseAddrPort("10.0.0.120:80")
)

// table is a fake table: four services, the same firewall mark in both
// families among them, and five real servers.
func table(context.Context) (ipvs.Table, error) {
	return ipvs.Table{Services: []ipvs.TableService{
		{Service: web, Destinations: []ipvs.Destination{
			{Addr: rs1, Weight: 1, ActiveConns: 2, InactiveConns: 1, Stats: ipvs.Stats{Connections: 6, PacketsIn: 60, BytesIn: 600}},
			{Addr: rs2, Weight: 2, ActiveConns: 3, Stats: ipvs.Stats{Connections: 4, PacketsIn: 40, BytesIn: 400}},
		}},
		{Service: dns, Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::10]:53"), Weight: 1}}},
		{Service: fwm4, Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("10.0.0.110:0"), Weight: 1}}},
		{Service: fwm6, Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::10]:0"), Weight: 3}}},
	}}, nil
}

func status() director.Status {
	return director.Status{
		Applies:           3,
		Ops:               map[director.OpKind]uint64{director.CreateService: 4, director.UpdateDestination: 2},
		Failed:            map[director.OpKind]uint64{director.CreateService: 0, director.UpdateDestination: 1},
		Errors:            1,
		LastApply:         time.Unix(1700000000, 500e6),
		LastApplyDuration: 1500 * time.Microsecond,
		Drift:             1,
		RealServers: []director.RealServerHealth{
			{Service: web.Key(), Addr: rs1, Healthy: false, Since: time.Unix(1700000050, 0)},
			{Service: web.Key(), Addr: rs2, Healthy: true, Since: time.Unix(1700000010, 0)},
		},
	}
}

func register(t *testing.T, c *Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry() // checks Collect against Describe
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestExposition: names, labels, types and values as a scrape shows them.
func TestExposition(t *testing.T) {
	reg := register(t, newCollector(table, status, nil))
	const want = `
# HELP lvs_ipvs_service_connections_total Connections scheduled.
# TYPE lvs_ipvs_service_connections_total counter
lvs_ipvs_service_connections_total{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP"} 10
lvs_ipvs_service_connections_total{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP"} 0
lvs_ipvs_service_connections_total{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM"} 3
lvs_ipvs_service_connections_total{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM"} 4
# HELP lvs_ipvs_service_outgoing_bytes_total Bytes sent back to clients through the director (NAT only).
# TYPE lvs_ipvs_service_outgoing_bytes_total counter
lvs_ipvs_service_outgoing_bytes_total{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP"} 20000
lvs_ipvs_service_outgoing_bytes_total{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP"} 0
lvs_ipvs_service_outgoing_bytes_total{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM"} 0
lvs_ipvs_service_outgoing_bytes_total{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM"} 0
# HELP lvs_ipvs_service_connections_active The service's active connections: the sum of its real servers'.
# TYPE lvs_ipvs_service_connections_active gauge
lvs_ipvs_service_connections_active{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP"} 5
lvs_ipvs_service_connections_active{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP"} 0
lvs_ipvs_service_connections_active{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM"} 0
lvs_ipvs_service_connections_active{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM"} 0
# HELP lvs_ipvs_service_backends The service's real servers in the kernel.
# TYPE lvs_ipvs_service_backends gauge
lvs_ipvs_service_backends{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP"} 2
lvs_ipvs_service_backends{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP"} 1
lvs_ipvs_service_backends{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM"} 1
lvs_ipvs_service_backends{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM"} 1
# HELP lvs_ipvs_backend_weight The real server's weight in its service (0: quiesced).
# TYPE lvs_ipvs_backend_weight gauge
lvs_ipvs_backend_weight{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"} 1
lvs_ipvs_backend_weight{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.120",remote_port="80"} 2
lvs_ipvs_backend_weight{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP",remote_address="2001:db8::10",remote_port="53"} 1
lvs_ipvs_backend_weight{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="10.0.0.110",remote_port="0"} 1
lvs_ipvs_backend_weight{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="2001:db8::10",remote_port="0"} 3
# HELP lvs_ipvs_backend_connections_active The real server's active connections (established, for TCP).
# TYPE lvs_ipvs_backend_connections_active gauge
lvs_ipvs_backend_connections_active{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"} 2
lvs_ipvs_backend_connections_active{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.120",remote_port="80"} 3
lvs_ipvs_backend_connections_active{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP",remote_address="2001:db8::10",remote_port="53"} 0
lvs_ipvs_backend_connections_active{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="10.0.0.110",remote_port="0"} 0
lvs_ipvs_backend_connections_active{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="2001:db8::10",remote_port="0"} 0
# HELP lvs_ipvs_backend_incoming_bytes_total Bytes received from clients.
# TYPE lvs_ipvs_backend_incoming_bytes_total counter
lvs_ipvs_backend_incoming_bytes_total{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"} 600
lvs_ipvs_backend_incoming_bytes_total{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.120",remote_port="80"} 400
lvs_ipvs_backend_incoming_bytes_total{family="IPv6",local_address="2001:db8::1",local_mark="",local_port="53",proto="UDP",remote_address="2001:db8::10",remote_port="53"} 0
lvs_ipvs_backend_incoming_bytes_total{family="IPv4",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="10.0.0.110",remote_port="0"} 0
lvs_ipvs_backend_incoming_bytes_total{family="IPv6",local_address="",local_mark="10",local_port="0",proto="FWM",remote_address="2001:db8::10",remote_port="0"} 0
# HELP lvs_ipvs_backends_omitted Real servers whose series the collector's options left out of this scrape.
# TYPE lvs_ipvs_backends_omitted gauge
lvs_ipvs_backends_omitted 0
# HELP lvs_director_backend_healthy Whether the real server passes its health check (1) or has failed it (0).
# TYPE lvs_director_backend_healthy gauge
lvs_director_backend_healthy{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"} 0
lvs_director_backend_healthy{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.120",remote_port="80"} 1
# HELP lvs_director_backend_health_changed_timestamp_seconds When the real server's health last changed, or its checks began.
# TYPE lvs_director_backend_health_changed_timestamp_seconds gauge
lvs_director_backend_health_changed_timestamp_seconds{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"} 1.70000005e+09
lvs_director_backend_health_changed_timestamp_seconds{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.120",remote_port="80"} 1.70000001e+09
# HELP lvs_director_applies_total Plans applied (Apply calls).
# TYPE lvs_director_applies_total counter
lvs_director_applies_total 3
# HELP lvs_director_operations_total Operations applied, by kind.
# TYPE lvs_director_operations_total counter
lvs_director_operations_total{kind="create_service"} 4
lvs_director_operations_total{kind="update_destination"} 2
# HELP lvs_director_operation_failures_total Operations that failed, by kind.
# TYPE lvs_director_operation_failures_total counter
lvs_director_operation_failures_total{kind="create_service"} 0
lvs_director_operation_failures_total{kind="update_destination"} 1
# HELP lvs_director_errors_total Steps of the director's loop that ended in an error.
# TYPE lvs_director_errors_total counter
lvs_director_errors_total 1
# HELP lvs_director_last_apply_timestamp_seconds When the last apply ended (0: never).
# TYPE lvs_director_last_apply_timestamp_seconds gauge
lvs_director_last_apply_timestamp_seconds 1.7000000005e+09
# HELP lvs_director_last_apply_duration_seconds How long the last apply took.
# TYPE lvs_director_last_apply_duration_seconds gauge
lvs_director_last_apply_duration_seconds 0.0015
# HELP lvs_director_last_resync_timestamp_seconds When the director last read the whole IPVS table and made the kernel match (0: never).
# TYPE lvs_director_last_resync_timestamp_seconds gauge
lvs_director_last_resync_timestamp_seconds 0
# HELP lvs_director_resync_drift_operations_total Changes made by others that the periodic resyncs repaired.
# TYPE lvs_director_resync_drift_operations_total counter
lvs_director_resync_drift_operations_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"lvs_ipvs_service_connections_total", "lvs_ipvs_service_outgoing_bytes_total", "lvs_ipvs_service_connections_active",
		"lvs_ipvs_service_backends", "lvs_ipvs_backend_weight", "lvs_ipvs_backend_connections_active",
		"lvs_ipvs_backend_incoming_bytes_total", "lvs_ipvs_backends_omitted",
		"lvs_director_backend_healthy", "lvs_director_backend_health_changed_timestamp_seconds",
		"lvs_director_applies_total", "lvs_director_operations_total", "lvs_director_operation_failures_total",
		"lvs_director_errors_total", "lvs_director_last_apply_timestamp_seconds", "lvs_director_last_apply_duration_seconds",
		"lvs_director_last_resync_timestamp_seconds", "lvs_director_resync_drift_operations_total"); err != nil {
		t.Error(err)
	}
	// Every metric the package documents is exported, and nothing else.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if got, want := len(names), 2*len(stats)+7+10; got != want {
		t.Errorf("%d metric families, want %d: %v", got, want, names)
	}
}

// TestLint: the names and help texts pass promlint, the checks of
// Prometheus's own naming conventions.
func TestLint(t *testing.T) {
	problems, err := testutil.CollectAndLint(newCollector(table, status, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestRealServerBounds: a limit keeps the first real servers' series,
// counts the others as omitted, and bounds the health series alike;
// NoRealServers keeps none, and the per-service series stay in both.
func TestRealServerBounds(t *testing.T) {
	for _, tc := range []struct {
		name             string
		opts             Options
		backends, health int
	}{
		{"no bound", Options{}, 5, 2},
		{"at most 3", Options{MaxRealServers: 3}, 3, 2},
		{"at most 1", Options{MaxRealServers: 1}, 1, 1},
		{"none", Options{NoRealServers: true}, 0, 0},
		{"none beats a bound", Options{MaxRealServers: 3, NoRealServers: true}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := register(t, newCollector(table, status, &tc.opts))
			count := func(name string) int {
				t.Helper()
				n, err := testutil.GatherAndCount(reg, name)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, name := range []string{"lvs_ipvs_backend_weight", "lvs_ipvs_backend_connections_total", "lvs_ipvs_backend_connections_inactive"} {
				if n := count(name); n != tc.backends {
					t.Errorf("%d series of %s, want %d", n, name, tc.backends)
				}
			}
			if n := count("lvs_director_backend_healthy"); n != tc.health {
				t.Errorf("%d health series, want %d", n, tc.health)
			}
			if n := count("lvs_ipvs_service_connections_total"); n != 4 {
				t.Errorf("%d per-service series, want 4", n)
			}
			want := strings.NewReader("# HELP lvs_ipvs_backends_omitted Real servers whose series the collector's options left out of this scrape.\n" +
				"# TYPE lvs_ipvs_backends_omitted gauge\n" +
				"lvs_ipvs_backends_omitted " + string(rune('0'+5-tc.backends)) + "\n")
			if err := testutil.GatherAndCompare(reg, want, "lvs_ipvs_backends_omitted"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTableError: a failed read fails the scrape with the read's error,
// which a promhttp handler turns into an HTTP error.
func TestTableError(t *testing.T) {
	boom := errors.New("no ip_vs here")
	reg := register(t, newCollector(func(context.Context) (ipvs.Table, error) { return ipvs.Table{}, boom }, status, nil))
	_, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), boom.Error()) {
		t.Errorf("gather: %v, want an error with %q", err, boom)
	}
}

// TestTimeout: the table is read with the configured deadline.
func TestTimeout(t *testing.T) {
	var left time.Duration
	read := func(ctx context.Context) (ipvs.Table, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return ipvs.Table{}, errors.New("no deadline")
		}
		left = time.Until(dl)
		return ipvs.Table{}, nil
	}
	for _, tc := range []struct {
		opts *Options
		want time.Duration
	}{{nil, 5 * time.Second}, {&Options{Timeout: time.Second}, time.Second}} {
		if _, err := register(t, newCollector(read, nil, tc.opts)).Gather(); err != nil {
			t.Fatal(err)
		}
		if left > tc.want || left < tc.want-time.Second/2 {
			t.Errorf("options %+v: %v left of the deadline, want about %v", tc.opts, left, tc.want)
		}
	}
}

// TestWithoutDirector: a Collector over a bare IPVS client exports the
// IPVS metrics only.
func TestWithoutDirector(t *testing.T) {
	reg := register(t, newCollector(table, nil, nil))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 2*len(stats)+7 {
		t.Errorf("%d metric families, want %d", len(mfs), 2*len(stats)+7)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "lvs_ipvs_") {
			t.Errorf("%s without a Director", mf.GetName())
		}
	}
}

// TestKindValues: every operation kind is a distinct lower-case label
// value with no spaces.
func TestKindValues(t *testing.T) {
	seen := map[string]bool{}
	for k := director.SetSysctl; k <= director.DeleteService; k++ {
		v := kindValue(k)
		if v != strings.ToLower(v) || strings.ContainsAny(v, " ()") || seen[v] {
			t.Errorf("kind %d: label value %q", int(k), v)
		}
		seen[v] = true
	}
	if got := kindValue(director.SyncSNAT); got != "sync_source_nat" {
		t.Errorf("SyncSNAT is %q, want sync_source_nat", got)
	}
}

// TestLabelsSanitized: a disabled real server's reason that is not valid
// UTF-8 (possible through the Go API) or is long is shown made valid and
// cut, and the scrape succeeds with every other metric.
func TestLabelsSanitized(t *testing.T) {
	bad := func() director.Status {
		s := status()
		s.Disabled = []director.Maintenance{
			{Service: web.Key(), Addr: rs1, Reason: "patch \xff\xfe night"},
			{Service: web.Key(), Addr: rs2, Reason: strings.Repeat("é", 200)},
		}
		return s
	}
	reg := register(t, newCollector(table, bad, nil))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	reasons := map[string]bool{}
	families := 0
	for _, mf := range mfs {
		families++
		if mf.GetName() != "lvs_director_backend_disabled" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					reasons[l.GetValue()] = true
				}
			}
		}
	}
	want := strings.Repeat("é", 128) // 256 bytes
	if !reasons["patch \uFFFD night"] || !reasons[want] || len(reasons) != 2 {
		t.Errorf("reasons %v, want %q and 128 é", reasons, "patch \uFFFD night")
	}
	if families < 2*len(stats)+7 {
		t.Errorf("%d metric families: the others are missing", families)
	}
}
