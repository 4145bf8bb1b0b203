package main

import (
	"context"
	"encoding/json"

	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// TestRealServerChanges: over the control socket and the CLI, a real
// server's weight is set, another drained, both kept across a reload and
// shown by status with the declared weight and why they differ, then
// restored; bad requests are 4xx JSON errors and one-line CLI messages.
func TestRealServerChanges(t *testing.T) {
	dm, conf := fakeDaemon(t, natConfig("wrr", 1), nil)
	sock := dm.control
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.8:80")}
	weights := func() map[string]int {
		t.Helper()
		ds, err := dm.opts.IPVS.Destinations(context.Background(), svc)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, d := range ds {
			out[d.Addr.String()] = d.Weight
		}
		return out
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{args[0], "-control", sock}, args[1:]...)...)
		if err != nil {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	cli("weight", "-reason", "bigger", "tcp", "10.0.0.8:80", "10.0.0.110:80", "5")
	cli("drain", "-for", "1h", "tcp", "10.0.0.8:80", "10.0.0.120:80")
	if w := weights(); w["10.0.0.110:80"] != 5 || w["10.0.0.120:80"] != 0 {
		t.Errorf("after weight and drain: %v, want rs1 5, rs2 0", w)
	}
	out := cli("status")
	for _, want := range []string{"weight 5 (declared 1: weight 5 set by hand: bigger)", "weight 0 (declared 1: drained by hand, idle)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	var v statusView
	if err := json.Unmarshal([]byte(cli("status", "-json")), &v); err != nil {
		t.Fatal(err)
	}
	if rs := v.Services[0].RealServers; len(rs) != 2 || rs[0].DeclaredWeight != 1 || rs[0].Weight != 5 || rs[0].Override == nil ||
		rs[1].Override == nil || !rs[1].Override.Drain || rs[1].Override.Until.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("status -json's real servers: %+v", rs)
	}

	// Refusals: 4xx with a JSON error; the CLI says it in one line.
	c := newControlClient(sock)
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"weight", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.110:80", "weight": 2147483648}`, 400, "out of range 0..2147483647"},
		{"weight", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.110:80", "weight": -1}`, 400, "weight -1 is out of range"},
		{"weight", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.110:80"}`, 400, "weight: missing"},
		{"weight", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.99:80", "weight": 1}`, 404, "no real server 10.0.0.99:80"},
		{"drain", `{"service": "tcp 10.0.0.9:80", "realServer": "10.0.0.110:80"}`, 404, "has no real server"},
		{"drain", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.110:80", "until": "2001-01-01T00:00:00Z"}`, 400, "in the past"},
		{"drain", `{"service": "tcp 10.0.0.8:80", "realServer": "10.0.0.110:80", "wieght": 1}`, 400, "unknown field"},
	} {
		resp, err := c.http.Post("http://director/v1/realservers/"+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var e errorAnswer
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || err != nil || !strings.Contains(e.Error, tc.want) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %+v (%v), want %d saying %q", tc.path, tc.body, resp.StatusCode, e, err, tc.code, tc.want)
		}
	}
	for _, args := range [][]string{
		{"weight", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.110:80", "99999999999"},
		{"weight", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.99:80", "1"},
		{"drain", "-control", sock, "-until", "2001-01-01T00:00:00Z", "tcp", "10.0.0.8:80", "10.0.0.110:80"},
		{"weight", "-control", sock, "tcp", "10.0.0.8:80", "10.0.0.110:80", "heavy"},
	} {
		out, err := runCLI(t, args...)
		if err == nil || strings.Count(out, "\n") != 1 {
			t.Errorf("%v: %v, want exit 1 and one line\n%s", args, err, out)
		}
	}
	if w := weights(); w["10.0.0.110:80"] != 5 || w["10.0.0.120:80"] != 0 {
		t.Errorf("after refusals: %v, want rs1 5, rs2 0", w)
	}

	// A reload with new weights in the file keeps the changes; restore
	// puts the file's weights back.
	if err := os.WriteFile(conf, []byte(natConfig("wrr", 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	cli("reload")
	if w := weights(); w["10.0.0.110:80"] != 5 || w["10.0.0.120:80"] != 0 {
		t.Errorf("after a reload: %v, want rs1 5, rs2 0", w)
	}
	if out := cli("status"); !strings.Contains(out, "weight 5 (declared 3: weight 5 set by hand: bigger)") {
		t.Errorf("status after the reload:\n%s", out)
	}
	cli("restore", "tcp", "10.0.0.8:80", "10.0.0.110:80")
	cli("restore", "tcp", "10.0.0.8:80", "10.0.0.120:80")
	if w := weights(); w["10.0.0.110:80"] != 3 || w["10.0.0.120:80"] != 1 {
		t.Errorf("after restore: %v, want the file's rs1 3, rs2 1", w)
	}
	if out := cli("status"); strings.Contains(out, "declared") {
		t.Errorf("status after restore still explains a weight:\n%s", out)
	}

}
