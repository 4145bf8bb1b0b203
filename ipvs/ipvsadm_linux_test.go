package ipvs

import (
	"strings"
	"testing"

	"github.com/lvs-go/lvs/internal/nstest"
)

// ipvsadm runs the real ipvsadm in namespace ns with stdin.
func ipvsadm(t *testing.T, ns int, stdin string, args ...string) string {
	t.Helper()
	return nstest.Run(t, ns, stdin, "ipvsadm", args...)
}

// crossRules is crossTable in ipvsadm-save -n's rule syntax.
const crossRules = `-A -t 10.0.0.100:80 -s wrr
-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1
-a -t 10.0.0.100:80 -r 10.0.0.120:80 -g -w 2
-A -t 10.0.0.101:443 -s rr -p 10 -M 255.255.255.0
-a -t 10.0.0.101:443 -r 10.0.0.110:443 -g -w 1
-a -t 10.0.0.101:443 -r 10.0.0.120:443 -g -w 0
-A -t 10.0.0.103:80 -s wlc
-A -u 10.0.0.100:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.100:53 -r 10.0.0.110:5353 -m -w 3 -x 100 -y 20
-A -u 10.0.0.102:5060 -s rr -p 60 --pe sip
-A --sctp-service 10.0.0.100:3868 -s lblcr
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.130:3868 -i -w 1 --tun-type ipip
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.140:3868 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.150:3868 -i -w 3 --tun-type gre --tun-csum
-a --sctp-service 10.0.0.100:3868 -r 10.0.0.160:3868 -i -w 4 --tun-type gue --tun-port 7000 --tun-nocsum
-a --sctp-service 10.0.0.100:3868 -r 127.0.0.1:3868 -g -w 5
-A -t [2001:db8::100]:80 -s mh -p 300 -M 64 -b mh-fallback
-a -t [2001:db8::100]:80 -r [2001:db8::110]:80 -i -w 1 --tun-type ipip
-a -t [2001:db8::100]:80 -r [2001:db8::120]:8080 -m -w 4
-A -f 10 -s rr
-a -f 10 -r 10.0.0.110:0 -i -w 1 --tun-type ipip
-a -f 10 -r 10.0.0.120:0 -i -w 1 --tun-type ipip
-A -f 20 -6 -s fo
-a -f 20 -6 -r [2001:db8::130]:0 -g -w 9
`

// TestIpvsadmReadsWhatTheSDKWrites: the SDK creates the table; ipvsadm -Sn
// shows it as it was written. (Package ipvsadm's tests compare its
// listings with ipvsadm's.)
func TestIpvsadmReadsWhatTheSDKWrites(t *testing.T) {
	c, ns := testClient(t)
	ctx := ctxT(t)
	for _, ts := range crossTable {
		if err := c.CreateService(ctx, ts.Service); err != nil {
			t.Fatalf("create %v: %v", ts.Service, err)
		}
		for _, d := range ts.Destinations {
			if err := c.CreateDestination(ctx, ts.Service, d); err != nil {
				t.Fatalf("create %v -> %v: %v", ts.Service, d.Addr, err)
			}
		}
	}
	// ipvsadm -S leaves out connection thresholds (-x, -y).
	wantSaved := strings.ReplaceAll(crossRules, " -x 100 -y 20", "")
	saved := ipvsadm(t, ns, "", "-S", "-n")
	if saved != wantSaved {
		t.Errorf("ipvsadm -Sn:\n%s\nwant:\n%s", saved, wantSaved)
	}
}

// TestSDKReadsWhatIpvsadmWrites: ipvsadm -R loads the rules; the SDK reads
// every field back.
func TestSDKReadsWhatIpvsadmWrites(t *testing.T) {
	c, ns := testClient(t)
	ctx := ctxT(t)
	ipvsadm(t, ns, crossRules, "-R")
	table, err := c.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[Key]TableService{}
	for _, ts := range table.Services {
		got[ts.Key()] = ts
	}
	if len(got) != len(crossTable) {
		t.Errorf("%d services read, want %d", len(got), len(crossTable))
	}
	for _, want := range crossTable {
		g, ok := got[want.Key()]
		if !ok {
			t.Errorf("service %v missing", want.Key())
			continue
		}
		if w := expectService(want.Service); g.Service != w {
			t.Errorf("service read back as %+v\nwant %+v", g.Service, w)
		}
		if len(g.Destinations) != len(want.Destinations) {
			t.Errorf("%v: destinations %+v, want %+v", want.Key(), g.Destinations, want.Destinations)
			continue
		}
		for _, wd := range want.Destinations {
			if wd.Forward == Local {
				// ipvsadm has no switch for local delivery: it saves -g,
				// and the kernel keeps what it is told.
				wd.Forward = DirectRoute
			}
			found := false
			for _, gd := range g.Destinations {
				if gd == wd {
					found = true
				}
			}
			if !found {
				t.Errorf("%v: destination %+v not among %+v", want.Key(), wd, g.Destinations)
			}
		}
	}
}
