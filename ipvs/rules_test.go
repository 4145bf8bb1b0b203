package ipvs

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseRulesDefaultsAndAliases(t *testing.T) {
	in := `# a comment

--add-service --tcp-service 10.0.0.100:80 --scheduler wrr --persistent
-a -t 10.0.0.100:80 -r 10.0.0.110
--add-server --tcp-service 10.0.0.100:80 --real-server 10.0.0.120:8080 --masquerading --weight 3 -x 10 -y 5
-A -f 7 -6 -p 60 -M 64
-a -f 7 -6 -r [2001:db8::1] -i --tun-type gue --tun-port 6080 --tun-csum
-E -u 10.0.0.100:53 -o -b sh-fallback,sh-port -s sh
-d -t 10.0.0.100:80 -r 10.0.0.110:80
-D --sctp-service 10.0.0.100:3868
`
	rules, err := ParseRules(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: WeightedRoundRobin, Flags: FlagPersistent, Timeout: 300 * time.Second}
	fwm := Service{FirewallMark: 7, Family: IPv6, Scheduler: WeightedLeastConnection, Flags: FlagPersistent, Timeout: 60 * time.Second, Netmask: 64}
	want := []Rule{
		{Command: AddService, Service: svc},
		{Command: AddServer, Service: Service{Protocol: TCP, Addr: svc.Addr}, Destination: Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: DirectRoute, Weight: 1}},
		{Command: AddServer, Service: Service{Protocol: TCP, Addr: svc.Addr}, Destination: Destination{Addr: netip.MustParseAddrPort("10.0.0.120:8080"), Forward: Masquerade, Weight: 3, UpperThreshold: 10, LowerThreshold: 5}},
		{Command: AddService, Service: fwm},
		{Command: AddServer, Service: Service{FirewallMark: 7, Family: IPv6}, Destination: Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:0"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum}},
		{Command: EditService, Service: Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: SourceHashing, Flags: FlagOnePacket | FlagSHFallback | FlagSHPort}},
		{Command: DeleteServer, Service: Service{Protocol: TCP, Addr: svc.Addr}, Destination: Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80")}},
		{Command: DeleteService, Service: Service{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.100:3868")}},
	}
	if len(rules) != len(want) {
		t.Fatalf("%d rules, want %d: %+v", len(rules), len(want), rules)
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d = %+v\nwant     %+v", i, rules[i], want[i])
		}
	}
	// Each rule prints back in ipvsadm -S's canonical form and parses to
	// the same rule.
	for i, r := range rules {
		again, err := ParseRules(strings.NewReader(r.RuleString()))
		if err != nil || len(again) != 1 || again[0] != r {
			t.Errorf("rule %d %q round trip: %+v, %v", i, r.RuleString(), again, err)
		}
	}
	if got := rules[0].String(); got != "-A -t 10.0.0.100:80 -s wrr -p 300" {
		t.Errorf("String() = %q", got)
	}
	if got := rules[2].String(); got != "-a -t 10.0.0.100:80 -r 10.0.0.120:8080 -m -w 3" {
		t.Errorf("String() = %q (ipvsadm -S leaves out thresholds)", got)
	}
	if got := rules[4].String(); got != "-a -f 7 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, line := range []string{
		"-A",
		"-t 10.0.0.1:80",
		"-A -t 10.0.0.1:80 -s nope",
		"-A -t 10.0.0.1 -s rr",
		"-A -t 10.0.0.1:80 -f 3",
		"-a -t 10.0.0.1:80",
		"-a -t 10.0.0.1:80 -r 10.0.0.2:80 -w -1",
		"-A -t 10.0.0.1:80 -M 255.0.255.0 -p",
		"-A -t 10.0.0.1:80 --frobnicate",
		"-A -t 10.0.0.1:80 -r 10.0.0.2",
		"-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan",
	} {
		_, err := ParseRules(strings.NewReader("\n" + line + "\n"))
		var re *RuleError
		if !errors.As(err, &re) || re.Line != 2 || !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%q: err = %v, want a RuleError on line 2", line, err)
		}
	}
}

