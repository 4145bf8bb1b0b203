package lab

// Host names used by the study note's labs (NAT, DR, DRMultiSegment, DR6).
const (
	Client   = "client"
	Router   = "router"
	Director = "director"
	RS1      = "rs1"
	RS2      = "rs2"
	// LAN names the bridge (and its namespace) joining the director, the real
	// servers and, in the DR labs, the router on 10.0.0.0/24 (fd00:1::/64
	// in DR6).
	LAN = "lan"
)

// NAT returns the study note's NAT lab (section 5.1): the client
// (192.168.10.100/24 on eth0, gateway 192.168.10.200) is linked to the
// director's eth1 (192.168.10.200/24); the director's eth0 (DIP 10.0.0.8/24)
// shares the bridge LAN with rs1 (10.0.0.110/24) and rs2 (10.0.0.120/24),
// whose gateway is the director. Each real server answers on :80 and :88 with
// a page naming it ("rs1", "rs2").
//
// The director's ip_forward, which NAT needs, is left off: it is part of the
// director role the SDK sets up.
func NAT() Spec {
	return Spec{
		Hosts: []HostSpec{
			client(),
			{Name: Director},
			realServer(RS1, "10.0.0.8"),
			realServer(RS2, "10.0.0.8"),
		},
		Links: []LinkSpec{{
			A: PortSpec{Client, "eth0", "192.168.10.100/24"},
			B: PortSpec{Director, "eth1", "192.168.10.200/24"},
		}},
		Bridges: []BridgeSpec{backend()},
	}
}

// DR returns the study note's single-segment DR lab (section 5.2), which the
// TUN, firewall-mark and persistence labs reuse: the client (192.168.10.100/24,
// gateway 192.168.10.200) is linked to the router's eth0 (192.168.10.200/24);
// the router (ip_forward=1) reaches 10.0.0.0/24 from its eth1 (10.0.0.200/24)
// on the bridge LAN, which also joins the director (DIP 10.0.0.8/24), rs1
// (10.0.0.110/24) and rs2 (10.0.0.120/24), all with gateway 10.0.0.200. Each
// real server answers on :80 and :88 with a page naming it.
//
// No VIP, ARP sysctl or IPVS state is configured.
func DR() Spec {
	return Spec{
		Hosts: []HostSpec{
			client(),
			{Name: Router, Sysctls: []SysctlSpec{{"net.ipv4.ip_forward", "1"}}},
			{Name: Director, Routes: []RouteSpec{{"default", "10.0.0.200"}}},
			realServer(RS1, "10.0.0.200"),
			realServer(RS2, "10.0.0.200"),
		},
		Links: []LinkSpec{{
			A: PortSpec{Client, "eth0", "192.168.10.100/24"},
			B: PortSpec{Router, "eth0", "192.168.10.200/24"},
		}},
		Bridges: []BridgeSpec{backend(PortSpec{Router, "eth1", "10.0.0.200/24"})},
	}
}

// DRMultiSegment returns the study note's multi-segment DR lab (section 5.3):
// DR plus 172.16.0.200/24 on the router's eth1, the segment of the VIP
// 172.16.0.100 that the SDK adds.
func DRMultiSegment() Spec {
	s := DR()
	for i := range s.Hosts {
		if s.Hosts[i].Name == Router {
			s.Hosts[i].Addrs = append(s.Hosts[i].Addrs, AddrSpec{"eth1", "172.16.0.200/24"})
		}
	}
	return s
}

// DR6 returns the IPv6 twin of DR, for IPv6 services: the client
// (fd00:10::100/64, gateway fd00:10::200) is linked to the router's eth0
// (fd00:10::200/64); the router (net.ipv6.conf.all.forwarding=1) reaches
// fd00:1::/64 from its eth1 (fd00:1::200/64) on the bridge LAN, which also
// joins the director (fd00:1::8/64), rs1 (fd00:1::110/64) and rs2
// (fd00:1::120/64), all with gateway fd00:1::200. Each real server answers
// on :80 and :88 with a page naming it. Addresses are added without
// duplicate address detection, so they work at once.
//
// No VIP, route to a VIP or IPVS state is configured. Unlike IPv4's ARP,
// Linux answers neighbour solicitations only for addresses of the
// interface they arrive on, so a VIP on the director's lo is reached
// through a route on the router (VIP/128 via fd00:1::8), which the user
// of the lab adds.
func DR6() Spec {
	return Spec{
		Hosts: []HostSpec{
			{Name: Client, Routes: []RouteSpec{{"default", "fd00:10::200"}}},
			{Name: Router, Sysctls: []SysctlSpec{{"net.ipv6.conf.all.forwarding", "1"}}},
			{Name: Director, Routes: []RouteSpec{{"default", "fd00:1::200"}}},
			realServer(RS1, "fd00:1::200"),
			realServer(RS2, "fd00:1::200"),
		},
		Links: []LinkSpec{{
			A: PortSpec{Client, "eth0", "fd00:10::100/64"},
			B: PortSpec{Router, "eth0", "fd00:10::200/64"},
		}},
		Bridges: []BridgeSpec{{Name: LAN, Ports: []PortSpec{
			{Router, "eth1", "fd00:1::200/64"},
			{Director, "eth0", "fd00:1::8/64"},
			{RS1, "eth0", "fd00:1::110/64"},
			{RS2, "eth0", "fd00:1::120/64"},
		}}},
	}
}

// client is the lab's client, whose gateway is 192.168.10.200.
func client() HostSpec {
	return HostSpec{Name: Client, Routes: []RouteSpec{{"default", "192.168.10.200"}}}
}

// realServer is a real server named name with default gateway gw, serving
// its name on the ports the labs use.
func realServer(name, gw string) HostSpec {
	return HostSpec{
		Name:   name,
		Routes: []RouteSpec{{"default", gw}},
		Pages:  []PageSpec{{":80", name}, {":88", name}},
	}
}

// backend is the 10.0.0.0/24 segment: the director, rs1, rs2 and extra.
func backend(extra ...PortSpec) BridgeSpec {
	return BridgeSpec{Name: LAN, Ports: append(extra,
		PortSpec{Director, "eth0", "10.0.0.8/24"},
		PortSpec{RS1, "eth0", "10.0.0.110/24"},
		PortSpec{RS2, "eth0", "10.0.0.120/24"},
	)}
}
