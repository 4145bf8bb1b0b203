// Package keepalived brings a keepalived configuration over to a
// director.Config: its virtual_server and virtual_server_group blocks,
// their real servers and health checkers, and its VRRP instances, scripts
// and sync groups (the director's vrrp section). What has no counterpart
// in the director (VMAC, AH authentication, notification scripts of
// differing real servers, a second checker on a real server) is not
// carried over, and each such thing is listed as a Note.
//
// The mapping follows keepalived's own parser and defaults (lib/parser.c,
// check_parser.c, check_data.c, the check_*.c checkers): a real server's
// weight defaults to the virtual server's (1), its forwarding method to
// the virtual server's lb_kind (NAT), a failed real server is removed
// unless inhibit_on_failure quiesces it, a checker gives up after retry+1
// failures and takes a server back after one success, and a virtual
// server without a protocol is UDP.
//
// # keepalived's behaviours, and which are reproduced
//
//	keepalived                                      here
//	----------------------------------------------  -----------------------------------------------
//	include (and includer, ...), globs, relative    yes; a relative pattern from the including
//	  to the including file                           file's directory; only regular files
//	@ID / @^ID lines (keepalived -i ID)             yes, Options.ConfigID (default: none)
//	$NAME=VALUE, $NAME and ${NAME}, nested          yes
//	$NAME=... \ multi-line definitions              yes: each line a line where it is used
//	a \ ending another line                         ignored, noted (keepalived joins no others)
//	~SEQ, ~LST                                      no: a *SyntaxError
//	# and ! comments, "quoted words", \# and \!      yes
//	a block keyword unknown where it stands:        yes inside virtual_server, real_server and the
//	  its { ignored, its } closes the enclosing       checkers (noted); other blocks keep their
//	  block                                           braces as written
//	an extra }, a { without a keyword (its }        yes, noted
//	  closes the enclosing block), a block left
//	  open at the end of the input
//	words after a virtual_server's or               ignored, noted
//	  real_server's address and port
//	a virtual_server without real servers           left out, noted (keepalived ignores it)
//	a second "virtual_server group G" block         its real servers join the first's services
//	quorum over the real servers' total weight      reduced to it ("reducing quorum to N"), noted
//	hysteresis not below the quorum                 lowered to quorum-1, noted
//	quorum and hysteresis as weights                as counts of real servers when all weigh the
//	                                                  same, else noted
//	the live real servers once the quorum is lost:  quiesced (weight 0), noted where keepalived
//	  removed with a sorry server (unless             differs
//	  inhibit_on_failure), left in without one
//	MISC_CHECKs differing only by each real         one command reading LVS_RS_ADDR and
//	  server's address and port                       LVS_RS_PORT, noted
//	several checkers on a real server (up while     the real server's checks (up while every one
//	  none has failed), different ones on             passes), each with its inhibit_on_failure;
//	  different real servers                          the service's check or checks when all real
//	                                                  servers have the same
//	an HTTP_GET's or SSL_GET's several urls         one check per url (each counting its own
//	  (every one GET in turn)                         retries), noted
//	an SMTP_CHECK's host blocks (a checker each)    one check per host at the real server's
//	                                                  address; another address noted
//	FILE_CHECK with its track_file (weight 0:       the file check (healthy: zero; reverse:
//	  fails while not 0; a weight: adds number *      nonzero, noted: keepalived acts on changes,
//	  weight to the real server's weight)             a 0 at its start leaves the real server up;
//	                                                  a weight: fails only where keepalived does,
//	                                                  the weight change noted), read every second;
//	                                                  init_file noted
//	SSL_GET never verifies certificates             neither does the check (insecure: true); the
//	                                                  note says how to verify
//	SSL certificate without key (or key without     the check kept, without client certificate,
//	  certificate)                                    noted
//	alpha (start down), omega (scripts on stop)     not carried, noted
//	lvs_sync_daemon IF [inst VI]                    with a vrrp section, vrrp.syncDaemon following VI
//	                                                  (both daemons always without VI, or with VI not
//	                                                  carried over); without one, cluster.sync (both
//	                                                  daemons); an instance that does not exist
//	                                                  clears it, as in keepalived
//	lvs_timeouts                                    timeouts
//	BFD, global_defs' others                        not carried, noted
//
// # VRRP
//
// keepalived 2.2.7's vrrp_parser.c reads each vrrp_instance, and
// vrrp.c's vrrp_complete_instance completes it; so does the importer,
// then it validates the instance as package director/vrrp does. An
// instance keepalived refuses (no virtual_router_id, a VRID used twice on
// an interface, a name defined twice), or the director does (no
// interface, no virtual_ipaddress, auth_type AH, IPv6 with version 2), is
// left out with a note; sync groups and lvs_sync_daemon lose it too.
//
//	keepalived                                      director (vrrp section)
//	----------------------------------------------  -----------------------------------------------
//	vrrp_instance NAME                              instances[].name
//	interface                                       interface
//	virtual_router_id                               vrid
//	priority (100; 255 with state MASTER and no     priority (255: the address owner, as keepalived
//	  priority)                                       takes it; noted)
//	state                                           no field: the director starts in backup, as
//	                                                  keepalived does
//	version, global vrrp_version (2), IPv6 (3)      version
//	advert_int (v2 whole seconds, v3 centiseconds,  interval
//	  rounded as keepalived rounds it)
//	unicast_src_ip, mcast_src_ip                    source
//	unicast_peer { ADDR [min_ttl N] [max_ttl N] }   peers (the TTL limits noted)
//	authentication { auth_type PASS auth_pass }     password (its first 8 bytes; none with version 3
//	                                                  or strict mode, as keepalived)
//	virtual_ipaddress { ADDR[/LEN] [dev IF] ... }   vips (address/prefix, interface; label, scope,
//	                                                  brd and the others noted)
//	virtual_ipaddress_excluded                      excludedVIPs
//	nopreempt, preempt_delay                        noPreempt, preemptDelay (cleared where keepalived
//	                                                  clears them: address owner, state MASTER)
//	garp_master_* and garp_lower_prio_*, global     garp (where not keepalived's defaults; 0
//	  vrrp_garp_* (read before the instance)          delays and 0 lower-priority repeats noted)
//	track_interface { IF [weight N] }               track.interfaces
//	track_script { S [weight N] }, vrrp_script S    track.checks: a command check (interval 1s,
//	  { script interval timeout rise fall weight }    timeout the interval, rise and fall 1)
//	weights in a sync group, on the address owner   dropped or made 0 as keepalived does, noted
//	  (priority 255)
//	... weight N reverse                            not carried, noted
//	notify_master, _backup, _fault, _stop, notify   notify.master, .backup, .fault, .stop, .any (the
//	                                                  command line split into words as keepalived
//	                                                  splits it; a user noted)
//	vrrp_sync_group { group { } notify_* track_* }  syncGroups (the group's tracking copied to each
//	                                                  member, as keepalived applies it)
//	use_vmac, use_ipvlan, vmac_xmit_base, accept,   not carried, noted with why (see package
//	  dont_track_primary, track_file, track_bfd,      director/vrrp's "Not supported")
//	  track_process, mcast_dst_ip, vrrp_strict's
//	  firewall, ...
//
// # Limits
//
// The importer reads at most 64 MiB, all files together, and as much again
// after $ expansion, 1 MiB a line; it makes at most 65,536 services (each
// member of a virtual_server_group one) and 1,048,576 real servers in all,
// and copies at most 1,048,576 items tracked by sync groups to their
// members (each counted once per member).
// Past a limit it stops with a *LimitError naming it. An include of a
// device, a FIFO or a directory is a *SyntaxError before it is opened.
// Notes show keywords, names and addresses, never other words of the
// files read, so that an include of a file that is not a configuration
// does not print it.
package keepalived
