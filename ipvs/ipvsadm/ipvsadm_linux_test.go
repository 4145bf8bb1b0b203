package ipvsadm

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/ipvsfix"
	"github.com/lvs-go/lvs/internal/nstest"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/vishvananda/netns"
)

// ipvsadm runs the real ipvsadm in namespace ns with stdin.
func ipvsadm(t *testing.T, ns int, stdin string, args ...string) string {
	t.Helper()
	return nstest.Run(t, ns, stdin, "ipvsadm", args...)
}

// crossRules covers schedulers, flags, families, forwarding methods and
// tunnels in ipvsadm-save -n's rule syntax (package ipvs's tests have the
// same table as ipvs values).
const crossRules = ipvsfix.CrossRules

// TestListingsLikeIpvsadm: the SDK loads a table (ParseRules, AddRules,
// Apply; one destination then made Local, which ipvsadm cannot say);
// WriteList prints it byte for byte as ipvsadm -Ln does, with --stats,
// --rate and --exact too, and WriteRules as ipvsadm -Sn does.
func TestListingsLikeIpvsadm(t *testing.T) {
	c, ns := testClient(t)
	ctx := ctxT(t)
	loadRules(t, c, crossRules)
	sctp := ipvs.Service{Protocol: ipvs.SCTP, Addr: netip.MustParseAddrPort("10.0.0.100:3868")}
	if err := c.ModifyDestination(ctx, sctp, netip.MustParseAddrPort("127.0.0.1:3868"), func(d *ipvs.Destination) error {
		d.Forward = ipvs.Local
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	table, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		f    ListFormat
	}{
		{[]string{"-L", "-n"}, ListFormat{}},
		{[]string{"-L", "-n", "--stats"}, ListFormat{Stats: true}},
		{[]string{"-L", "-n", "--rate"}, ListFormat{Rate: true}},
		{[]string{"-L", "-n", "--stats", "--exact"}, ListFormat{Stats: true, Exact: true}},
	} {
		listed := ipvsadm(t, ns, "", tc.args...)
		var ours bytes.Buffer
		if err := WriteList(&ours, table, tc.f); err != nil {
			t.Fatal(err)
		}
		if ours.String() != listed {
			t.Errorf("WriteList(%+v) differs from ipvsadm %s:\n--- ipvsadm\n%s--- sdk\n%s", tc.f, strings.Join(tc.args, " "), listed, ours.String())
		}
	}
	if listed := ipvsadm(t, ns, "", "-L", "-n"); !strings.Contains(listed, "  -> 127.0.0.1:3868               Local   5") {
		t.Errorf("no Local destination listed:\n%s", listed)
	}
	saved := ipvsadm(t, ns, "", "-S", "-n")
	// ipvsadm -S leaves out connection thresholds (-x, -y).
	if want := strings.ReplaceAll(crossRules, " -x 100 -y 20", ""); saved != want {
		t.Errorf("ipvsadm -Sn:\n%s\nwant:\n%s", saved, want)
	}
	var ours bytes.Buffer
	if err := WriteRules(&ours, table); err != nil {
		t.Fatal(err)
	}
	if ours.String() != saved {
		t.Errorf("WriteRules differs from ipvsadm -Sn:\n--- ipvsadm\n%s--- sdk\n%s", saved, ours.String())
	}
}

// ipvsadmLoads are rule files whose lines ipvsadm 1.31 fills in or rewrites
// before it sends them; want are lines ipvsadm -Sn shows once ipvsadm -R
// loaded the file (the rewrite in question), and check looks at what -Sn
// does not show.
var ipvsadmLoads = []struct {
	name, rules string
	want        []string
	check       func(ipvs.Table) error
}{
	{name: "ipvsadm -Sn's own rules", rules: crossRules},
	{name: "-p alone is 360 seconds", rules: `-A -t 10.0.0.1:80 -p
-A -t 10.0.0.2:80 -p -s rr
-A -t 10.0.0.3:80 -p10
-A -u [2001:db8::1]:53 -s rr --persistent
-A -f 3 -6 -p
`, want: []string{"-A -t 10.0.0.1:80 -s wlc -p 360", "-A -t 10.0.0.2:80 -s rr -p 360", "-A -t 10.0.0.3:80 -s wlc -p 10",
		"-A -u [2001:db8::1]:53 -s rr -p 360", "-A -f 3 -6 -s wlc -p 360"}},
	{name: "wlc, -g and weight 1 by default", rules: `-A -t 10.0.0.1:80
-a -t 10.0.0.1:80 -r 10.0.0.2
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r [2001:db8::2]:80
`, want: []string{"-A -t 10.0.0.1:80 -s wlc", "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1", "-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -g -w 1"}},
	{name: "-g and -i get the service's port", rules: `-A -t 10.0.0.1:80
-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g
-a -t 10.0.0.1:80 -r 10.0.0.3:8080 -i
-a -t 10.0.0.1:80 -r [2001:db8::3]:8080 -i
-a -t 10.0.0.1:80 -r 10.0.0.4:8080 -m
-A -t [2001:db8::1]:443
-a -t [2001:db8::1]:443 -r [2001:db8::2]:8443 -g
-a -t [2001:db8::1]:443 -r 10.0.0.5:8443 -i --tun-type gue --tun-port 6080
-a -t [2001:db8::1]:443 -r [2001:db8::4]:8443 -m
-A -f 5
-a -f 5 -r 10.0.0.2:8080 -g
-a -f 5 -r 10.0.0.3:8080 -i
-A -f 6 -6
-a -f 6 -6 -r [2001:db8::2]:8080 -g
`, want: []string{"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1", "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -i -w 1 --tun-type ipip",
		"-a -t 10.0.0.1:80 -r [2001:db8::3]:80 -i -w 1 --tun-type ipip", "-a -t 10.0.0.1:80 -r 10.0.0.4:8080 -m -w 1",
		"-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -g -w 1", "-a -t [2001:db8::1]:443 -r 10.0.0.5:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
		"-a -t [2001:db8::1]:443 -r [2001:db8::4]:8443 -m -w 1", "-a -f 5 -r 10.0.0.2:8080 -g -w 1", "-a -f 5 -r 10.0.0.3:8080 -i -w 1 --tun-type ipip",
		"-a -f 6 -6 -r [2001:db8::2]:8080 -g -w 1"}},
	{name: "-r without a port", rules: `-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2 -m
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r 2001:db8::2 -m
-A -f 5
-a -f 5 -r 10.0.0.3 -m
-A -f 6 -6
-a -f 6 -6 -r 2001:db8::3 -m
-a -r 10.0.0.4 -t 10.0.0.1:80 -g
`, want: []string{"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1", "-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 1",
		"-a -f 5 -r 10.0.0.3:0 -m -w 1", "-a -f 6 -6 -r [2001:db8::3]:0 -m -w 1", "-a -t 10.0.0.1:80 -r 10.0.0.4:80 -g -w 1"}},
	{name: "port-0 persistent services", rules: `-A -t 10.0.0.1 -p 60
-a -t 10.0.0.1 -r 10.0.0.2 -m
-a -t 10.0.0.1:0 -r 10.0.0.3:99 -g
-A -u [2001:db8::1]:0 -p
-a -u [2001:db8::1]:0 -r 2001:db8::2 -m -w 3
`, want: []string{"-A -t 10.0.0.1:0 -s wlc -p 60", "-a -t 10.0.0.1:0 -r 10.0.0.2:0 -m -w 1", "-a -t 10.0.0.1:0 -r 10.0.0.3:0 -g -w 1",
		"-A -u [2001:db8::1]:0 -s wlc -p 360", "-a -u [2001:db8::1]:0 -r [2001:db8::2]:0 -m -w 3"}},
	{name: "netmasks", rules: `-A -t 10.0.0.1:80 -M 255.255.255.0
-A -t [2001:db8::1]:80 -M 64
-A -t 10.0.0.2:80 -p -M 0xffff0000
-A -t 10.0.0.3:80 -p 5 -M 4294967040
-A -t 10.0.0.4:80 -p -M 255.255.65280
-A -M 255.255.0.0 -p -t 10.0.0.5:80
-A -t [2001:db8::2]:80 -p -M 64abc
-A -M 64 -p -t [2001:db8::3]:80
-A -f 8 -p -M 64 -6
-A -f 9 -6 -p -M 48
`, want: []string{"-A -t 10.0.0.1:80 -s wlc", "-A -t [2001:db8::1]:80 -s wlc", "-A -t 10.0.0.2:80 -s wlc -p 360 -M 255.255.0.0",
		"-A -t 10.0.0.3:80 -s wlc -p 5 -M 255.255.255.0", "-A -t 10.0.0.4:80 -s wlc -p 360 -M 255.255.255.0",
		"-A -t 10.0.0.5:80 -s wlc -p 360 -M 255.255.0.0", "-A -t [2001:db8::2]:80 -s wlc -p 360 -M 64",
		"-A -t [2001:db8::3]:80 -s wlc -p 360", "-A -f 8 -6 -s wlc -p 360", "-A -f 9 -6 -s wlc -p 360 -M 48"},
		check: func(t ipvs.Table) error {
			// -M without -p: sent and kept, though -Sn does not show it.
			want := map[ipvs.Key]int{
				{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Family: ipvs.IPv4}:      24,
				{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Family: ipvs.IPv6}: 64,
			}
			for _, s := range t.Services {
				if n, ok := want[s.Key()]; ok {
					if s.Netmask != n || s.Flags&ipvs.FlagPersistent != 0 {
						return fmt.Errorf("%v: netmask %d, flags %v; want %d without persistence", s.Key(), s.Netmask, s.Flags, n)
					}
					delete(want, s.Key())
				}
			}
			if len(want) > 0 {
				return fmt.Errorf("services missing: %v", want)
			}
			return nil
		}},
	{name: "--pe without -p, -o on UDP and firewall marks", rules: `-A -u 10.0.0.1:5060 --pe sip
-A -u [2001:db8::1]:5060 -s rr --pe sip
-A -u 10.0.0.2:53 -o
-A -f 9 -o
-A -f 10 -6 -o -p 30
`, want: []string{"-A -u 10.0.0.1:5060 -s wlc --pe sip", "-A -u [2001:db8::1]:5060 -s rr --pe sip", "-A -u 10.0.0.2:53 -s wlc -o",
		"-A -f 9 -s wlc -o", "-A -f 10 -6 -s wlc -p 30 -o"}},
	{name: "-b; -E and -e replace the whole entry", rules: `-A -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback -p 10 -M 255.255.255.0
-E -t 10.0.0.1:80 -s sh
-A -t 10.0.0.2:80 -b flag-1,flag-3
-A -t [2001:db8::1]:80 -s mh -b mh-port
-a -t 10.0.0.2:80 -r 10.0.0.3 -m -w 5 -x 10 -y 2
-e -t 10.0.0.2:80 -r 10.0.0.3 -m
-a -t 10.0.0.2:80 -r 10.0.0.4 -m -w 5 -x 10
`, want: []string{"-A -t 10.0.0.1:80 -s sh", "-A -t 10.0.0.2:80 -s wlc -b flag-1,flag-3", "-A -t [2001:db8::1]:80 -s mh -b mh-port",
		"-a -t 10.0.0.2:80 -r 10.0.0.3:80 -m -w 1", "-a -t 10.0.0.2:80 -r 10.0.0.4:80 -m -w 5"}},
	{name: "option forms", rules: `--add-service --tcp-service=10.0.0.1:80 --scheduler=rr
ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2 -mw2
-a -t 10.0.0.1:80 -r 10.0.0.3 -m -w +3
-a -t 10.0.0.1:80 -r 10.0.0.4 -m -w 2147483647 -x 2147483647
-A -f 010
-A -t 10.1:081
`, want: []string{"-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 2", "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 3",
		"-a -t 10.0.0.1:80 -r 10.0.0.4:80 -m -w 2147483647", "-A -f 10 -s wlc", "-A -t 10.0.0.1:81 -s wlc"}},
}

// TestRulesRoundTripThroughTheKernel: each file is loaded once by ipvsadm
// -R and once by the SDK (ParseRules, Batch.AddRules, Apply), each into an
// empty namespace; ipvsadm -Sn prints the same for both, and so does the
// SDK's Table (which also holds what -Sn leaves out). Then ipvsadm -Sn's
// output, loaded by the SDK into a third namespace, prints the very same
// text again.
func TestRulesRoundTripThroughTheKernel(t *testing.T) {
	for _, tc := range ipvsadmLoads {
		t.Run(tc.name, func(t *testing.T) {
			real, nsReal := testClient(t)
			if out := ipvsadm(t, nsReal, tc.rules, "-R"); out != "" {
				t.Fatalf("ipvsadm -R: %s", out)
			}
			saved := ipvsadm(t, nsReal, "", "-S", "-n")
			lines := strings.Split(saved, "\n")
			for _, w := range tc.want {
				if !slices.Contains(lines, w) {
					t.Errorf("ipvsadm -Sn has no line %q:\n%s", w, saved)
				}
			}
			sdk, nsSDK := testClient(t)
			loadRules(t, sdk, tc.rules)
			if got := ipvsadm(t, nsSDK, "", "-S", "-n"); got != saved {
				t.Errorf("loaded by the SDK, ipvsadm -Sn shows:\n%s\nloaded by ipvsadm:\n%s", got, saved)
			}
			realTable, sdkTable := tableSettings(t, real), tableSettings(t, sdk)
			if fmt.Sprintf("%+v", realTable.Services) != fmt.Sprintf("%+v", sdkTable.Services) {
				t.Errorf("tables differ:\n--- loaded by ipvsadm\n%+v\n--- loaded by the SDK\n%+v", realTable.Services, sdkTable.Services)
			}
			if tc.check != nil {
				if err := tc.check(sdkTable); err != nil {
					t.Error(err)
				}
			}
			again, nsAgain := testClient(t)
			loadRules(t, again, saved)
			if got := ipvsadm(t, nsAgain, "", "-S", "-n"); got != saved {
				t.Errorf("after the SDK loaded ipvsadm -Sn's output, ipvsadm -Sn shows:\n%s\nwant:\n%s", got, saved)
			}
		})
	}
}

// TestRulesRefusedLikeIpvsadm: the lines ipvsadm refuses (itself, or the
// kernel after it sent them) are refused by ParseRules, with ipvsadm's
// message where ipvsadm is the one refusing, and change nothing; the lines
// ipvsadm loads but ParseRules refuses (sdkRefusals) are loaded by ipvsadm
// indeed.
func TestRulesRefusedLikeIpvsadm(t *testing.T) {
	_, ns := testClient(t)
	const base = "-A -t 10.0.0.1:80 -s rr -p\n"
	ipvsadm(t, ns, base, "-R")
	before := ipvsadm(t, ns, "", "-S", "-n")
	for _, tc := range ipvsadmRefusals {
		out, err := ipvsadmMayFail(t, ns, strings.Fields(tc.line)...)
		if err == nil || !strings.Contains(out, tc.ipvsadm) {
			t.Errorf("ipvsadm %s: %v, %q; want a failure saying %q", tc.line, err, out, tc.ipvsadm)
		}
		want := tc.sdk
		if want == "" {
			want = tc.ipvsadm
		}
		if _, err := ParseRules(strings.NewReader(tc.line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRules(%q) = %v, want an error saying %q", tc.line, err, want)
		}
	}
	if after := ipvsadm(t, ns, "", "-S", "-n"); after != before {
		t.Errorf("the refused lines changed the table:\n%s\nwas:\n%s", after, before)
	}
	for _, tc := range sdkRefusals {
		if strings.Contains(tc.sdk, "look") {
			continue // the guest has no /etc/hosts or /etc/services
		}
		if out, err := ipvsadmMayFail(t, ns, strings.Fields(tc.line)...); err != nil {
			t.Errorf("ipvsadm %s: %v, %q; want it loaded", tc.line, err, out)
		}
		if _, err := ParseRules(strings.NewReader(tc.line)); err == nil || !strings.Contains(err.Error(), tc.sdk) {
			t.Errorf("ParseRules(%q) = %v, want an error saying %q", tc.line, err, tc.sdk)
		}
	}
}

// ipvsadmMayFail runs the real ipvsadm in namespace ns and returns its
// output and exit error.
func ipvsadmMayFail(t *testing.T, ns int, args ...string) (string, error) {
	t.Helper()
	var out []byte
	var runErr error
	err := nstest.Do(netns.NsHandle(ns), func() error {
		out, runErr = exec.Command("/usr/sbin/ipvsadm", args...).CombinedOutput()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out), runErr
}

// loadRules loads rules through the SDK: ParseRules, AddRules, Apply.
func loadRules(t *testing.T, c *ipvs.Client, rules string) {
	t.Helper()
	parsed, err := ParseRules(strings.NewReader(rules))
	if err != nil {
		t.Fatal(err)
	}
	var b ipvs.Batch
	b.AddRules(parsed)
	results, err := c.Apply(ctxT(t), &b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r != nil {
			t.Errorf("rule %q: %v", parsed[i], r)
		}
	}
}

// tableSettings is c's table without the counters.
func tableSettings(t *testing.T, c *ipvs.Client) ipvs.Table {
	t.Helper()
	tab, err := c.Table(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	tab = sorted(tab)
	for i := range tab.Services {
		tab.Services[i].Stats = ipvs.Stats{}
		for j := range tab.Services[i].Destinations {
			tab.Services[i].Destinations[j] = settings(tab.Services[i].Destinations[j])
		}
	}
	return tab
}

// settings is d without what only the kernel reports.
func settings(d ipvs.Destination) ipvs.Destination {
	d.ActiveConns, d.InactiveConns, d.PersistentConns, d.Stats = 0, 0, 0, ipvs.Stats{}
	return d
}
