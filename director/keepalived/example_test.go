package keepalived_test

import (
	"fmt"
	"strings"

	"github.com/lvs-go/lvs/director/keepalived"
)

func ExampleImport() {
	cfg, notes, err := keepalived.Import(strings.NewReader(`
virtual_server 192.0.2.1 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 2
    real_server 192.0.2.10 80 {
        weight 2
        TCP_CHECK { connect_timeout 3 }
    }
}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Services[0]
	fmt.Println(s.Name, s.Scheduler, s.RealServers[0].Forward, s.RealServers[0].Weight, s.Check.Spec.Type(), s.Check.OnFailure)
	for _, n := range notes {
		fmt.Println(n)
	}
	// Output:
	// virtual_server 192.0.2.1 80 wrr Route 2 tcp remove
	// keepalived.conf:6: virtual_server 192.0.2.1 80: quorum: carried as quorum 1, hysteresis 0 (counted in real servers of weight 2: down below 1, up at 1)
	// keepalived.conf:6: virtual_server 192.0.2.1 80: quorum: with the quorum lost and no sorry_server, keepalived leaves the live real servers in service (it only runs quorum_down); the director quiesces them (weight 0)
}
