package vrrp_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director/vrrp"
)

// links stands in for the director's Links (AddAddr / DelAddr).
type links struct{}

func (links) AddAddr(ctx context.Context, link string, p netip.Prefix) error {
	fmt.Println("add", p, "to", link)
	return nil
}

func (links) DelAddr(ctx context.Context, link string, p netip.Prefix) error {
	fmt.Println("remove", p, "from", link)
	return nil
}

// An instance as keepalived's
//
//	vrrp_instance VI_1 { interface eth0 virtual_router_id 51 priority 150
//	                     advert_int 1 virtual_ipaddress { 192.0.2.10/24 } }
//
// run until ctx is done, when it sends priority 0 and removes the VIP.
func Example() {
	cfg := vrrp.Config{
		Name: "VI_1", Interface: "eth0", VRID: 51, Priority: 150,
		Interval: time.Second,
		VIPs:     []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.10/24")}},
	}
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	conn, err := vrrp.Listen(&cfg, 0) // 0: this namespace
	if err != nil {
		fmt.Println(err)
		return
	}
	ann, err := vrrp.NewAnnouncer(cfg.Interface, cfg.Is6(), 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	in, err := vrrp.New(cfg, vrrp.Options{Conn: conn, Addrs: links{}, Announcer: ann,
		Events: func(e vrrp.Event) { fmt.Println(e.Instance, e.From, "->", e.To) }})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = in.Run(ctx)
}

// Bad input is refused before anything is opened.
func ExampleConfig_Validate() {
	cfg := vrrp.Config{Name: "VI_1", Interface: "eth0", VRID: 51, Priority: 100,
		AuthType: vrrp.AuthPass, Password: "far-too-long",
		VIPs: []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.10/24")}}}
	fmt.Println(cfg.Validate())
	// Output: vrrp: VI_1: PASS password of 12 bytes is not 1-8
}

// Decoding an advert keepalived sent (captured in testdata).
func ExampleUnmarshal() {
	b := []byte{0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0x70, 0x66, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0}
	a, err := vrrp.Unmarshal(b, vrrp.Addressing{Src: netip.MustParseAddr("10.0.0.2"), Dst: vrrp.Group4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Version, a.VRID, a.Priority, a.Interval, a.Addrs)
	// Output: v2 51 100 1s [10.0.0.100]
}
