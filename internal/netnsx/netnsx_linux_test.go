package netnsx

import (
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// newNS makes a namespace without nstest (which builds on this package).
func newNS(t *testing.T) netns.NsHandle {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New()
	if serr := netns.Set(orig); serr != nil {
		t.Fatal(serr) // the thread stays locked and dies with the test goroutine
	}
	runtime.UnlockOSThread()
	orig.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func TestDoEntersAndLeaves(t *testing.T) {
	ns := newNS(t)
	self, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	var ifaces []net.Interface
	if err := Do(int(ns), func() error {
		inside, err = os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		ifaces, err = net.Interfaces()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside == self {
		t.Fatal("fn ran in the caller's namespace")
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" { // a fresh namespace has only lo
		t.Errorf("interfaces inside = %v, want only lo", ifaces)
	}
	for i := 0; i < 50; i++ { // whichever thread runs us now is home
		if now, _ := os.Readlink("/proc/thread-self/ns/net"); now != self {
			t.Fatalf("a thread was left in %s", now)
		}
	}
	d, err := Dup(int(ns))
	if err != nil || d == int(ns) || d == 0 {
		t.Fatalf("Dup = %d, %v", d, err)
	}
	os.NewFile(uintptr(d), "ns").Close()
}

// TestDoPanic: a panic in fn that the caller recovers leaves the goroutine
// in its own namespace.
func TestDoPanic(t *testing.T) {
	ns := newNS(t)
	self, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		Do(int(ns), func() error { panic("boom") })
	}()
	if now, _ := os.Readlink("/proc/thread-self/ns/net"); now != self {
		t.Fatalf("after a recovered panic the goroutine runs in %s, want %s", now, self)
	}
}
