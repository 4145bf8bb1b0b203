//go:build linux

package nstest

import (
	"net"
	"testing"

	"github.com/vishvananda/netns"
)

func TestNewIsFreshAndThreadIsRestored(t *testing.T) {
	ns := New(t)
	self, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if ns.Equal(self) {
		t.Fatal("New returned the caller's namespace")
	}
	var ifaces []net.Interface
	if err := Do(ns, func() error {
		var err error
		ifaces, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" || ifaces[0].Flags&net.FlagUp == 0 {
		t.Fatalf("fresh namespace interfaces = %+v, want only lo, up", ifaces)
	}
	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !after.Equal(self) {
		t.Fatal("thread left in a foreign namespace")
	}
}
