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

// A keepalived pair's VRRP instance and sync daemon become the director's
// vrrp section.
func ExampleImport_vrrp() {
	cfg, notes, err := keepalived.Import(strings.NewReader(`
global_defs {
    lvs_sync_daemon eth1 inst VI_1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.1/24 label eth0:1
    }
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    real_server 192.0.2.10 80 {
    }
}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	in := cfg.VRRP.Instances[0]
	fmt.Println(in.Name, in.Interface, in.VRID, in.Priority, in.Version, in.Interval, in.VIPs[0].Address)
	fmt.Println("sync daemon follows", cfg.VRRP.SyncDaemon.Instance, "on", cfg.VRRP.SyncDaemon.Interface, "id", cfg.VRRP.SyncDaemon.SyncID)
	for _, n := range notes {
		fmt.Println(n)
	}
	// Output:
	// VI_1 eth0 51 150 2 1s 192.0.2.1/24
	// sync daemon follows VI_1 on eth1 id 51
	// keepalived.conf:2: global_defs: not carried over (except lvs_sync_daemon, carried as vrrp.syncDaemon)
	// keepalived.conf:3: global_defs: lvs_sync_daemon: carried as vrrp.syncDaemon {instance: VI_1, interface: eth1, syncID: 51}: the master daemon while VRRP instance VI_1 is master, the backup daemon while it is not, as keepalived runs them
	// keepalived.conf:15: vrrp_instance VI_1: virtual_ipaddress: 192.0.2.1: label not carried over (the director adds the address with its prefix length and interface alone)
}
