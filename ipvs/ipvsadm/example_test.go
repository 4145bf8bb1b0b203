package ipvsadm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

// Rules read as ipvsadm reads them: -p alone is 360 seconds, a -g real
// server gets its service's port, -r without a port takes it too, and the
// weight is 1 unless given. What ipvsadm refuses is refused with its
// message.
func ExampleParseRules() {
	rules, err := ipvsadm.ParseRules(strings.NewReader(`# ipvsadm-save -n
-A -t 10.0.0.100:80 -s wrr -p
-a -t 10.0.0.100:80 -r 10.0.0.110:8080 -g
-a -t 10.0.0.100:80 -r 10.0.0.120 -m -w 3 -x 100 -y 20
`))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rules {
		fmt.Println(r.FullString()) // String leaves out -x and -y, as ipvsadm -S does
	}
	fmt.Println(rules[0].Service.Timeout, rules[1].Destination.Forward)

	_, err = ipvsadm.ParseRules(strings.NewReader("-A -t 10.0.0.100:80 -o"))
	fmt.Println(errors.Is(err, ipvs.ErrInvalid), err)
	// Output:
	// -A -t 10.0.0.100:80 -s wrr -p 360
	// -a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1
	// -a -t 10.0.0.100:80 -r 10.0.0.120:80 -m -w 3 -x 100 -y 20
	// 6m0s Route
	// true ipvsadm: rules line 1: One-Packet Scheduling is only for UDP virtual services: "-A -t 10.0.0.100:80 -o"
}

// ipvsadm -R: a rules file loaded in one batch.
func ExampleParseRules_restore() {
	f, err := os.Open("/etc/ipvsadm.rules")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	rules, err := ipvsadm.ParseRules(f)
	if err != nil {
		log.Fatal(err) // a *ipvsadm.RuleError names the line
	}
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var b ipvs.Batch
	b.AddRules(rules)
	results, err := c.Apply(context.Background(), &b)
	if err != nil {
		log.Fatal(err)
	}
	for i, err := range results {
		if err != nil {
			fmt.Printf("%v: %v\n", rules[i], err)
		}
	}
}

// table is a director's table as Client.Table reads it.
var table = ipvs.Table{
	Info: ipvs.Info{Version: 0x010201, ConnTableSize: 4096},
	Services: []ipvs.TableService{{
		Service: ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80"), Scheduler: ipvs.SourceHashing,
			Flags: ipvs.FlagSHFallback, Timeout: 300 * time.Second, Netmask: 24,
			Stats: ipvs.Stats{Connections: 1234, PacketsIn: 56789, PacketsOut: 43210, BytesIn: 4321987, BytesOut: 987654321}},
		Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("10.0.0.120:80"), Forward: ipvs.DirectRoute, Weight: 2,
				Stats: ipvs.Stats{Connections: 600, PacketsIn: 30000, PacketsOut: 20000, BytesIn: 2000000, BytesOut: 500000000}},
			{Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 1,
				Stats: ipvs.Stats{Connections: 634, PacketsIn: 26789, PacketsOut: 23210, BytesIn: 2321987, BytesOut: 487654321}},
		},
	}, {
		Service: ipvs.Service{FirewallMark: 10, Scheduler: ipvs.MaglevHashing, Flags: ipvs.FlagMHPort},
	}},
}

// ipvsadm -Ln --stats: services and real servers in ipvsadm's order,
// numbers too wide for their column scaled as ipvsadm does.
func ExampleWriteList() {
	if err := ipvsadm.WriteList(os.Stdout, table, ipvsadm.ListFormat{Stats: true}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// IP Virtual Server version 1.2.1 (size=4096)
	// Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
	//   -> RemoteAddress:Port
	// TCP  10.0.0.100:80                    1234    56789    43210  4321987  987654K
	//   -> 10.0.0.110:80                     634    26789    23210  2321987  487654K
	//   -> 10.0.0.120:80                     600    30000    20000  2000000  500000K
	// FWM  10                                  0        0        0        0        0
}

// ipvsadm -Ln of a live table.
func ExampleWriteList_kernel() {
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	t, err := c.Table(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	ipvsadm.WriteList(os.Stdout, t, ipvsadm.ListFormat{})
}

// ipvsadm -Sn: the rules ipvsadm -R (and ParseRules) read back.
func ExampleWriteRules() {
	if err := ipvsadm.WriteRules(os.Stdout, table); err != nil {
		log.Fatal(err)
	}
	// Output:
	// -A -t 10.0.0.100:80 -s sh -p 300 -M 255.255.255.0 -b sh-fallback
	// -a -t 10.0.0.100:80 -r 10.0.0.110:80 -g -w 1
	// -a -t 10.0.0.100:80 -r 10.0.0.120:80 -g -w 2
	// -A -f 10 -s mh -b mh-port
}
