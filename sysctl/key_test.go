package sysctl

import (
	"errors"
	"io/fs"
	"testing"
)

func TestKeyPath(t *testing.T) {
	for k, want := range map[Key]string{
		IPv4Forward:                        "/proc/sys/net/ipv4/ip_forward",
		ArpIgnore("all"):                   "/proc/sys/net/ipv4/conf/all/arp_ignore",
		RPFilter("eth0.100"):               "/proc/sys/net/ipv4/conf/eth0.100/rp_filter",
		"net.ipv4.conf.eth0/100.rp_filter": "/proc/sys/net/ipv4/conf/eth0.100/rp_filter",
		ConfIPv6("lo", "disable_ipv6"):     "/proc/sys/net/ipv6/conf/lo/disable_ipv6",
		VSConntrack:                        "/proc/sys/net/ipv4/vs/conntrack",
	} {
		got, err := k.Path()
		if err != nil || got != want {
			t.Errorf("%q.Path() = %q, %v; want %q", k, got, err, want)
		}
	}
	if k := ArpAnnounce("eth0.100"); k != "net.ipv4.conf.eth0/100.arp_announce" {
		t.Errorf("ArpAnnounce(eth0.100) = %q", k)
	}
	for _, bad := range []Key{"", "net..ipv4", ".net", "net.", "net.ipv4.conf.//.x", "net.ip v4", "net.ipv4.conf.../x"} {
		_, err := bad.Path()
		var ve *ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%q.Path(): err = %v, want a ValidationError", bad, err)
		}
	}
}

func TestSame(t *testing.T) {
	if !same("32768\t60999", "32768 60999") || !same("1\n", "1") || same("1", "2") {
		t.Error("same compares fields wrongly")
	}
}

// TestValidationErrorIs: both kinds of ValidationError match ErrInvalid and
// fs.ErrInvalid, and nothing else.
func TestValidationErrorIs(t *testing.T) {
	for _, err := range []error{
		&ValidationError{Key: "net..x", Reason: "empty component"},
		&ValidationError{Key: IPv4Forward, Value: true, Reason: "contains NUL"},
	} {
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%v does not match ErrInvalid and fs.ErrInvalid", err)
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%v matches an unrelated error", err)
		}
	}
}
