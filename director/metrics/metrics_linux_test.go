package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var modules = []string{"ip_vs", "ip_vs_rr", "veth", "bridge"}

func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Config{Modules: modules}) }

// scrape is one Gather of a registry.
type scrape []*dto.MetricFamily

func gather(t *testing.T, g prometheus.Gatherer) scrape {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// value is the value of the series of name whose labels include pairs
// (name, value, name, value...); it fails t if there is none, or more
// than one.
func (s scrape) value(t *testing.T, name string, pairs ...string) float64 {
	t.Helper()
	var found []*dto.Metric
	for _, mf := range s {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(pairs); i += 2 {
				ok := false
				for _, lp := range m.GetLabel() {
					ok = ok || lp.GetName() == pairs[i] && lp.GetValue() == pairs[i+1]
				}
				if !ok {
					continue series
				}
			}
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d series of %s%v, want 1", len(found), name, pairs)
	}
	if c := found[0].GetCounter(); c != nil {
		return c.GetValue()
	}
	return found[0].GetGauge().GetValue()
}

// TestScrapeNATLab runs a Director on the study note's NAT lab with an
// HTTP check and scrapes its collector: four requests through the service
// raise each real server's connection counter by two (rr), and rs1's page
// server stopped shows as rs1 failed and quiesced.
func TestScrapeNATLab(t *testing.T) {
	vmtest.Require(t, modules...)
	spec := lab.NAT()
	for i := range spec.Hosts {
		if spec.Hosts[i].Name == lab.RS1 {
			spec.Hosts[i].Pages = nil // the test serves rs1's page, to stop it
		}
	}
	l := labtest.Build(t, spec)
	dir, client, rs1 := labtest.Host(t, l, lab.Director), labtest.Host(t, l, lab.Client), labtest.Host(t, l, lab.RS1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	if err := rs1.Serve(serveCtx, ":80", "rs1"); err != nil {
		t.Fatal(err)
	}
	d, err := director.New(&director.Options{NetNS: int(dir.NS())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // after Run has stopped
	cfg, err := director.Parse([]byte(`
services:
  - protocol: tcp
    address: 10.0.0.8:80
    scheduler: rr
    check: {type: http, path: /, interval: 200ms, timeout: 500ms, rise: 2, fall: 2}
    realServers:
      - {address: 10.0.0.110:80, forward: nat}
      - {address: 10.0.0.120:80, forward: nat}
`))
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan director.Report, 64)
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx, cfg, nil, func(r director.Report) { reports <- r }) }()
	t.Cleanup(func() {
		stopRun()
		for {
			select {
			case <-done:
				return
			case <-reports:
			}
		}
	})
	waitFor := func(what string, ok func(director.Report) bool) director.Report {
		t.Helper()
		for {
			select {
			case r := <-reports:
				if r.Err != nil {
					t.Fatalf("while waiting for %s: %v", what, r.Err)
				}
				if ok(r) {
					return r
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the first apply", func(r director.Report) bool { return r.Plan != nil })

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(New(d, nil)); err != nil {
		t.Fatal(err)
	}
	rs := func(addr string) []string { return []string{"local_address", "10.0.0.8", "remote_address", addr} }
	svc := []string{"local_address", "10.0.0.8", "local_port", "80", "proto", "TCP"}
	s := gather(t, reg)
	conns1, conns2 := s.value(t, "lvs_ipvs_backend_connections_total", rs("10.0.0.110")...), s.value(t, "lvs_ipvs_backend_connections_total", rs("10.0.0.120")...)
	connsSvc, bytes1 := s.value(t, "lvs_ipvs_service_connections_total", svc...), s.value(t, "lvs_ipvs_backend_incoming_bytes_total", rs("10.0.0.110")...)
	for _, a := range []string{"10.0.0.110", "10.0.0.120"} {
		if h := s.value(t, "lvs_director_backend_healthy", rs(a)...); h != 1 {
			t.Errorf("%s healthy %v before any failure, want 1", a, h)
		}
	}

	answers := map[string]int{}
	for range 4 {
		body, err := client.Get(ctx, "http://10.0.0.8/")
		if err != nil {
			t.Fatal(err)
		}
		answers[body]++
	}
	if answers["rs1"] != 2 || answers["rs2"] != 2 {
		t.Fatalf("answers %v, want two from each (rr)", answers)
	}
	// The kernel's estimator refreshes the counters every 2 seconds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s = gather(t, reg)
		d1 := s.value(t, "lvs_ipvs_backend_connections_total", rs("10.0.0.110")...) - conns1
		d2 := s.value(t, "lvs_ipvs_backend_connections_total", rs("10.0.0.120")...) - conns2
		dSvc := s.value(t, "lvs_ipvs_service_connections_total", svc...) - connsSvc
		if d1 >= 2 && d2 >= 2 && dSvc >= 4 || time.Now().After(deadline) {
			if d1 != 2 || d2 != 2 || dSvc != 4 {
				t.Errorf("connection counters rose by %v (rs1), %v (rs2), %v (service); want 2, 2, 4", d1, d2, dSvc)
			}
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if b := s.value(t, "lvs_ipvs_backend_incoming_bytes_total", rs("10.0.0.110")...); b <= bytes1 {
		t.Errorf("rs1's incoming bytes %v after two requests, %v before", b, bytes1)
	}
	if n := s.value(t, "lvs_ipvs_backend_connections_active", rs("10.0.0.110")...) + s.value(t, "lvs_ipvs_backend_connections_inactive", rs("10.0.0.110")...); n < 2 {
		t.Errorf("rs1 has %v connections in the kernel's table after two, want at least 2", n)
	}

	stopped := time.Now()
	stopServing() // rs1's page server dies
	waitFor("rs1 to fail", func(r director.Report) bool { return r.Health != nil && !r.Health.Healthy })
	quiesce := waitFor("the quiesce", func(r director.Report) bool { return r.Plan != nil })
	s = gather(t, reg)
	if h := s.value(t, "lvs_director_backend_healthy", rs("10.0.0.110")...); h != 0 {
		t.Errorf("rs1 healthy %v after its server stopped, want 0", h)
	}
	if h := s.value(t, "lvs_director_backend_healthy", rs("10.0.0.120")...); h != 1 {
		t.Errorf("rs2 healthy %v, want 1", h)
	}
	if at := s.value(t, "lvs_director_backend_health_changed_timestamp_seconds", rs("10.0.0.110")...); at < float64(stopped.UnixNano())/1e9 {
		t.Errorf("rs1's health changed at %v, before its server stopped (%v)", at, stopped)
	}
	if w := s.value(t, "lvs_ipvs_backend_weight", rs("10.0.0.110")...); w != 0 {
		t.Errorf("rs1's weight %v after it failed, want 0 (quiesced)", w)
	}
	if w := s.value(t, "lvs_ipvs_backend_weight", rs("10.0.0.120")...); w != 1 {
		t.Errorf("rs2's weight %v, want 1", w)
	}
	if n := s.value(t, "lvs_director_applies_total"); n != 2 {
		t.Errorf("%v applies after the first apply and the quiesce, want 2", n)
	}
	if n := s.value(t, "lvs_director_operations_total", "kind", kindValue(quiesce.Plan.Ops[0].Kind)); n < 1 {
		t.Errorf("%v operations of the quiesce's kind (%v)", n, quiesce.Plan.Ops[0].Kind)
	}
	if at := s.value(t, "lvs_director_last_resync_timestamp_seconds"); at == 0 {
		t.Error("no resync time after Run's first full read")
	}
}
