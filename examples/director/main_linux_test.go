package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/internal/lab/labtest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/realserver"
)

var modules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ipip", "nf_tables", "veth", "bridge"}

// daemonEnv makes the test binary run the daemon's main instead of the
// tests, so that tests run the daemon itself as a process.
const daemonEnv = "LVS_TEST_RUN_DAEMON"

func TestMain(m *testing.M) {
	if path := os.Getenv(serveSocketEnv); path != "" {
		serveAnything(path)
		os.Exit(0)
	}
	if os.Getenv(daemonEnv) == "1" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv(daemonEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	vmtest.Main(m, vmtest.Config{Modules: modules})
}

// TestSampleConfigs applies each sample configuration to the study note's
// topology, with the real servers brought into their role by realserver,
// and checks the client's answers; a second plan must be empty.
func TestSampleConfigs(t *testing.T) {
	for _, tc := range []struct {
		file  string
		spec  lab.Spec
		mode  realserver.Mode
		urls  []string
		check func([]string) error
	}{
		{"configs/nat.yaml", lab.NAT(), 0, repeat("http://10.0.0.8/", 4), alternate},
		{"configs/dr.yaml", lab.DR(), realserver.DR, repeat("http://10.0.0.100/", 6), ratio(2, 4)},
		{"configs/tun.yaml", lab.DR(), realserver.TUN, repeat("http://10.0.0.100/", 4), alternate},
		{"configs/fwmark.yaml", lab.DR(), realserver.TUN,
			[]string{"http://10.0.0.100:80/", "http://10.0.0.100:88/", "http://10.0.0.100:80/", "http://10.0.0.100:88/",
				"http://10.0.0.100:88/", "http://10.0.0.100:80/"}, alternate},
		{"configs/persistence.yaml", lab.DR(), realserver.DR, repeat("http://10.0.0.100/", 4), same},
	} {
		t.Run(tc.file, func(t *testing.T) {
			vmtest.Require(t, modules...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			l := labtest.Build(t, tc.spec)
			if tc.mode != 0 {
				for _, rs := range []string{lab.RS1, lab.RS2} {
					r, err := realserver.Setup(ctx, &realserver.Config{Mode: tc.mode, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")},
						NetNS: int(labtest.Host(t, l, rs).NS())})
					if err != nil {
						t.Fatal(err)
					}
					defer r.Teardown(context.Background())
				}
			}
			cfg, err := director.Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			d, err := director.New(&director.Options{NetNS: int(labtest.Host(t, l, lab.Director).NS())})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			p, err := d.Plan(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("plan for %s:\n%s", tc.file, p)
			if err := d.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}
			client := labtest.Host(t, l, lab.Client)
			var answers []string
			for _, u := range tc.urls {
				body, err := client.Get(ctx, u)
				if err != nil {
					t.Fatalf("%s: %v", u, err)
				}
				answers = append(answers, body)
			}
			if err := tc.check(answers); err != nil {
				t.Error(err)
			}
			if again, err := d.Plan(ctx, cfg); err != nil || again.Len() != 0 {
				t.Errorf("second plan (%v):\n%s", err, again)
			}
			if err := d.Teardown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

func repeat(u string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = u
	}
	return out
}

func alternate(a []string) error {
	for i := range a {
		if (i >= 1 && a[i] == a[i-1]) || (i >= 2 && a[i] != a[i-2]) {
			return fmt.Errorf("answers %v do not alternate", a)
		}
	}
	return nil
}

func same(a []string) error {
	for _, x := range a {
		if x != a[0] {
			return fmt.Errorf("answers %v: the client did not stick", a)
		}
	}
	return nil
}

func ratio(rs1, rs2 int) func([]string) error {
	return func(a []string) error {
		n := map[string]int{}
		for _, x := range a {
			n[x]++
		}
		if n["rs1"] != rs1 || n["rs2"] != rs2 {
			return fmt.Errorf("answers %v, want rs1 %d, rs2 %d", a, rs1, rs2)
		}
		return nil
	}
}
