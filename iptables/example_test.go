package iptables_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/netip"

	"github.com/lvs-go/lvs/iptables"
	"github.com/vishvananda/netns"
)

// The note's lab 6: mark TCP packets to the VIP on ports 80 and 88 with
// mark 10, so that one IPVS firewall-mark service (ipvsadm -A -f 10)
// balances both ports as one cluster.
func Example() {
	fw, err := iptables.New(nil) // nftables, in the caller's namespace
	if err != nil {
		log.Fatal(err)
	}
	changed, err := fw.Sync(context.Background(), []iptables.Rule{{
		Destination: netip.MustParsePrefix("10.0.0.100/32"),
		Protocol:    iptables.TCP,
		Ports:       []iptables.PortRange{iptables.Port(80), iptables.Port(88)},
		Mark:        10,
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", changed) // false when the rule was already there
}

// Hosts whose firewall is managed with iptables get the same rules through
// iptables-restore, in the mangle chain LVS-MARK.
func ExampleNew_iptables() {
	fw, err := iptables.New(&iptables.Config{Backend: iptables.IPTables})
	if errors.Is(err, fs.ErrNotExist) {
		log.Fatal("install iptables: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	if _, err := fw.Sync(context.Background(), []iptables.Rule{{
		Destination: netip.MustParsePrefix("2001:db8::100/128"),
		Protocol:    iptables.UDP,
		Ports:       []iptables.PortRange{{First: 5060, Last: 5061}},
		Mark:        20,
	}}); err != nil {
		log.Fatal(err)
	}
}

// The rules of a director living in the named network namespace "director"
// (ip netns add director). The caller's thread stays where it is.
func ExampleConfig_netNS() {
	ns, err := netns.GetFromName("director")
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	fw, err := iptables.New(&iptables.Config{NetNS: int(ns)})
	if err != nil {
		log.Fatal(err)
	}
	rules, err := fw.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rules {
		fmt.Println(r)
	}
}

// Remove deletes everything the package owns, and nothing else.
func ExampleBackend_Remove() {
	fw, err := iptables.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := fw.Remove(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func ExampleRule_String() {
	r := iptables.Rule{
		Destination: netip.MustParsePrefix("10.0.0.100/32"),
		Source:      netip.MustParsePrefix("192.168.0.0/16"),
		Protocol:    iptables.TCP,
		Ports:       []iptables.PortRange{iptables.Port(80), iptables.Port(88), {First: 8000, Last: 8080}},
		Mark:        0x0a00,
		Mask:        0xff00,
	}
	fmt.Println(r)
	// Output:
	// -s 192.168.0.0/16 -d 10.0.0.100/32 -p tcp -m multiport --dports 80,88,8000:8080 -j MARK --set-xmark 0xa00/0xff00
}

func ExampleRule_Validate() {
	r := iptables.Rule{
		Destination: netip.MustParsePrefix("10.0.0.100/32"),
		Source:      netip.MustParsePrefix("2001:db8::/32"),
		Protocol:    iptables.TCP,
		Ports:       []iptables.PortRange{iptables.Port(80)},
		Mark:        10,
	}
	err := r.Validate()
	var verr *iptables.ValidationError
	if errors.As(err, &verr) {
		fmt.Println(verr.Field)
	}
	fmt.Println(err)
	// Output:
	// Source
	// iptables: invalid rule: Source: 2001:db8::/32 and destination 10.0.0.100/32 are of different address families
}

// A director whose real servers do not route their replies back through it
// (the FULLNAT equivalent) masquerades what it forwards to them; the mark
// rules, if any, stay as they are.
func ExampleBackend_SyncSNAT() {
	fw, err := iptables.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	changed, err := fw.SyncSNAT(context.Background(), []iptables.SNATRule{
		{Protocol: iptables.TCP, Destination: netip.MustParseAddrPort("10.0.0.2:80")},
		{Protocol: iptables.TCP, Destination: netip.MustParseAddrPort("10.0.0.3:80")},
		// A firewall-mark service's real server keeps the packet's port: any port.
		{Protocol: iptables.UDP, Destination: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::2"), 0)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed:", changed)
}

func ExampleSNATRule_String() {
	fmt.Println(iptables.SNATRule{Protocol: iptables.TCP, Destination: netip.MustParseAddrPort("10.0.0.2:80")})
	fmt.Println(iptables.SNATRule{Protocol: iptables.UDP, Destination: netip.MustParseAddrPort("[2001:db8::2]:53")})
	fmt.Println(iptables.SNATRule{Protocol: iptables.TCP, Destination: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 0)})
	// Output:
	// tcp 10.0.0.2:80
	// udp [2001:db8::2]:53
	// tcp 10.0.0.2
}

func ExampleSNATRule_Validate() {
	err := iptables.SNATRule{Protocol: iptables.TCP, Destination: netip.MustParseAddrPort("[::ffff:10.0.0.2]:80")}.Validate()
	fmt.Println(errors.Is(err, iptables.ErrInvalid), errors.Is(err, fs.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true true
	// iptables: invalid SNAT rule: Destination: ::ffff:10.0.0.2 is an IPv4-mapped IPv6 address: give it as IPv4
}

// Changing the mark rules safely: read what is there, change it, and Sync
// the whole set. The new set replaces the old one atomically; an invalid
// set is refused before anything changes, so the running rules stay.
func ExampleBackend_Sync_update() {
	ctx := context.Background()
	fw, err := iptables.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	rules, err := fw.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for i := range rules {
		if rules[i].Mark == 10 {
			rules[i].Ports = append(rules[i].Ports, iptables.Port(443))
		}
	}
	if _, err := fw.Sync(ctx, rules); errors.Is(err, iptables.ErrInvalid) {
		log.Printf("refused, nothing changed: %v", err)
	} else if err != nil {
		log.Fatal(err)
	}
}
