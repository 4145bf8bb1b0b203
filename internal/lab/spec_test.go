package lab

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec Spec
		want string // substring of the error; "" for none
	}{
		{"NAT", NAT(), ""},
		{"DR", DR(), ""},
		{"DRMultiSegment", DRMultiSegment(), ""},
		{"DR6", DR6(), ""},
		{"empty host name", Spec{Hosts: []HostSpec{{}}}, "empty name"},
		{"host twice", Spec{Hosts: []HostSpec{{Name: "a"}, {Name: "a"}}}, `"a" declared twice`},
		{"unknown link host", Spec{Hosts: []HostSpec{{Name: "a"}},
			Links: []LinkSpec{{A: PortSpec{"a", "eth0", ""}, B: PortSpec{"b", "eth0", ""}}}}, `unknown host "b"`},
		{"bad cidr", Spec{Hosts: []HostSpec{{Name: "a"}, {Name: "b"}},
			Links: []LinkSpec{{A: PortSpec{"a", "eth0", "10.0.0.1"}, B: PortSpec{"b", "eth0", ""}}}}, "address"},
		{"long ifname", Spec{Hosts: []HostSpec{{Name: "a"}, {Name: "b"}},
			Links: []LinkSpec{{A: PortSpec{"a", "abcdefghijklmnop", ""}, B: PortSpec{"b", "eth0", ""}}}}, "1 to 15 bytes"},
		{"bridge named like host", Spec{Hosts: []HostSpec{{Name: "a"}},
			Bridges: []BridgeSpec{{Name: "a"}}}, "name taken"},
		{"bad route", Spec{Hosts: []HostSpec{{Name: "a", Routes: []RouteSpec{{"default", "gw"}}}}}, "route default"},
		{"mixed families", Spec{Hosts: []HostSpec{{Name: "a", Routes: []RouteSpec{{"10.0.0.0/8", "fe80::1"}}}}}, "mixed"},
		{"bad extra addr", Spec{Hosts: []HostSpec{{Name: "a", Addrs: []AddrSpec{{"lo", "x/32"}}}}}, "address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestClassicAddresses(t *testing.T) {
	// The study note's addresses, port by port.
	ports := func(s Spec) map[string]string {
		m := make(map[string]string)
		add := func(p PortSpec) { m[p.Host+"/"+p.If] = p.CIDR }
		for _, l := range s.Links {
			add(l.A)
			add(l.B)
		}
		for _, b := range s.Bridges {
			for _, p := range b.Ports {
				add(p)
			}
		}
		return m
	}
	check := func(t *testing.T, got, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("ports = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
	}
	check(t, ports(NAT()), map[string]string{
		"client/eth0": "192.168.10.100/24", "director/eth1": "192.168.10.200/24",
		"director/eth0": "10.0.0.8/24", "rs1/eth0": "10.0.0.110/24", "rs2/eth0": "10.0.0.120/24",
	})
	check(t, ports(DR()), map[string]string{
		"client/eth0": "192.168.10.100/24", "router/eth0": "192.168.10.200/24", "router/eth1": "10.0.0.200/24",
		"director/eth0": "10.0.0.8/24", "rs1/eth0": "10.0.0.110/24", "rs2/eth0": "10.0.0.120/24",
	})
	check(t, ports(DR6()), map[string]string{
		"client/eth0": "fd00:10::100/64", "router/eth0": "fd00:10::200/64", "router/eth1": "fd00:1::200/64",
		"director/eth0": "fd00:1::8/64", "rs1/eth0": "fd00:1::110/64", "rs2/eth0": "fd00:1::120/64",
	})
	// No builder touches IPVS, VIPs or ARP: no sysctl but the DR router's
	// ip_forward, no extra address but DRMultiSegment's router one.
	for name, s := range map[string]Spec{"NAT": NAT(), "DR": DR(), "DRMultiSegment": DRMultiSegment()} {
		for _, h := range s.Hosts {
			for _, sc := range h.Sysctls {
				if h.Name != Router || sc != (SysctlSpec{"net.ipv4.ip_forward", "1"}) {
					t.Errorf("%s: %s sets sysctl %v", name, h.Name, sc)
				}
			}
			for _, a := range h.Addrs {
				if name != "DRMultiSegment" || h.Name != Router || a != (AddrSpec{"eth1", "172.16.0.200/24"}) {
					t.Errorf("%s: %s adds address %v", name, h.Name, a)
				}
			}
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":                   "/proc/sys/net/ipv4/ip_forward",
		"net/ipv4/conf/eth0.100/rp_filter":      "/proc/sys/net/ipv4/conf/eth0.100/rp_filter",
		"/proc/sys/net/ipv4/conf/lo/arp_ignore": "/proc/sys/net/ipv4/conf/lo/arp_ignore",
		"net/../../etc/passwd":                  "",
		"":                                      "",
	} {
		got, err := sysctlPath(key)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("sysctlPath(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
}
