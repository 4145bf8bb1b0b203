package sysctl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lvs-go/lvs/sysctl"
)

// The DR real-server ARP settings of the study note, applied as one change
// and reverted exactly.
func ExampleSysctl_Apply() {
	s, err := sysctl.New(nil) // or &sysctl.Config{NetNS: fd}
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	undo, err := s.Apply(ctx,
		sysctl.Setting{Key: sysctl.ArpIgnore("all"), Value: "1"},
		sysctl.Setting{Key: sysctl.ArpAnnounce("all"), Value: "2"},
		sysctl.Setting{Key: sysctl.ArpIgnore("lo"), Value: "1"},
		sysctl.Setting{Key: sysctl.ArpAnnounce("lo"), Value: "2"},
	)
	if err != nil {
		log.Fatal(err) // nothing was left half-applied
	}
	fmt.Println("changed:", undo)
	if err := s.Restore(ctx, undo); err != nil {
		log.Fatal(err)
	}
}

func ExampleConfIPv4() {
	fmt.Println(sysctl.ConfIPv4("eth0.100", "rp_filter"))
	// Output: net.ipv4.conf.eth0/100.rp_filter
}
