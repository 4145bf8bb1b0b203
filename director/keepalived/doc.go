// Package keepalived brings a keepalived configuration over to a
// director.Config: its virtual_server and virtual_server_group blocks,
// their real servers and health checkers. What has no counterpart in the
// director (VRRP, notification scripts of differing real servers, a
// second checker on a real server) is not carried over, and each such
// thing is listed as a Note.
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
//	several checkers on a real server, or           one check per service; the others noted
//	  different ones on different real servers
//	SSL_GET never verifies certificates             neither does the check (insecure: true); the
//	                                                  note says how to verify
//	SSL certificate without key (or key without     the check kept, without client certificate,
//	  certificate)                                    noted
//	alpha (start down), omega (scripts on stop)     not carried, noted
//	lvs_sync_daemon                                 cluster.sync where the director takes it, else
//	                                                  noted with its settings
//	lvs_timeouts                                    timeouts
//	VRRP, BFD, FILE_CHECK, global_defs' others      not carried, noted
//
// # Limits
//
// The importer reads at most 64 MiB, all files together, and as much again
// after $ expansion, 1 MiB a line; it makes at most 65,536 services (each
// member of a virtual_server_group one) and 1,048,576 real servers in all.
// Past a limit it stops with a *LimitError naming it. An include of a
// device, a FIFO or a directory is a *SyntaxError before it is opened.
// Notes show keywords, names and addresses, never other words of the
// files read, so that an include of a file that is not a configuration
// does not print it.
package keepalived
