package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/directortest"
	"github.com/lvs-go/lvs/director/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// described are the names of the metrics the daemon's registry describes:
// the director's collector, the build information, the reloads and the
// BGP sessions.
func described(t *testing.T) []string {
	d, _ := directortest.New(t, nil)
	cs := append([]prometheus.Collector{metrics.New(d, nil), buildInfoGauge(buildVersion{}), newBGPCollector(nil)},
		newReloadMetrics(time.Time{}).collectors()...)
	ch := make(chan *prometheus.Desc, 1024)
	for _, c := range cs {
		c.Describe(ch)
	}
	close(ch)
	var names []string
	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	for desc := range ch {
		if m := name.FindStringSubmatch(desc.String()); m != nil {
			names = append(names, m[1])
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d metrics described: %v", len(names), names)
	}
	return names
}

// TestMonitoringRules: the alert rules pass promtool's check and their
// unit tests (one or more per alert), and every metric they use is one
// the daemon describes.
func TestMonitoringRules(t *testing.T) {
	rules, err := os.ReadFile("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("monitoring/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 6 {
		t.Errorf("%d alerts, want at least 6", len(alerts))
	}
	for _, a := range alerts {
		if !regexp.MustCompile(`(?m)alertname: ` + a[1] + `\n\s+exp_alerts:\n\s+- exp_labels`).Match(tests) {
			t.Errorf("no test in alerts_test.yml sees %s fire", a[1])
		}
	}
	names := described(t)
	for _, m := range regexp.MustCompile(`\blvs_[a-z_]+\b`).FindAllString(string(rules), -1) {
		if !slices.Contains(names, m) {
			t.Errorf("alerts.yml uses %s, which the daemon does not describe", m)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool (scripts/install-deps.sh installs Debian's prometheus package for it)")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "monitoring"
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// peersAnnouncer is an Announcer that only reports sessions.
type peersAnnouncer struct {
	director.Announcer
	peers []director.Peer
}

func (a peersAnnouncer) Peers(context.Context) ([]director.Peer, error) { return a.peers, nil }

// TestBGPMetrics: each session is up (1) or not (0), with when it changed.
func TestBGPMetrics(t *testing.T) {
	since := time.Unix(1700000000, 0)
	c := newBGPCollector(peersAnnouncer{peers: []director.Peer{
		{Address: netip.MustParseAddr("192.168.100.1"), ASN: 65000, Established: true, Since: since},
		{Address: netip.MustParseAddr("192.168.100.2"), ASN: 65000, State: "active"},
	}})
	want := `
# HELP lvs_director_bgp_peer_up Whether the BGP session with the router is established (1) or not (0).
# TYPE lvs_director_bgp_peer_up gauge
lvs_director_bgp_peer_up{asn="65000",peer="192.168.100.1"} 1
lvs_director_bgp_peer_up{asn="65000",peer="192.168.100.2"} 0
# HELP lvs_director_bgp_peer_state_changed_timestamp_seconds When the BGP session with the router last came up or went down.
# TYPE lvs_director_bgp_peer_state_changed_timestamp_seconds gauge
lvs_director_bgp_peer_state_changed_timestamp_seconds{asn="65000",peer="192.168.100.1"} 1.7e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestMonitoringDashboard: the Grafana dashboard is JSON whose panels
// each query something, and every metric it queries is one the daemon
// describes.
func TestMonitoringDashboard(t *testing.T) {
	b, err := os.ReadFile("monitoring/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	names := described(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range regexp.MustCompile(`\blvs_[a-z_]+\b`).FindAllString(q.Expr, -1) {
				used[m] = true
				if !slices.Contains(names, m) {
					t.Errorf("panel %q uses %s, which the daemon does not describe", p.Title, m)
				}
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, m := range []string{"lvs_ipvs_service_connections_total", "lvs_ipvs_backend_connections_active", "lvs_director_backend_healthy",
		"lvs_director_applies_total", "lvs_director_errors_total", "lvs_director_config_last_reload_successful", "lvs_director_bgp_peer_up"} {
		if !used[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}
