package ipvs

import (
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestRuleString: String prints a rule as ipvsadm -S saves it, FullString
// with the settings -S leaves out (thresholds, a netmask without
// persistence).
func TestRuleString(t *testing.T) {
	ap := netip.MustParseAddrPort
	svc := Service{Protocol: TCP, Addr: ap("10.0.0.100:80"), Scheduler: WeightedRoundRobin, Flags: FlagPersistent, Timeout: 360 * time.Second}
	for _, tc := range []struct {
		r         Rule
		str, full string
	}{
		{Rule{Command: CreateService, Service: svc}, "-A -t 10.0.0.100:80 -s wrr -p 360", ""},
		{Rule{Command: CreateDestination, Service: svc, Destination: Destination{Addr: ap("10.0.0.120:8080"), Forward: Masquerade, Weight: 3, UpperThreshold: 10, LowerThreshold: 5}},
			"-a -t 10.0.0.100:80 -r 10.0.0.120:8080 -m -w 3", "-a -t 10.0.0.100:80 -r 10.0.0.120:8080 -m -w 3 -x 10 -y 5"},
		{Rule{Command: CreateDestination, Service: Service{FirewallMark: 7, Family: IPv6}, Destination: Destination{Addr: ap("[2001:db8::1]:0"), Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum}},
			"-a -f 7 -6 -r [2001:db8::1]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum", ""},
		{Rule{Command: UpdateDestination, Service: svc, Destination: Destination{Addr: ap("10.0.0.130:80"), Forward: Tunnel, TunnelType: TunnelGRE, TunnelFlags: TunnelRemoteChecksum}},
			"-e -t 10.0.0.100:80 -r 10.0.0.130:80 -i -w 0 --tun-type gre --tun-remcsum", ""},
		{Rule{Command: CreateDestination, Service: svc, Destination: Destination{Addr: ap("127.0.0.1:80"), Forward: Local, Weight: 2}},
			"-a -t 10.0.0.100:80 -r 127.0.0.1:80 -g -w 2", ""},
		{Rule{Command: CreateService, Service: Service{Protocol: TCP, Addr: ap("10.0.0.1:80"), Netmask: 24}},
			"-A -t 10.0.0.1:80 -s wlc", "-A -t 10.0.0.1:80 -s wlc -M 255.255.255.0"},
		{Rule{Command: UpdateService, Service: Service{Protocol: UDP, Addr: ap("10.0.0.100:53"), Scheduler: SourceHashing, Flags: FlagOnePacket | FlagSHFallback | FlagSHPort}},
			"-E -u 10.0.0.100:53 -s sh -o -b sh-fallback,sh-port", ""},
		{Rule{Command: CreateService, Service: Service{Protocol: SCTP, Addr: ap("[2001:db8::1]:80"), Scheduler: MaglevHashing, Flags: FlagMHFallback | SchedFlag3, Timeout: 300 * time.Second, Netmask: 64}},
			"-A --sctp-service [2001:db8::1]:80 -s mh -p 300 -M 64 -b mh-fallback,flag-3", ""},
		{Rule{Command: CreateService, Service: Service{Protocol: UDP, Addr: ap("10.0.0.1:0"), Flags: FlagPersistent, Netmask: 16, PersistenceEngine: "sip", Scheduler: RoundRobin}},
			"-A -u 10.0.0.1:0 -s rr -p 0 -M 255.255.0.0 --pe sip", ""},
		{Rule{Command: DeleteDestination, Service: svc, Destination: Destination{Addr: ap("10.0.0.110:80"), Weight: 4}}, "-d -t 10.0.0.100:80 -r 10.0.0.110:80", ""},
		{Rule{Command: DeleteService, Service: Service{Protocol: SCTP, Addr: ap("10.0.0.100:3868")}}, "-D --sctp-service 10.0.0.100:3868", ""},
		{Rule{Command: DeleteService, Service: Service{FirewallMark: 9}}, "-D -f 9", ""},
	} {
		if tc.full == "" {
			tc.full = tc.str
		}
		if got := tc.r.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
		if got := tc.r.FullString(); got != tc.full {
			t.Errorf("FullString() = %q, want %q", got, tc.full)
		}
	}
	if got := Command(9).String(); got != "unknown(9)" {
		t.Errorf("Command(9) = %q", got)
	}
}

// TestValidateRule: ValidateRule refuses what Apply would refuse for the
// change AddRules queues, with the same error.
func TestValidateRule(t *testing.T) {
	ap := netip.MustParseAddrPort
	svc := Service{Protocol: TCP, Addr: ap("10.0.0.100:80")}
	dest := Destination{Addr: ap("10.0.0.110:80"), Forward: DirectRoute, Weight: 1}
	for _, tc := range []struct {
		r     Rule
		field string // empty: valid
	}{
		{Rule{Command: CreateService, Service: svc}, ""},
		{Rule{Command: CreateService, Service: Service{Protocol: TCP, Addr: ap("10.0.0.100:80"), Scheduler: "fastest"}}, "Service.Scheduler"},
		{Rule{Command: UpdateService, Service: Service{Protocol: TCP, Addr: ap("10.0.0.100:0")}}, "Service.Addr"},
		{Rule{Command: DeleteService, Service: Service{Protocol: TCP, Addr: ap("10.0.0.100:80"), Scheduler: "fastest"}}, ""}, // only the key counts
		{Rule{Command: DeleteService}, "Service"},
		{Rule{Command: CreateDestination, Service: svc, Destination: dest}, ""},
		{Rule{Command: UpdateDestination, Service: svc, Destination: Destination{Addr: ap("10.0.0.110:80"), Weight: -1}}, "Destination.Weight"},
		{Rule{Command: CreateDestination, Destination: dest}, "Service"},
		{Rule{Command: DeleteDestination, Service: svc, Destination: Destination{Addr: ap("10.0.0.110:80"), Weight: -1}}, ""}, // only the key counts
		{Rule{Command: DeleteDestination, Service: svc}, "Destination.Addr"},
		{Rule{Service: svc}, "Rule.Command"},
	} {
		err := ValidateRule(tc.r)
		var ve *ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%v: %v", tc.r, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid)):
			t.Errorf("%v: err = %v, want a ValidationError on %s", tc.r, err, tc.field)
		}
		if tc.r.Command == 0 {
			continue
		}
		var b Batch
		b.AddRules([]Rule{tc.r})
		_, berr := b.Rules()
		var be *BatchError
		if (berr == nil) != (err == nil) || (berr != nil && (!errors.As(berr, &be) || be.Err.Error() != err.Error())) {
			t.Errorf("%v: ValidateRule says %v, the batch %v", tc.r, err, berr)
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