func TestParseConnections(t *testing.T) {
	in := `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0A80A64 9C40 0A000064 0050 0A00006E 0050 FIN_WAIT         15
IP  C0A80A64 0000 0A000064 0050 0A00006E 0050 NONE             58
UDP 2001:0db8:0000:0000:0000:0000:0000:0001 1F90 2001:0db8:0000:0000:0000:0000:0000:0100 0035 0A000078 0035 UDP             299
UDP C0A80A64 13C4 0A000066 13C4 0A00006E 13C4 UDP              40 sip 3a1f@host
`
	conns, err := parseConnections(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Connection{
		{Protocol: TCP, Client: netip.MustParseAddrPort("192.168.10.100:40000"), Virtual: netip.MustParseAddrPort("10.0.0.100:80"), Destination: netip.MustParseAddrPort("10.0.0.110:80"), State: "FIN_WAIT", Expires: 15 * time.Second},
		{Client: netip.MustParseAddrPort("192.168.10.100:0"), Virtual: netip.MustParseAddrPort("10.0.0.100:80"), Destination: netip.MustParseAddrPort("10.0.0.110:80"), State: "NONE", Expires: 58 * time.Second},
		{Protocol: UDP, Client: netip.MustParseAddrPort("[2001:db8::1]:8080"), Virtual: netip.MustParseAddrPort("[2001:db8::100]:53"), Destination: netip.MustParseAddrPort("10.0.0.120:53"), State: "UDP", Expires: 299 * time.Second},
		{Protocol: UDP, Client: netip.MustParseAddrPort("192.168.10.100:5060"), Virtual: netip.MustParseAddrPort("10.0.0.102:5060"), Destination: netip.MustParseAddrPort("10.0.0.110:5060"), State: "UDP", Expires: 40 * time.Second, PersistenceEngine: "sip", PEData: "3a1f@host"},
	}
	if len(conns) != len(want) {
		t.Fatalf("%d connections: %+v", len(conns), conns)
	}
	for i := range want {
		if conns[i] != want[i] {
			t.Errorf("connection %d = %+v\nwant %+v", i, conns[i], want[i])
		}
	}
	if !conns[1].IsTemplate() || conns[0].IsTemplate() {
		t.Error("IsTemplate wrong")
	}
	if _, err := parseConnections(strings.NewReader("TCP C0A80A64 9C40\n")); err == nil {
		t.Error("short line accepted")
	}
}

func TestLargeNum(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "        0", 99999999: " 99999999", 100000000: "  100000K", 999999999: "  999999K",
		1000000000: "    1000M", 100000000000: "     100G", 100000000000000: "     100T",
	} {
		if got := largeNum(n, false); got != want {
			t.Errorf("largeNum(%d) = %q, want %q", n, got, want)
		}
	}
	if got := largeNum(100000000000, true); got != "100000000000" {
		t.Errorf("exact = %q", got)
	}
}

func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		"-A -t 10.0.0.100:80 -s wrr", "-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 2",
		"-A -f 10 -6 -s mh -b mh-port -p 30 -M 64", "-a -u [2001:db8::1]:53 -r [2001:db8::2] -m -x 5 -y 1",
		"-a -f 1 -r 10.0.0.1 -i --tun-type gue --tun-port 1 --tun-remcsum", "-D -t 1.2.3.4:5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		rules, err := ParseRules(strings.NewReader(line))
		if err != nil {
			return
		}
		for _, r := range rules {
			again, err := ParseRules(strings.NewReader(r.RuleString()))
			if err != nil || len(again) != 1 || again[0] != r {
				t.Fatalf("%q -> %q -> %+v, %v", line, r.RuleString(), again, err)
			}
		}
	})
}
