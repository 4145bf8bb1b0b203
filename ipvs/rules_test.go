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
-a -f 7 -6 -r 2001:db8::1 -i --tun-type gue --tun-port 6080 --tun-csum
-E -u 10.0.0.100:53 -o -b sh-fallback,sh-port -s sh
-d -t 10.0.0.100:80 -r 10.0.0.110:80
-D --sctp-service 10.0.0.100:3868
`
	rules, err := ParseRules(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	svc := Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: WeightedRoundRobin, Flags: FlagPersistent, Timeout: 360 * time.Second}
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
	if got := rules[0].String(); got != "-A -t 10.0.0.100:80 -s wrr -p 360" {
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

// TestParseRulesLikeIpvsadm: each line becomes the Rule whose request is
// what ipvsadm 1.31 sends for it (its defaults and rewrites), and
// Batch.AddRules queues exactly that request (read back with Batch.Rules).
// TestRulesLoadLikeIpvsadm loads the same lines with the real ipvsadm.
func TestParseRulesLikeIpvsadm(t *testing.T) {
	ap := netip.MustParseAddrPort
	tcp := func(a string) Service { return Service{Protocol: TCP, Addr: ap(a)} }
	udp := func(a string) Service { return Service{Protocol: UDP, Addr: ap(a)} }
	with := func(s Service, f func(*Service)) Service { f(&s); return s }
	wlc := func(s Service) Service { s.Scheduler = WeightedLeastConnection; return s }
	persist := func(s Service, secs int) Service {
		s.Flags |= FlagPersistent
		s.Timeout = time.Duration(secs) * time.Second
		return s
	}
	fwm := func(mark uint32, f Family) Service {
		s := Service{FirewallMark: mark}
		if f == IPv6 {
			s.Family = IPv6
		}
		return s
	}
	dest := func(a string, m ForwardMethod, w int) Destination {
		return Destination{Addr: ap(a), Forward: m, Weight: w}
	}
	svc := tcp("10.0.0.1:80")
	svc6 := tcp("[2001:db8::1]:80")
	// A port-0 service is persistent: rules that only name it say so.
	port0 := func(a string) Service { return Service{Protocol: TCP, Addr: ap(a + ":0"), Flags: FlagPersistent} }
	for _, tc := range []struct {
		name, line string
		want       Rule
	}{
		// Services: scheduler wlc, -p alone 360 s, netmasks per family.
		{"scheduler defaults to wlc", "-A -t 10.0.0.1:80", Rule{AddService, wlc(svc), Destination{}}},
		{"-E sends the whole service", "-E -t 10.0.0.1:80", Rule{EditService, wlc(svc), Destination{}}},
		{"-p alone is 360 s", "-A -t 10.0.0.1:80 -p", Rule{AddService, persist(wlc(svc), 360), Destination{}}},
		{"-p alone before an option", "-A -t [2001:db8::1]:80 -p -s rr", Rule{AddService, persist(with(svc6, func(s *Service) { s.Scheduler = RoundRobin }), 360), Destination{}}},
		{"-p with its value attached", "-A -t 10.0.0.1:80 -p10", Rule{AddService, persist(wlc(svc), 10), Destination{}}},
		{"--persistent=", "-A -t 10.0.0.1:80 --persistent=20", Rule{AddService, persist(wlc(svc), 20), Destination{}}},
		{"-p at ipvsadm's 31 days", "-A -t 10.0.0.1:80 -p 2678400", Rule{AddService, persist(wlc(svc), 2678400), Destination{}}},
		{"port-0 service, persistent", "-A -t 10.0.0.1 -p 60", Rule{AddService, persist(wlc(tcp("10.0.0.1:0")), 60), Destination{}}},
		{"port-0 IPv6 service", "-A -u [2001:db8::1]:0 -p", Rule{AddService, persist(wlc(udp("[2001:db8::1]:0")), 360), Destination{}}},
		{"-M without -p is sent", "-A -t 10.0.0.1:80 -M 255.255.255.0", Rule{AddService, with(wlc(svc), func(s *Service) { s.Netmask = 24 }), Destination{}}},
		{"-M IPv6 without -p", "-A -t [2001:db8::1]:80 -M 64", Rule{AddService, with(wlc(svc6), func(s *Service) { s.Netmask = 64 }), Destination{}}},
		{"-M as inet_aton reads hex", "-A -t 10.0.0.1:80 -p -M 0xffff0000", Rule{AddService, with(persist(wlc(svc), 360), func(s *Service) { s.Netmask = 16 }), Destination{}}},
		{"-M as one number", "-A -t 10.0.0.1:80 -p -M 4294967040", Rule{AddService, with(persist(wlc(svc), 360), func(s *Service) { s.Netmask = 24 }), Destination{}}},
		{"-M in three parts", "-A -t 10.0.0.1:80 -p -M 255.255.65280", Rule{AddService, with(persist(wlc(svc), 360), func(s *Service) { s.Netmask = 24 }), Destination{}}},
		{"-M /32 is the default", "-A -t 10.0.0.1:80 -p -M 255.255.255.255", Rule{AddService, persist(wlc(svc), 360), Destination{}}},
		{"-M IPv6 as atoi reads it", "-A -t [2001:db8::1]:80 -p -M 64abc", Rule{AddService, with(persist(wlc(svc6), 360), func(s *Service) { s.Netmask = 64 }), Destination{}}},
		{"-M IPv6 128 is the default", "-A -t [2001:db8::1]:80 -p -M 128", Rule{AddService, persist(wlc(svc6), 360), Destination{}}},
		{"-M before an IPv6 -t is lost", "-A -M 64 -p -t [2001:db8::1]:80", Rule{AddService, persist(wlc(svc6), 360), Destination{}}},
		{"-M before an IPv4 -t is kept", "-A -M 255.255.255.0 -p -t 10.0.0.1:80", Rule{AddService, with(persist(wlc(svc), 360), func(s *Service) { s.Netmask = 24 }), Destination{}}},
		{"-M before -6 is lost", "-A -f 8 -p -M 64 -6", Rule{AddService, persist(wlc(fwm(8, IPv6)), 360), Destination{}}},
		{"-M after -6", "-A -f 8 -6 -p -M 48", Rule{AddService, with(persist(wlc(fwm(8, IPv6)), 360), func(s *Service) { s.Netmask = 48 }), Destination{}}},
		{"--pe without -p", "-A -u 10.0.0.1:5060 --pe sip", Rule{AddService, with(wlc(udp("10.0.0.1:5060")), func(s *Service) { s.PersistenceEngine = "sip" }), Destination{}}},
		{"-b generic flags", "-A -t 10.0.0.1:80 -b flag-1,flag-3", Rule{AddService, with(wlc(svc), func(s *Service) { s.Flags = SchedFlag1 | SchedFlag3 }), Destination{}}},
		{"-b sh flags with -s after", "-A -t 10.0.0.1:80 -b sh-port, -s sh", Rule{AddService, with(svc, func(s *Service) { s.Scheduler, s.Flags = SourceHashing, FlagSHPort }), Destination{}}},
		{"-o on UDP", "-A -u 10.0.0.1:53 -o", Rule{AddService, with(wlc(udp("10.0.0.1:53")), func(s *Service) { s.Flags = FlagOnePacket }), Destination{}}},
		{"-o on a firewall mark", "-A -f 9 -6 -o", Rule{AddService, with(wlc(fwm(9, IPv6)), func(s *Service) { s.Flags = FlagOnePacket }), Destination{}}},
		{"-f is decimal", "-A -f 010", Rule{AddService, wlc(fwm(10, IPv4)), Destination{}}},
		{"-f at UINT_MAX", "-A -f 4294967295", Rule{AddService, wlc(fwm(4294967295, IPv4)), Destination{}}},
		{"address as inet_aton reads it", "-A -t 10.1:080", Rule{AddService, wlc(svc), Destination{}}},
		{"long options with =", "--add-service --tcp-service=10.0.0.1:80 --scheduler=rr", Rule{AddService, with(svc, func(s *Service) { s.Scheduler = RoundRobin }), Destination{}}},
		{"the word ipvsadm is dropped", "ipvsadm -A -t 10.0.0.1:80", Rule{AddService, wlc(svc), Destination{}}},
		{"-D of a port-0 service", "-D -t 10.0.0.1", Rule{DeleteService, port0("10.0.0.1"), Destination{}}},

		// Destinations: weight 1, -g; ports by method and service kind.
		{"weight 1 and -g by default", "-a -t 10.0.0.1:80 -r 10.0.0.2", Rule{AddServer, svc, dest("10.0.0.2:80", DirectRoute, 1)}},
		{"-g gets the service's port", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g", Rule{AddServer, svc, dest("10.0.0.2:80", DirectRoute, 1)}},
		{"-i gets the service's port", "-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -i", Rule{AddServer, svc6, dest("[2001:db8::2]:80", Tunnel, 1)}},
		{"-i across families too", "-a -t 10.0.0.1:80 -r [2001:db8::2]:8080 -i", Rule{AddServer, svc, dest("[2001:db8::2]:80", Tunnel, 1)}},
		{"-m keeps its port", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m", Rule{AddServer, svc, dest("10.0.0.2:8080", Masquerade, 1)}},
		{"-r without a port: the service's", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m", Rule{AddServer, svc, dest("10.0.0.2:80", Masquerade, 1)}},
		{"a bare IPv6 -r", "-a -t [2001:db8::1]:80 -r 2001:db8::2 -m", Rule{AddServer, svc6, dest("[2001:db8::2]:80", Masquerade, 1)}},
		{"-g of a firewall mark keeps its port", "-a -f 5 -r 10.0.0.2:8080 -g", Rule{AddServer, fwm(5, IPv4), dest("10.0.0.2:8080", DirectRoute, 1)}},
		{"-r without a port on a firewall mark: 0", "-a -f 5 -6 -r 2001:db8::2 -m", Rule{AddServer, fwm(5, IPv6), dest("[2001:db8::2]:0", Masquerade, 1)}},
		{"-r before -t, -g", "-a -r 10.0.0.2:8080 -t 10.0.0.1:80 -g", Rule{AddServer, svc, dest("10.0.0.2:80", DirectRoute, 1)}},
		{"on a port-0 service", "-a -t 10.0.0.1 -r 10.0.0.2 -m", Rule{AddServer, port0("10.0.0.1"), dest("10.0.0.2:0", Masquerade, 1)}},
		{"-g on a port-0 service", "-a -t 10.0.0.1:0 -r 10.0.0.2:99 -g", Rule{AddServer, port0("10.0.0.1"), dest("10.0.0.2:0", DirectRoute, 1)}},
		{"a bracketed IPv4 address loses its port", "-a -t [10.0.0.1]:80 -r 10.0.0.2 -m", Rule{AddServer, port0("10.0.0.1"), dest("10.0.0.2:0", Masquerade, 1)}},
		{"short options clustered", "-a -t 10.0.0.1:80 -r 10.0.0.2 -mw2", Rule{AddServer, svc, dest("10.0.0.2:80", Masquerade, 2)}},
		{"weight with a sign", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w +3", Rule{AddServer, svc, dest("10.0.0.2:80", Masquerade, 3)}},
		{"limits: weight and thresholds INT_MAX", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 2147483647 -x 2147483647 -y 0",
			Rule{AddServer, svc, Destination{Addr: ap("10.0.0.2:80"), Forward: Masquerade, Weight: 1<<31 - 1, UpperThreshold: 1<<31 - 1}}},
		{"-e sends the whole destination", "-e -t 10.0.0.1:80 -r 10.0.0.2", Rule{EditServer, svc, dest("10.0.0.2:80", DirectRoute, 1)}},
		{"-d keeps the port it names", "-d -t 10.0.0.1:80 -r 10.0.0.2:8080", Rule{DeleteServer, svc, Destination{Addr: ap("10.0.0.2:8080")}}},
		{"-d without a port", "-d -t [2001:db8::1]:80 -r 2001:db8::2", Rule{DeleteServer, svc6, Destination{Addr: ap("[2001:db8::2]:80")}}},
		{"GUE", "-a -f 5 -6 -r 2001:db8::2 -i --tun-type gue --tun-port 6080 --tun-remcsum",
			Rule{AddServer, fwm(5, IPv6), Destination{Addr: ap("[2001:db8::2]:0"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelRemoteChecksum}}},
		{"GRE", "-a -t 10.0.0.1:80 -r 10.0.0.2:1 -i --tun-type gre --tun-csum",
			Rule{AddServer, svc, Destination{Addr: ap("10.0.0.2:80"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGRE, TunnelFlags: TunnelChecksum}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := ParseRules(strings.NewReader(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if len(rules) != 1 || rules[0] != tc.want {
				t.Fatalf("%q:\n got  %+v\n want %+v", tc.line, rules, tc.want)
			}
			// What AddRules sends: the same, with the family filled in
			// (and only the key of a service that is not created).
			var b Batch
			b.AddRules(rules)
			sent, err := b.Rules()
			want := tc.want
			if want.Command != AddService && want.Command != EditService {
				k := want.Service.Key()
				want.Service = Service{Protocol: k.Protocol, Addr: k.Addr, FirewallMark: k.FirewallMark, Family: k.Family}
			}
			want.Service.Family = want.Service.AddressFamily()
			if err != nil || len(sent) != 1 || sent[0] != want {
				t.Errorf("AddRules sends %+v, %v\n want %+v", sent, err, want)
			}
			// The full form reads back to the same rule.
			again, err := ParseRules(strings.NewReader(rules[0].RuleString()))
			if err != nil || len(again) != 1 || again[0] != rules[0] {
				t.Errorf("%q reads back as %+v, %v", rules[0].RuleString(), again, err)
			}
		})
	}
}

// TestParseRulesRefusesLikeIpvsadm: what ipvsadm refuses is refused with
// its message; what the kernel or a Rule cannot take is refused too.
func TestParseRulesRefusesLikeIpvsadm(t *testing.T) {
	for _, tc := range ipvsadmRefusals {
		_, err := ParseRules(strings.NewReader("\n" + tc.line + "\n"))
		var re *RuleError
		want := tc.sdk
		if want == "" {
			want = tc.ipvsadm
		}
		if !errors.As(err, &re) || re.Line != 2 || !errors.Is(err, ErrInvalid) || !strings.Contains(re.Reason, want) {
			t.Errorf("%q: err = %v, want a RuleError on line 2 saying %q", tc.line, err, want)
		}
	}
	for _, tc := range sdkRefusals {
		_, err := ParseRules(strings.NewReader(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.sdk) {
			t.Errorf("%q: err = %v, want one saying %q", tc.line, err, tc.sdk)
		}
	}
	for _, text := range []string{"  # a comment not at the start of its line", "-A -t 10.0.0.1:80 # trailing", "-C", "--set 900 120 300", "-R"} {
		if _, err := ParseRules(strings.NewReader(text)); err == nil {
			t.Errorf("%q accepted", text)
		}
	}
}

// ipvsadmRefusals are lines ipvsadm 1.31 refuses, with its message, and
// the SDK's if it differs (where the kernel is the one refusing). Each
// names a service that exists for the VM test (10.0.0.1:80).
var ipvsadmRefusals = []struct{ line, ipvsadm, sdk string }{
	{"-A -t 10.0.0.2:80 -o", "One-Packet Scheduling is only for UDP virtual services", ""},
	{"-A -t [2001:db8::2]:80 -p 10 -o", "One-Packet Scheduling is only for UDP virtual services", ""},
	{"-A -t 10.0.0.2", "Zero port specified for non-persistent service", ""},
	{"-A -t [2001:db8::2]:0", "Zero port specified for non-persistent service", ""},
	{"-A -t 10.0.0.2:80 -p 0", "invalid timeout value `0' specified", ""},
	{"-A -t 10.0.0.2:80 -p 2678401", "invalid timeout value `2678401' specified", ""},
	{"-A -t 10.0.0.2:80 -b sh-port", "incompatible scheduler flag `sh-port'", ""},
	{"-A -t 10.0.0.2:80 -s sh -b mh-port", "incompatible scheduler flag `mh-port'", ""},
	{"-A -t 10.0.0.2:80 -b sched1", "invalid scheduler flag `sched1'", ""},
	{"-A -t 10.0.0.2:80 -6", "-6 used before -f", ""},
	{"-A -6 -f 5", "-6 used before -f", ""},
	{"-A -t [2001:db8::2]:80 -p -M 0", "illegal ipv6 netmask specified", ""},
	{"-A -f 5 -6 -p -M 129", "illegal ipv6 netmask specified", ""},
	{"-A -t 10.0.0.2:80 -p -M 255.255.255.0.1", "illegal virtual server persistent mask specified", ""},
	{"-A -t 80", "illegal virtual server address[:port] specified", ""},
	{"-A -t 10.0.0.2:65536", "illegal virtual server address[:port] specified", "port \"65536\""},
	{"-a -t 10.0.0.1:80 -r [2001:db8::5] -i", "illegal real server address[:port] specified", ""},
	{"-A -t 10.0.0.2:80 -s rr foo", "unexpected argument foo", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -g --tun-nocsum", "Tunnel options conflict with forward method", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -m --tun-type ipip", "Tunnel options conflict with forward method", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-nocsum", "Illegal 'tun-nocsum' option with the 'ipip' tunnel type", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gue", "You need to supply the 'tun-port' option for the 'gue' tunnel type", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gre --tun-port 5", "Illegal 'tun-port' option with the 'gre' tunnel type", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gue --tun-port 5 --tun-csum --tun-nocsum", "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type GUE", "illegal tunnel type specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -i --tun-type gue --tun-port 0", "illegal tunnel port specified", ""},
	{"-a -t 10.0.0.1:80 -r [2001:db8::5]:80 -g", "Different address family is allowed only for tunneling servers", ""},
	{"-a -f 5 -6 -r 10.0.0.5 -m", "Different address family is allowed only for tunneling servers", ""},
	{"-A -t 10.0.0.2:80 -s wrr -x 5", "Illegal 'u-threshold' option with the 'add-service' command", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -s rr", "Illegal 'scheduler' option with the 'add-server' command", ""},
	{"-d -t 10.0.0.1:80 -r 10.0.0.5 -w 3", "Illegal 'weight' option with the 'delete-server' command", ""},
	{"-D -t 10.0.0.1:80 -p", "Illegal 'persistent' option with the 'delete-service' command", ""},
	{"-E -t 10.0.0.1:80 -n", "Illegal 'numeric' option with the 'edit-service' command", ""},
	{"-a -t 10.0.0.1:80", "You need to supply the 'real-server' option for the 'add-server' command", ""},
	{"-A -s rr", "You need to supply the 'service-address' option for the 'add-service' command", ""},
	{"-A -t 10.0.0.2:80 -f 5", "multiple 'service-address' options specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -g -m", "multiple 'forwarding-method' options specified", ""},
	{"-A -t 10.0.0.2:80 -p 10 -p 20", "multiple 'persistent' options specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -w 2147483648", "illegal weight specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -w -1", "illegal weight specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -x 4294967295", "illegal u_threshold specified", ""},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -y 1x", "illegal l_threshold specified", ""},
	{"-A -f 0", "invalid fwmark value `0' specified", ""},
	{"-A -f 0x10", "invalid fwmark value `0x10' specified", ""},
	{"-A -t 10.0.0.2:80 -L", "invalid option `-L'", ""},
	{"-A -t 10.0.0.2:80 --frobnicate", "--frobnicate: unknown option", ""},
	{"-A -t", "-t: missing argument", ""},
	{"-t 10.0.0.2:80 -A", "Try `", "the first option must be a command"},
	// ipvsadm sends these and the kernel refuses them.
	{"-A -t 10.0.0.2:80 -s RR", "Scheduler or persistence engine not found", "no such scheduler"},
	{"-A -u 10.0.0.2:5060 -p --pe nope", "Scheduler or persistence engine not found", "PersistenceEngine"},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -y 5", "Numerical result out of range", "LowerThreshold"},
	{"-a -t 10.0.0.1:80 -r 10.0.0.5 -x 5 -y 6", "Numerical result out of range", "LowerThreshold"},
	{"-a -t 10.0.0.1:80 -r ::ffff:10.0.0.5 -i", "Invalid operation", "IPv4-mapped"},
}

