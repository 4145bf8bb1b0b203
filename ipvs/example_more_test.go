package ipvs_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

// UpdateDestination writes the whole Destination it is given (ipvsadm -e):
// every field, the forwarding method included.
func ExampleClient_UpdateDestination() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	err = c.UpdateDestination(ctx, svc, ipvs.Destination{
		Addr: netip.MustParseAddrPort("10.0.0.110:80"), Forward: ipvs.DirectRoute, Weight: 3, UpperThreshold: 1000,
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Reading a service's real servers with their connections and the
// kernel's 64-bit counters (refreshed by its estimator every 2 seconds),
// as ipvsadm -Ln --stats shows them.
func ExampleClient_Destinations() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	ds, err := c.Destinations(ctx, svc)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ds {
		fmt.Printf("%v weight %d: %d active, %d inactive; %d connections, %d packets in, %d bytes in, %d connections/s\n",
			d.Addr, d.Weight, d.ActiveConns, d.InactiveConns, d.Stats.Connections, d.Stats.PacketsIn, d.Stats.BytesIn, d.Stats.CPS)
	}
}

// The whole table at once, every service with its real servers, in one
// read of the kernel; package ipvsadm writes it as ipvsadm-save's rules.
func ExampleClient_Table() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	t, err := c.Table(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range t.Services {
		fmt.Printf("%v %v: %d real servers, %d connections so far\n", s.Key(), s.Scheduler, len(s.Destinations), s.Stats.Connections)
	}
	ipvsadm.WriteRules(os.Stdout, t) // as ipvsadm -Sn writes them (package ipvs/ipvsadm)
}

// The connection table (ipvsadm -Lnc), one entry at a time: entries a
// sync daemon brought from another director are marked Synced.
func ExampleClient_AllConnections() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	established := 0
	for conn, err := range c.AllConnections(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		if conn.State == "ESTABLISHED" {
			established++
		}
		if conn.Synced {
			fmt.Printf("synced: %v -> %v -> %v\n", conn.Client, conn.Virtual, conn.Destination)
		}
	}
	fmt.Println(established, "established")
}

// A director that is both master and backup of the sync daemon, as every
// director of a cluster is (ipvsadm --start-daemon master/backup).
func ExampleClient_StartSyncDaemon() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, state := range []ipvs.SyncState{ipvs.SyncMaster, ipvs.SyncBackup} {
		if err := c.StartSyncDaemon(ctx, ipvs.SyncDaemon{State: state, Interface: "eth1", SyncID: 9}); err != nil {
			log.Fatal(err) // errors.Is(err, fs.ErrExist): one of that state runs already
		}
	}
	ds, err := c.SyncDaemons(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ds {
		fmt.Printf("%v on %s, syncid %d, group %v port %d\n", d.State, d.Interface, d.SyncID, d.Group, d.Port)
	}
	if err := c.StopSyncDaemon(ctx, ipvs.SyncBackup); err != nil {
		log.Fatal(err)
	}
}

// IPVS's connection timeouts (ipvsadm --set tcp tcpfin udp): a zero field
// is left as it is.
func ExampleClient_SetTimeouts() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.SetTimeouts(ctx, ipvs.Timeouts{TCP: 15 * time.Minute, UDP: time.Minute}); err != nil {
		log.Fatal(err)
	}
	t, err := c.Timeouts(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.TCP, t.TCPFin, t.UDP)
}

// Zeroing a service's counters (ipvsadm -Z -t), and the client's own:
// how many requests, system calls and datagrams it took.
func ExampleClient_ZeroService() {
	ctx := context.Background()
	c, err := ipvs.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	svc := ipvs.Service{Protocol: ipvs.TCP, Addr: netip.MustParseAddrPort("10.0.0.100:80")}
	if err := c.ZeroService(ctx, svc); err != nil {
		log.Fatal(err)
	}
	n := c.Counters()
	fmt.Println(n.Requests, "requests in", n.Writes, "sendmsg calls")
}

// A service's identity from text, as ipvsadm -Ln prints it or as
// configuration files write it.
func ExampleParseKey() {
	for _, s := range []string{"tcp 10.0.0.100:80", "UDP  [2001:db8::1]:53", "fwmark 10 ipv6"} {
		k, err := ipvs.ParseKey(s)
		if err != nil {
			log.Fatal(err)
		}
		b, _ := k.MarshalText()
		fmt.Printf("%-22q %s\n", s, b)
	}
	// Output:
	// "tcp 10.0.0.100:80"    tcp 10.0.0.100:80
	// "UDP  [2001:db8::1]:53" udp [2001:db8::1]:53
	// "fwmark 10 ipv6"       fwmark 10 ipv6
}
