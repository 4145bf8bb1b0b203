// Package ipvsadm is ipvsadm, the IPVS administration tool, as a user of
// package ipvs: its rule syntax, read exactly as ipvsadm 1.31 reads it, and
// its listings and save format, byte for byte.
//
//   - ParseRules reads rule lines (-A, -E, -D, -a, -e, -d: an ipvsadm-save
//     file, or one command line) into ipvs.Rule values holding what ipvsadm
//     would send for them: its defaults (wlc, -g, weight 1, -p alone 360
//     seconds), its rewrites (a -g or -i real server takes its service's
//     port) and its refusals, with ipvsadm's messages. ipvs.Batch.AddRules
//     queues them; loading a file so gives the kernel table ipvsadm -R
//     gives.
//   - WriteList prints an ipvs.Table as ipvsadm -Ln does, and with
//     --stats, --rate and --exact.
//   - WriteRules prints it as ipvsadm -Sn (ipvsadm-save -n) does, which
//     ipvsadm -R and ParseRules read back.
//
// Names are never looked up: addresses and ports are numeric, as with -n.
// The words the output uses for protocols, forwarding methods, tunnel types
// and scheduler flags are package ipvs's spelling tables (String and
// ServiceFlags.Names). WriteConnections is the connection listing,
// ipvsadm -Lnc.
//
// The package is tested against the real ipvsadm on a real kernel: rule
// files loaded by both give the same table, what ipvsadm refuses is refused
// with its message, and the listings are compared byte for byte.
package ipvsadm
