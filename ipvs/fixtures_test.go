package ipvs

import (
	"context"
	"net/netip"
	"time"
)

// ipvsCommand is an ipvsadm command line and the Client call that must send
// a request with the same attributes (testdata/kernel.txt holds what
// ipvsadm sent).
type ipvsCommand struct {
	args  string // ipvsadm arguments
	setup string // ipvsadm -R input run first, if any
	cmd   uint8  // the IPVS command the SDK sends
	exact bool   // false: ipvsadm may send attributes the SDK leaves out
	// extra lists attributes ipvsadm sends that the SDK need not: a whole
	// service where only its key matters, and zero tunnel settings on
	// destinations that are not tunnels.
	extra []string
	call  func(context.Context, *Client) error
}

// destExtra is what ipvsadm adds to destination commands.
var destExtra = []string{"1.6", "1.7", "1.8", "1.9", "2.13", "2.14", "2.15"}

var (
	fixSvc  = Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: WeightedRoundRobin}
	fixRS   = netip.MustParseAddrPort("10.0.0.110:80")
	fixFWM  = Service{FirewallMark: 10, Scheduler: RoundRobin, Timeout: 10 * time.Second, Netmask: 24}
	fixRule = "-A -t 10.0.0.100:80 -s wrr"
)

var ipvsCommands = []ipvsCommand{
	{args: "-A -t 10.0.0.100:80 -s wrr", cmd: cmdNewService, exact: true, call: createService(fixSvc)},
	{args: "-A -u [2001:db8::100]:53 -s sh -b sh-fallback,sh-port -o", cmd: cmdNewService, exact: true,
		call: createService(Service{Protocol: UDP, Addr: netip.MustParseAddrPort("[2001:db8::100]:53"), Scheduler: SourceHashing,
			Flags: FlagSHFallback | FlagSHPort | FlagOnePacket})},
	{args: "-A -t [2001:db8::100]:443 -s mh -b mh-port -p 300 -M 64", cmd: cmdNewService, exact: true,
		call: createService(Service{Protocol: TCP, Addr: netip.MustParseAddrPort("[2001:db8::100]:443"), Scheduler: MaglevHashing,
			Flags: FlagMHPort, Timeout: 300 * time.Second, Netmask: 64})},
	{args: "-A -f 10 -s rr -p 10 -M 255.255.255.0", cmd: cmdNewService, exact: true, call: createService(fixFWM)},
	{args: "-A -f 11 -6 -s lc", cmd: cmdNewService, exact: true,
		call: createService(Service{FirewallMark: 11, Family: IPv6, Scheduler: LeastConnection})},
	{args: "-A --sctp-service 10.0.0.100:3868 -s nq", cmd: cmdNewService, exact: true,
		call: createService(Service{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.100:3868"), Scheduler: NeverQueue})},
	{args: "-A -u 10.0.0.102:5060 -s rr -p 60 --pe sip", cmd: cmdNewService, exact: true,
		call: createService(Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.102:5060"), Scheduler: RoundRobin,
			Timeout: 60 * time.Second, PersistenceEngine: "sip"})},
	{args: "-E -t 10.0.0.100:80 -s rr -p 30", setup: fixRule, cmd: cmdSetService, exact: true,
		call: func(ctx context.Context, c *Client) error {
			return c.UpdateService(ctx, Service{Protocol: TCP, Addr: fixSvc.Addr, Scheduler: RoundRobin, Timeout: 30 * time.Second})
		}},
	{args: "-D -t 10.0.0.100:80", setup: fixRule, cmd: cmdDelService,
		call: func(ctx context.Context, c *Client) error { return c.DeleteService(ctx, fixSvc) }},
	{args: "-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 2", setup: fixRule, cmd: cmdNewDest, exact: true, extra: destExtra,
		call: createDest(Destination{Addr: fixRS, Forward: DirectRoute, Weight: 2})},
	{args: "-a -t 10.0.0.100:80 -r 10.0.0.110:8080 -m -w 3 -x 100 -y 20", setup: fixRule, cmd: cmdNewDest, exact: true, extra: destExtra,
		call: createDest(Destination{Addr: netip.MustParseAddrPort("10.0.0.110:8080"), Forward: Masquerade, Weight: 3,
			UpperThreshold: 100, LowerThreshold: 20})},
	{args: "-a -t 10.0.0.100:80 -r 10.0.0.110:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum", setup: fixRule, cmd: cmdNewDest, exact: true, extra: destExtra,
		call: createDest(Destination{Addr: fixRS, Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE, TunnelPort: 6080,
			TunnelFlags: TunnelChecksum})},
	{args: "-e -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 5", setup: fixRule + "\n-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1",
		cmd: cmdSetDest, exact: true, extra: destExtra, call: func(ctx context.Context, c *Client) error {
			return c.UpdateDestination(ctx, fixSvc, Destination{Addr: fixRS, Forward: DirectRoute, Weight: 5})
		}},
	{args: "-d -t 10.0.0.100:80 -r 10.0.0.110:80", setup: fixRule + "\n-a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1",
		cmd: cmdDelDest, call: func(ctx context.Context, c *Client) error {
			return c.DeleteDestination(ctx, fixSvc, Destination{Addr: fixRS})
		}},
	{args: "--set 20 25 30", cmd: cmdSetConfig, exact: true, call: func(ctx context.Context, c *Client) error {
		return c.SetTimeouts(ctx, Timeouts{TCP: 20 * time.Second, TCPFin: 25 * time.Second, UDP: 30 * time.Second})
	}},
	{args: "-Z -t 10.0.0.100:80", setup: fixRule, cmd: cmdZero,
		call: func(ctx context.Context, c *Client) error { return c.ZeroService(ctx, fixSvc) }},
	{args: "-Z", cmd: cmdZero, exact: true, call: func(ctx context.Context, c *Client) error { return c.ZeroAll(ctx) }},
	{args: "-C", cmd: cmdFlush, exact: true, call: func(ctx context.Context, c *Client) error { return c.Flush(ctx) }},
}

func createService(svc Service) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error { return c.CreateService(ctx, svc) }
}

func createDest(d Destination) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error { return c.CreateDestination(ctx, fixSvc, d) }
}

