package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
)

// TestMetricsFlag: the daemon started with -metrics serves the IPVS table,
// the director's status and the process's own metrics at /metrics, in
// Prometheus's text format, on the address given.
func TestMetricsFlag(t *testing.T) {
	vmtest.Require(t, modules...)
	l := labtest.Build(t, lab.NAT())
	dir := labtest.Host(t, l, lab.Director)
	daemon := startDaemon(t, int(dir.NS()), "-config configs/nat.yaml -teardown -metrics 127.0.0.1:9120")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const rs1 = `{family="IPv4",local_address="10.0.0.8",local_mark="",local_port="80",proto="TCP",remote_address="10.0.0.110",remote_port="80"}`
	want := []string{
		"# TYPE lvs_ipvs_backend_weight gauge\n",
		"\nlvs_ipvs_backend_weight" + rs1 + " 1\n",
		"\nlvs_director_backend_healthy" + rs1 + " 1\n",
		"\nlvs_director_applies_total 1\n",
		`lvs_director_operations_total{kind="create_service"} 1` + "\n",
		"\ngo_goroutines ",
		"\nprocess_start_time_seconds ",
	}
	var body string
	var err error
	for {
		body, err = dir.Get(ctx, "http://127.0.0.1:9120/metrics")
		if err == nil && strings.Contains(body, "lvs_director_applies_total 1\n") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no metrics of an applied configuration within a minute: %v\n%s", err, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	daemon.Process.Signal(syscall.SIGTERM)
	if err := daemon.Wait(); err != nil {
		t.Errorf("the daemon's exit: %v", err)
	}
}