// sdkRefusals are lines ipvsadm loads but ParseRules refuses: what a Rule
// cannot hold, what the client's validation refuses, and names.
var sdkRefusals = []struct{ line, sdk string }{
	{"-A -t 10.0.0.2:80 -p 10 -M 24", "0.0.0.24"},                   // a bare number is an address to inet_aton
	{"-A -t 10.0.0.3:80 -p 10 -M 255.0.255.0", "255.0.255.0"},       // not contiguous
	{"-A -t 10.0.0.4:80 -p 10 -M 0.0.0.0", "0.0.0.0"},               // Netmask 0 means /32
	{"-a -t 10.0.0.1:80 -r 10.0.0.6:0 -m", "Destination.Addr"},      // NAT to port 0
	{"-a -r 10.0.0.7 -t 10.0.0.1:80 -m", "Destination.Addr"},        // the same: -r took port 0 before -t
	{"-A -t [::ffff:10.0.0.2]:80", "IPv4-mapped"},                   // a Service refuses it
	{"-A -t localhost:80", "does not look names up"},                // /etc/hosts
	{"-A -t 10.0.0.2:http", "does not look service names up"},       // /etc/services
	{"-A -t 10.0.0.2:80 -p -M localhost", "does not look names up"}, // gethostbyname
}
