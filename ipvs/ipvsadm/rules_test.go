package ipvsadm

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvs-go/lvs/ipvs"
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
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.WeightedRoundRobin, Flags: ipvs.FlagPersistent, Timeout: 360 * time.Second}
	fwm := ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6, Scheduler: ipvs.WeightedLeastConnection, Flags: ipvs.FlagPersistent, Timeout: 60 * time.Second, Netmask: 64}
	want := []ipvs.Rule{
		{Command: ipvs.CreateService, Service: svc},
		{Command: ipvs.CreateDestination, Service: ipvs.Service{Protocol: ipvs.TCP, Addr: svc.Addr}, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1}},
		{Command: ipvs.CreateDestination, Service: ipvs.Service{Protocol: ipvs.TCP, Addr: svc.Addr}, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.120:8080"), Forward: ipvs.Masquerade, Weight: 3, UpperThreshold: 10, LowerThreshold: 5}},
		{Command: ipvs.CreateService, Service: fwm},
		{Command: ipvs.CreateDestination, Service: ipvs.Service{FirewallMark: 7, Family: ipvs.IPv6}, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:0"), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelChecksum}},
		{Command: ipvs.UpdateService, Service: ipvs.Service{Protocol: ipvs.UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: ipvs.SourceHashing, Flags: ipvs.FlagOnePacket | ipvs.FlagSHFallback | ipvs.FlagSHPort}},
		{Command: ipvs.DeleteDestination, Service: ipvs.Service{Protocol: ipvs.TCP, Addr: svc.Addr}, Destination: ipvs.Destination{Addr: netip.MustParseAddrPort("10.0.0.110:80")}},
		{Command: ipvs.DeleteService, Service: ipvs.Service{Protocol: ipvs.SCTP, Addr: netip.MustParseAddrPort("10.0.0.100:3868")}},
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
		again, err := ParseRules(strings.NewReader(r.FullString()))
		if err != nil || len(again) != 1 || again[0] != r {
			t.Errorf("rule %d %q round trip: %+v, %v", i, r.FullString(), again, err)
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
		if !errors.As(err, &re) || re.Line != 2 || !errors.Is(err, ipvs.ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%q: err = %v, want a RuleError on line 2", line, err)
		}
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
			again, err := ParseRules(strings.NewReader(r.FullString()))
			if err != nil || len(again) != 1 || again[0] != r {
				t.Fatalf("%q -> %q -> %+v, %v", line, r.FullString(), again, err)
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
	tcp := func(a string) ipvs.Service { return ipvs.Service{Protocol: ipvs.TCP, Addr: ap(a)} }
	udp := func(a string) ipvs.Service { return ipvs.Service{Protocol: ipvs.UDP, Addr: ap(a)} }
	with := func(s ipvs.Service, f func(*ipvs.Service)) ipvs.Service { f(&s); return s }
	wlc := func(s ipvs.Service) ipvs.Service { s.Scheduler = ipvs.WeightedLeastConnection; return s }
	persist := func(s ipvs.Service, secs int) ipvs.Service {
		s.Flags |= ipvs.FlagPersistent
		s.Timeout = time.Duration(secs) * time.Second
		return s
	}
	fwm := func(mark uint32, f ipvs.Family) ipvs.Service {
		s := ipvs.Service{FirewallMark: mark}
		if f == ipvs.IPv6 {
			s.Family = ipvs.IPv6
		}
		return s
	}
	dest := func(a string, m ipvs.ForwardMethod, w int) ipvs.Destination {
		return ipvs.Destination{Addr: ap(a), Forward: m, Weight: w}
	}
	svc := tcp("10.0.0.1:80")
	svc6 := tcp("[2001:db8::1]:80")
	// A port-0 service is persistent: rules that only name it say so.
	port0 := func(a string) ipvs.Service {
		return ipvs.Service{Protocol: ipvs.TCP, Addr: ap(a + ":0"), Flags: ipvs.FlagPersistent}
	}
	// rule is a Rule with its fields in order.
	rule := func(c ipvs.Command, s ipvs.Service, d ipvs.Destination) ipvs.Rule {
		return ipvs.Rule{Command: c, Service: s, Destination: d}
	}
	for _, tc := range []struct {
		name, line string
		want       ipvs.Rule
	}{
		// Services: scheduler wlc, -p alone 360 s, netmasks per family.
		{"scheduler defaults to wlc", "-A -t 10.0.0.1:80", rule(ipvs.CreateService, wlc(svc), ipvs.Destination{})},
		{"-E sends the whole service", "-E -t 10.0.0.1:80", rule(ipvs.UpdateService, wlc(svc), ipvs.Destination{})},
		{"-p alone is 360 s", "-A -t 10.0.0.1:80 -p", rule(ipvs.CreateService, persist(wlc(svc), 360), ipvs.Destination{})},
		{"-p alone before an option", "-A -t [2001:db8::1]:80 -p -s rr", rule(ipvs.CreateService, persist(with(svc6, func(s *ipvs.Service) { s.Scheduler = ipvs.RoundRobin }), 360), ipvs.Destination{})},
		{"-p with its value attached", "-A -t 10.0.0.1:80 -p10", rule(ipvs.CreateService, persist(wlc(svc), 10), ipvs.Destination{})},
		{"--persistent=", "-A -t 10.0.0.1:80 --persistent=20", rule(ipvs.CreateService, persist(wlc(svc), 20), ipvs.Destination{})},
		{"-p at ipvsadm's 31 days", "-A -t 10.0.0.1:80 -p 2678400", rule(ipvs.CreateService, persist(wlc(svc), 2678400), ipvs.Destination{})},
		{"port-0 service, persistent", "-A -t 10.0.0.1 -p 60", rule(ipvs.CreateService, persist(wlc(tcp("10.0.0.1:0")), 60), ipvs.Destination{})},
		{"port-0 IPv6 service", "-A -u [2001:db8::1]:0 -p", rule(ipvs.CreateService, persist(wlc(udp("[2001:db8::1]:0")), 360), ipvs.Destination{})},
		{"-M without -p is sent", "-A -t 10.0.0.1:80 -M 255.255.255.0", rule(ipvs.CreateService, with(wlc(svc), func(s *ipvs.Service) { s.Netmask = 24 }), ipvs.Destination{})},
		{"-M IPv6 without -p", "-A -t [2001:db8::1]:80 -M 64", rule(ipvs.CreateService, with(wlc(svc6), func(s *ipvs.Service) { s.Netmask = 64 }), ipvs.Destination{})},
		{"-M as inet_aton reads hex", "-A -t 10.0.0.1:80 -p -M 0xffff0000", rule(ipvs.CreateService, with(persist(wlc(svc), 360), func(s *ipvs.Service) { s.Netmask = 16 }), ipvs.Destination{})},
		{"-M as one number", "-A -t 10.0.0.1:80 -p -M 4294967040", rule(ipvs.CreateService, with(persist(wlc(svc), 360), func(s *ipvs.Service) { s.Netmask = 24 }), ipvs.Destination{})},
		{"-M in three parts", "-A -t 10.0.0.1:80 -p -M 255.255.65280", rule(ipvs.CreateService, with(persist(wlc(svc), 360), func(s *ipvs.Service) { s.Netmask = 24 }), ipvs.Destination{})},
		{"-M /32 is the default", "-A -t 10.0.0.1:80 -p -M 255.255.255.255", rule(ipvs.CreateService, persist(wlc(svc), 360), ipvs.Destination{})},
		{"-M IPv6 as atoi reads it", "-A -t [2001:db8::1]:80 -p -M 64abc", rule(ipvs.CreateService, with(persist(wlc(svc6), 360), func(s *ipvs.Service) { s.Netmask = 64 }), ipvs.Destination{})},
		{"-M IPv6 128 is the default", "-A -t [2001:db8::1]:80 -p -M 128", rule(ipvs.CreateService, persist(wlc(svc6), 360), ipvs.Destination{})},
		{"-M before an IPv6 -t is lost", "-A -M 64 -p -t [2001:db8::1]:80", rule(ipvs.CreateService, persist(wlc(svc6), 360), ipvs.Destination{})},
		{"-M before an IPv4 -t is kept", "-A -M 255.255.255.0 -p -t 10.0.0.1:80", rule(ipvs.CreateService, with(persist(wlc(svc), 360), func(s *ipvs.Service) { s.Netmask = 24 }), ipvs.Destination{})},
		{"-M before -6 is lost", "-A -f 8 -p -M 64 -6", rule(ipvs.CreateService, persist(wlc(fwm(8, ipvs.IPv6)), 360), ipvs.Destination{})},
		{"-M after -6", "-A -f 8 -6 -p -M 48", rule(ipvs.CreateService, with(persist(wlc(fwm(8, ipvs.IPv6)), 360), func(s *ipvs.Service) { s.Netmask = 48 }), ipvs.Destination{})},
		{"--pe without -p", "-A -u 10.0.0.1:5060 --pe sip", rule(ipvs.CreateService, with(wlc(udp("10.0.0.1:5060")), func(s *ipvs.Service) { s.PersistenceEngine = "sip" }), ipvs.Destination{})},
		{"-b generic flags", "-A -t 10.0.0.1:80 -b flag-1,flag-3", rule(ipvs.CreateService, with(wlc(svc), func(s *ipvs.Service) { s.Flags = ipvs.SchedFlag1 | ipvs.SchedFlag3 }), ipvs.Destination{})},
		{"-b sh flags with -s after", "-A -t 10.0.0.1:80 -b sh-port, -s sh", rule(ipvs.CreateService, with(svc, func(s *ipvs.Service) { s.Scheduler, s.Flags = ipvs.SourceHashing, ipvs.FlagSHPort }), ipvs.Destination{})},
		{"-o on UDP", "-A -u 10.0.0.1:53 -o", rule(ipvs.CreateService, with(wlc(udp("10.0.0.1:53")), func(s *ipvs.Service) { s.Flags = ipvs.FlagOnePacket }), ipvs.Destination{})},
		{"-o on a firewall mark", "-A -f 9 -6 -o", rule(ipvs.CreateService, with(wlc(fwm(9, ipvs.IPv6)), func(s *ipvs.Service) { s.Flags = ipvs.FlagOnePacket }), ipvs.Destination{})},
		{"-f is decimal", "-A -f 010", rule(ipvs.CreateService, wlc(fwm(10, ipvs.IPv4)), ipvs.Destination{})},
		{"-f at UINT_MAX", "-A -f 4294967295", rule(ipvs.CreateService, wlc(fwm(4294967295, ipvs.IPv4)), ipvs.Destination{})},
		{"address as inet_aton reads it", "-A -t 10.1:080", rule(ipvs.CreateService, wlc(svc), ipvs.Destination{})},
		{"long options with =", "--add-service --tcp-service=10.0.0.1:80 --scheduler=rr", rule(ipvs.CreateService, with(svc, func(s *ipvs.Service) { s.Scheduler = ipvs.RoundRobin }), ipvs.Destination{})},
		{"the word ipvsadm is dropped", "ipvsadm -A -t 10.0.0.1:80", rule(ipvs.CreateService, wlc(svc), ipvs.Destination{})},
		{"-D of a port-0 service", "-D -t 10.0.0.1", rule(ipvs.DeleteService, port0("10.0.0.1"), ipvs.Destination{})},

		// Destinations: weight 1, -g; ports by method and service kind.
		{"weight 1 and -g by default", "-a -t 10.0.0.1:80 -r 10.0.0.2", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.DirectRoute, 1))},
		{"-g gets the service's port", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.DirectRoute, 1))},
		{"-i gets the service's port", "-a -t [2001:db8::1]:80 -r [2001:db8::2]:8080 -i", rule(ipvs.CreateDestination, svc6, dest("[2001:db8::2]:80", ipvs.Tunnel, 1))},
		{"-i across families too", "-a -t 10.0.0.1:80 -r [2001:db8::2]:8080 -i", rule(ipvs.CreateDestination, svc, dest("[2001:db8::2]:80", ipvs.Tunnel, 1))},
		{"-m keeps its port", "-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:8080", ipvs.Masquerade, 1))},
		{"-r without a port: the service's", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.Masquerade, 1))},
		{"a bare IPv6 -r", "-a -t [2001:db8::1]:80 -r 2001:db8::2 -m", rule(ipvs.CreateDestination, svc6, dest("[2001:db8::2]:80", ipvs.Masquerade, 1))},
		{"-g of a firewall mark keeps its port", "-a -f 5 -r 10.0.0.2:8080 -g", rule(ipvs.CreateDestination, fwm(5, ipvs.IPv4), dest("10.0.0.2:8080", ipvs.DirectRoute, 1))},
		{"-r without a port on a firewall mark: 0", "-a -f 5 -6 -r 2001:db8::2 -m", rule(ipvs.CreateDestination, fwm(5, ipvs.IPv6), dest("[2001:db8::2]:0", ipvs.Masquerade, 1))},
		{"-r before -t, -g", "-a -r 10.0.0.2:8080 -t 10.0.0.1:80 -g", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.DirectRoute, 1))},
		{"on a port-0 service", "-a -t 10.0.0.1 -r 10.0.0.2 -m", rule(ipvs.CreateDestination, port0("10.0.0.1"), dest("10.0.0.2:0", ipvs.Masquerade, 1))},
		{"-g on a port-0 service", "-a -t 10.0.0.1:0 -r 10.0.0.2:99 -g", rule(ipvs.CreateDestination, port0("10.0.0.1"), dest("10.0.0.2:0", ipvs.DirectRoute, 1))},
		{"a bracketed IPv4 address loses its port", "-a -t [10.0.0.1]:80 -r 10.0.0.2 -m", rule(ipvs.CreateDestination, port0("10.0.0.1"), dest("10.0.0.2:0", ipvs.Masquerade, 1))},
		{"short options clustered", "-a -t 10.0.0.1:80 -r 10.0.0.2 -mw2", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.Masquerade, 2))},
		{"weight with a sign", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w +3", rule(ipvs.CreateDestination, svc, dest("10.0.0.2:80", ipvs.Masquerade, 3))},
		{"limits: weight and thresholds INT_MAX", "-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 2147483647 -x 2147483647 -y 0",
			rule(ipvs.CreateDestination, svc, ipvs.Destination{Addr: ap("10.0.0.2:80"), Forward: ipvs.Masquerade, Weight: 1<<31 - 1, UpperThreshold: 1<<31 - 1})},
		{"-e sends the whole destination", "-e -t 10.0.0.1:80 -r 10.0.0.2", rule(ipvs.UpdateDestination, svc, dest("10.0.0.2:80", ipvs.DirectRoute, 1))},
		{"-d keeps the port it names", "-d -t 10.0.0.1:80 -r 10.0.0.2:8080", rule(ipvs.DeleteDestination, svc, ipvs.Destination{Addr: ap("10.0.0.2:8080")})},
		{"-d without a port", "-d -t [2001:db8::1]:80 -r 2001:db8::2", rule(ipvs.DeleteDestination, svc6, ipvs.Destination{Addr: ap("[2001:db8::2]:80")})},
		{"GUE", "-a -f 5 -6 -r 2001:db8::2 -i --tun-type gue --tun-port 6080 --tun-remcsum",
			rule(ipvs.CreateDestination, fwm(5, ipvs.IPv6), ipvs.Destination{Addr: ap("[2001:db8::2]:0"), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelRemoteChecksum})},
		{"GRE", "-a -t 10.0.0.1:80 -r 10.0.0.2:1 -i --tun-type gre --tun-csum",
			rule(ipvs.CreateDestination, svc, ipvs.Destination{Addr: ap("10.0.0.2:80"), Forward: ipvs.Tunnel, Weight: 1, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelChecksum})},
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
			var b ipvs.Batch
			b.AddRules(rules)
			sent, err := b.Rules()
			want := tc.want
			if want.Command != ipvs.CreateService && want.Command != ipvs.UpdateService {
				k := want.Service.Key()
				want.Service = ipvs.Service{Protocol: k.Protocol, Addr: k.Addr, FirewallMark: k.FirewallMark, Family: k.Family}
			}
			want.Service.Family = want.Service.AddressFamily()
			if err != nil || len(sent) != 1 || sent[0] != want {
				t.Errorf("AddRules sends %+v, %v\n want %+v", sent, err, want)
			}
			// The full form reads back to the same rule.
			again, err := ParseRules(strings.NewReader(rules[0].FullString()))
			if err != nil || len(again) != 1 || again[0] != rules[0] {
				t.Errorf("%q reads back as %+v, %v", rules[0].FullString(), again, err)
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
		if !errors.As(err, &re) || re.Line != 2 || !errors.Is(err, ipvs.ErrInvalid) || !strings.Contains(re.Reason, want) {
			t.Errorf("%q: err = %v, want a RuleError on line 2 saying %q", tc.line, err, want)
		}
	}
	for _, tc := range sdkRefusals {
		_, err := ParseRules(strings.NewReader(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.sdk) {
			t.Errorf("%q: err = %v, want one saying %q", tc.line, err, tc.sdk)
		}
	}
	// A refusal of the client's validation keeps its error, naming the
	// field; ipvsadm's own refusals have none behind them.
	_, err := ParseRules(strings.NewReader("-a -t 10.0.0.1:80 -r 10.0.0.6:0 -m"))
	var ve *ipvs.ValidationError
	if !errors.As(err, &ve) || ve.Field != "Destination.Addr" {
		t.Errorf("NAT to port 0: err = %v, want a *ipvs.ValidationError on Destination.Addr", err)
	}
	if _, err := ParseRules(strings.NewReader("-A -t 10.0.0.2:80 -o")); errors.As(err, &ve) || !errors.Is(err, ipvs.ErrInvalid) {
		t.Errorf("-o on TCP: err = %v, want ipvsadm's refusal alone", err)
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
