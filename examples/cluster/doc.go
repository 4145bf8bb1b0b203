// Command cluster runs several lvs directors behind one router, the way
// Maglev, GLB, Katran and seesaw deployments do: each director announces
// the VIP to the router (bird2) by BGP with its own speaker (package
// director/bgp), the router spreads the clients' flows over the directors
// by ECMP on the 5-tuple, every director schedules with mh (Maglev
// hashing, with mh-fallback) so that any of them sends a flow to the same
// real server, the sync daemon copies connection state between them, and
// the real servers answer the clients directly (DR). It prints what each
// scenario shows and ends each with PASS or FAIL; on a host whose kernel
// lacks IPVS it runs itself in a QEMU guest on Debian's kernel.
//
//	go run ./examples/cluster                   # every scenario
//	go run ./examples/cluster spread failover   # some
//
// Scenarios:
//
//	spread    210 flows from 100 client addresses over 3 directors: every director carries flows,
//	          every flow keeps its real server, the directors' fingerprints are equal
//	failover  a director killed (SIGKILL, link down) with flows through it: with the sync daemon,
//	          with mh alone, and the control without either (sloppy TCP off), counting flows
//	          moved, kept and reset, and the time the router took
//	add       a third director joins: new flows reach it, existing flows keep their real server
//	withdraw  a director withdrawn from the cluster while 60 flows ask every 100 ms: none breaks, and the
//	          director goes idle
//	backup    active/backup by MED: the backup carries nothing until the primary dies, then
//	          everything, synced connections included
//	pair      two lvs-directors as a VRRP pair on one LAN (no router), their configuration
//	          imported from a keepalived.conf: the master killed (SIGKILL, link down) with 30
//	          flows held, the backup takes the VIP, the client's neighbour entry moves with the
//	          gratuitous ARPs, and every flow keeps its real server (synced connections)
//	migrate   a keepalived pair (keepalived 2.2.7 on both nodes, lvs_sync_daemon) replaced by
//	          lvs-directors one node at a time with 30 flows held: the backup first, a failover
//	          to it, then the other node; every flow keeps its real server at every step
//
// Every namespace is unnamed and held by this process, which frees them
// when it ends; traffic flows only between them.
package main
