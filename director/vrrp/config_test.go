package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	base := func() Config {
		return Config{Name: "VI_1", Interface: "eth0", VRID: 51, Priority: 100,
			VIPs: []VIP{{Prefix: netip.MustParsePrefix("10.0.0.100/24")}}}
	}
	ok := base()
	if err := ok.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	v6 := base()
	v6.VIPs = []VIP{{Prefix: netip.MustParsePrefix("2001:db8::100/64")}}
	if err := v6.Validate(); err != nil {
		t.Fatalf("IPv6 config (v3 by default): %v", err)
	}
	for _, tc := range []struct {
		name string
		f    func(*Config)
	}{
		{"no interface", func(c *Config) { c.Interface = "" }},
		{"VRID 0", func(c *Config) { c.VRID = 0 }},
		{"priority 0", func(c *Config) { c.Priority = 0 }},
		{"v2 interval 1.5s", func(c *Config) { c.Interval = 1500 * time.Millisecond }},
		{"v2 interval 256s", func(c *Config) { c.Interval = 256 * time.Second }},
		{"v3 interval 5ms", func(c *Config) { c.Version, c.Interval = V3, 5*time.Millisecond }},
		{"v3 interval 41s", func(c *Config) { c.Version, c.Interval = V3, 41*time.Second }},
		{"negative interval", func(c *Config) { c.Interval = -time.Second }},
		{"version 4", func(c *Config) { c.Version = 4 }},
		{"no VIP", func(c *Config) { c.VIPs = nil }},
		{"VIP twice", func(c *Config) { c.VIPs = append(c.VIPs, c.VIPs[0]) }},
		{"mixed families", func(c *Config) { c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("2001:db8::1/64")}) }},
		{"IPv6 with v2", func(c *Config) { c.Version, c.VIPs = V2, []VIP{{Prefix: netip.MustParsePrefix("2001:db8::1/64")}} }},
		{"peer is source", func(c *Config) {
			c.Source = netip.MustParseAddr("10.0.0.1")
			c.Peers = []netip.Addr{netip.MustParseAddr("10.0.0.1")}
		}},
		{"multicast peer", func(c *Config) { c.Peers = []netip.Addr{Group4} }},
		{"password too long", func(c *Config) { c.AuthType, c.Password = AuthPass, "123456789" }},
		{"empty password", func(c *Config) { c.AuthType = AuthPass }},
		{"password without PASS", func(c *Config) { c.Password = "x" }},
		{"PASS with v3", func(c *Config) { c.Version, c.AuthType, c.Password = V3, AuthPass, "x" }},
		{"auth type AH", func(c *Config) { c.AuthType = 2 }},
		{"preempt delay", func(c *Config) { c.PreemptDelay = 1001 * time.Second }},
		{"GARP repeat", func(c *Config) { c.GARP.Repeat = -1 }},
	} {
		c := base()
		tc.f(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
}