var (
	vip4 = netip.MustParseAddrPort("10.0.0.100:80")
	vip6 = netip.MustParseAddrPort("[2001:db8::100]:80")
)

// crossTable is a table covering schedulers, flags, families, forwarding
// methods and persistence.
var crossTable = []TableService{
	{Service: Service{Protocol: TCP, Addr: vip4, Scheduler: WeightedRoundRobin}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: DirectRoute, Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: DirectRoute, Weight: 2},
	}},
	{Service: Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.100:53"), Scheduler: SourceHashing, Flags: FlagSHFallback | FlagSHPort | FlagOnePacket}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.110:5353"), Forward: Masquerade, Weight: 3, UpperThreshold: 100, LowerThreshold: 20},
	}},
	{Service: Service{Protocol: SCTP, Addr: netip.MustParseAddrPort("10.0.0.100:3868"), Scheduler: LocalityBasedLeastConnectionRepl}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.130:3868"), Forward: Tunnel, Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.140:3868"), Forward: Tunnel, Weight: 2, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelChecksum},
		{Addr: netip.MustParseAddrPort("10.0.0.150:3868"), Forward: Tunnel, Weight: 3, TunnelType: TunnelGRE, TunnelFlags: TunnelChecksum},
		{Addr: netip.MustParseAddrPort("10.0.0.160:3868"), Forward: Tunnel, Weight: 4, TunnelType: TunnelGUE, TunnelPort: 7000},
		{Addr: netip.MustParseAddrPort("127.0.0.1:3868"), Forward: Local, Weight: 5},
	}},
	{Service: Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.101:443"), Scheduler: RoundRobin, Timeout: 10 * time.Second, Netmask: 24}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.110:443"), Forward: DirectRoute, Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.120:443"), Forward: DirectRoute, Weight: 0},
	}},
	{Service: Service{Protocol: TCP, Addr: vip6, Scheduler: MaglevHashing, Flags: FlagMHFallback, Timeout: 300 * time.Second, Netmask: 64}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("[2001:db8::110]:80"), Forward: Tunnel, Weight: 1},
		{Addr: netip.MustParseAddrPort("[2001:db8::120]:8080"), Forward: Masquerade, Weight: 4},
	}},
	{Service: Service{FirewallMark: 10, Scheduler: RoundRobin}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("10.0.0.110:0"), Forward: Tunnel, Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.120:0"), Forward: Tunnel, Weight: 1},
	}},
	{Service: Service{FirewallMark: 20, Family: IPv6, Scheduler: WeightedFailover}, Destinations: []Destination{
		{Addr: netip.MustParseAddrPort("[2001:db8::130]:0"), Forward: DirectRoute, Weight: 9},
	}},
	{Service: Service{Protocol: UDP, Addr: netip.MustParseAddrPort("10.0.0.102:5060"), Scheduler: RoundRobin, Timeout: 60 * time.Second, PersistenceEngine: "sip"}},
	{Service: Service{Protocol: TCP, Addr: netip.MustParseAddrPort("10.0.0.103:80")}},
}

// expectService is what the kernel reports for a service created from s.
func expectService(s Service) Service {
	if s.Scheduler == "" {
		s.Scheduler = WeightedLeastConnection
	}
	if s.Timeout > 0 {
		s.Flags |= FlagPersistent
	}
	s.Family = s.AddressFamily()
	return s
}

// bigTable is n services with four destinations each, all distinct.
func bigTable(n int) []TableService {
	out := make([]TableService, n)
	for i := range out {
		svc := Service{Protocol: TCP, Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), Scheduler: WeightedRoundRobin}
		ds := make([]Destination, 4)
		for j := range ds {
			ds[j] = Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2 + byte(j), byte(i >> 8), byte(i)}), 8080), Forward: Masquerade, Weight: j + 1}
		}
		out[i] = TableService{Service: svc, Destinations: ds}
	}
	return out
}

// batchOf queues t: each service, then its destinations.
func batchOf(t []TableService) *Batch {
	var b Batch
	for _, ts := range t {
		b.CreateService(ts.Service)
		for _, d := range ts.Destinations {
			b.CreateDestination(ts.Service, d)
		}
	}
	return &b
}
