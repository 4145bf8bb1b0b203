package keepalived

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/internal/vmtest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/vishvananda/netns"
)

var modules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc"}

// labModules are what the differential test's lab needs besides.
var labModules = []string{"veth", "bridge"}

// guestPrograms are what the guest runs: ipvsadm, and keepalived for the
// differential test, where the host has them (keepalived only ever runs in
// the guest).
func guestPrograms() []string {
	var out []string
	for _, p := range []string{"/usr/sbin/ipvsadm", "/usr/sbin/keepalived"} {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// existsArg makes the test binary a MISC_CHECK command for keepalived and
// the director alike (the guest has no shell): it exits 0 if the file
// named after it exists, 1 otherwise.
const existsArg = "-lvs-ka-exists"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == existsArg {
		if _, err := os.Stat(os.Args[2]); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	vmtest.Main(m, vmtest.Config{Modules: slices.Concat(modules, labModules), Programs: guestPrograms()})
}

// TestSamplesApply applies what the importer carries over from each of
// Debian's keepalived samples to a fresh namespace of the real kernel: the
// kernel takes every service and real server, with the weights, methods,
// schedulers and persistence the sample says, a second plan is empty, and
// Teardown leaves nothing.
func TestSamplesApply(t *testing.T) {
	vmtest.Require(t, modules...)
	samples, err := filepath.Glob("testdata/samples/keepalived.conf*")
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, path := range samples {
		if strings.HasSuffix(path, ".yaml") {
			continue
		}
		cfg, _, err := ImportFile(path, nil)
		if errors.Is(err, ErrNoServices) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			d, c, ctx := applyIn(t, nstest.New(t), cfg)
			tab, err := d.IPVS().Table(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(tab.Services) != len(cfg.Services) {
				t.Fatalf("%d services in the kernel, %d carried over", len(tab.Services), len(cfg.Services))
			}
			byKey := map[ipvs.Key]ipvs.TableService{}
			for _, s := range tab.Services {
				byKey[s.Key()] = s
			}
			for _, vs := range cfg.Services {
				k := ipvs.Key{Protocol: vs.Protocol, Addr: vs.Address, FirewallMark: vs.FirewallMark, Family: vs.Family}
				if vs.FirewallMark == 0 {
					k.Family = ipvs.FamilyOf(vs.Address.Addr())
				}
				s, ok := byKey[k]
				if !ok {
					t.Errorf("%s: not in the kernel", vs.Name)
					continue
				}
				if s.Scheduler != vs.Scheduler && !(vs.Scheduler == "" && s.Scheduler == ipvs.WeightedLeastConnection) {
					t.Errorf("%s: scheduler %v, want %v", vs.Name, s.Scheduler, vs.Scheduler)
				}
				if p := vs.Persistence; p != nil && (s.Flags&ipvs.FlagPersistent == 0 || s.Timeout != p.Timeout) {
					t.Errorf("%s: persistence %v %v, want %v", vs.Name, s.Flags, s.Timeout, p.Timeout)
				}
				want := map[string]director.RealServer{}
				for _, rs := range vs.RealServers {
					want[rs.Address.String()] = rs
				}
				if len(s.Destinations) != len(want) {
					t.Errorf("%s: %d real servers in the kernel, %d carried over", vs.Name, len(s.Destinations), len(want))
				}
				for _, dst := range s.Destinations {
					rs, ok := want[dst.Addr.String()]
					if !ok || dst.Weight != rs.Weight || dst.Forward != rs.Forward {
						t.Errorf("%s: the kernel has %v %v weight %d, the import %+v", vs.Name, dst.Addr, dst.Forward, dst.Weight, rs)
					}
				}
			}
			if again, err := d.Plan(ctx, c); err != nil || again.Len() != 0 {
				t.Errorf("second plan (%v):\n%s", err, again)
			}
			if err := d.Teardown(ctx); err != nil {
				t.Fatal(err)
			}
			if tab, err := d.IPVS().Table(ctx); err != nil || len(tab.Services) != 0 {
				t.Errorf("after Teardown: %d services, %v", len(tab.Services), err)
			}
		})
		applied++
	}
	if applied < 16 {
		t.Errorf("%d samples applied, want the 16 with virtual servers", applied)
	}
}

// applyIn applies cfg with a Director in the namespace ns, and returns the
// Director, the compiled configuration and a context of a minute, all
// released when the test ends.
func applyIn(t *testing.T, ns netns.NsHandle, cfg *director.Config) (*director.Director, *director.Compiled, context.Context) {
	t.Helper()
	d, err := director.New(&director.Options{NetNS: int(ns)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, err := director.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Plan(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	return d, c, ctx
}
