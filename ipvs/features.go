package ipvs

import (
	"fmt"
	"strings"

	"github.com/lvs-go/lvs/internal/kernel"
)

// kernelAttr is an IPVS attribute nested in a top-level one: a destination
// attribute (in IPVS_CMD_ATTR_DEST, as IPVS_CMD_NEW_DEST takes it) or a sync
// daemon attribute (in IPVS_CMD_ATTR_DAEMON, as IPVS_CMD_NEW_DAEMON takes it).
type kernelAttr struct {
	cmd  uint8  // the command whose policy is read
	nest uint16 // the top-level attribute it is nested in
	typ  uint16
	name string
}

var (
	attrTunType     = kernelAttr{cmdNewDest, cmdAttrDest, destAttrTunType, "IPVS_DEST_ATTR_TUN_TYPE"}
	attrTunPort     = kernelAttr{cmdNewDest, cmdAttrDest, destAttrTunPort, "IPVS_DEST_ATTR_TUN_PORT"}
	attrTunFlags    = kernelAttr{cmdNewDest, cmdAttrDest, destAttrTunFlags, "IPVS_DEST_ATTR_TUN_FLAGS"}
	attrSyncMaxLen  = kernelAttr{cmdNewDaemon, cmdAttrDaemon, daemonAttrSyncMaxLen, "IPVS_DAEMON_ATTR_SYNC_MAXLEN"}
	attrMcastGroup  = kernelAttr{cmdNewDaemon, cmdAttrDaemon, daemonAttrMcastGroup, "IPVS_DAEMON_ATTR_MCAST_GROUP"}
	attrMcastPort   = kernelAttr{cmdNewDaemon, cmdAttrDaemon, daemonAttrMcastPort, "IPVS_DAEMON_ATTR_MCAST_PORT"}
	attrMcastTTL    = kernelAttr{cmdNewDaemon, cmdAttrDaemon, daemonAttrMcastTTL, "IPVS_DAEMON_ATTR_MCAST_TTL"}
	nestNames       = map[uint16]string{cmdAttrDest: "IPVS_CMD_ATTR_DEST", cmdAttrDaemon: "IPVS_CMD_ATTR_DAEMON"}
	nestCommandName = map[uint8]string{cmdNewDest: "IPVS_CMD_NEW_DEST", cmdNewDaemon: "IPVS_CMD_NEW_DAEMON"}
)

// A feature newer than the oldest kernels IPVS runs on: the attributes
// that carry it and the release that introduced them. The kernel ignores
// attributes it does not know, so without a check an old kernel would
// silently do something else (an IPIP tunnel instead of GUE, for example).
//
// A client decides from the kernel's own description of its IPVS policy
// (kernelFacts), which a distribution's backports change along with the
// code; the release is the rule only where the kernel gives no such
// description. Schedulers are no features: the kernel refuses a scheduler
// it has no module for itself (see schedulerError).
//
// This is the package's one table of kernel features: a new one is a line
// here and a line in the features method of what uses it.
type feature struct {
	name  string
	since kernel.Version // the mainline release that introduced it
	attrs []kernelAttr
}

var (
	featGUE = feature{"GUE tunnel destinations", kernel.V(5, 2, 0), []kernelAttr{attrTunType, attrTunPort}}
	// GRE is a value of IPVS_DEST_ATTR_TUN_TYPE, not an attribute of its
	// own: IPVS_DEST_ATTR_TUN_FLAGS, added by the same release (5.3), stands
	// for it.
	featGRE          = feature{"GRE tunnel destinations", kernel.V(5, 3, 0), []kernelAttr{attrTunType, attrTunFlags}}
	featTunnelCsum   = feature{"tunnel checksum flags", kernel.V(5, 3, 0), []kernelAttr{attrTunFlags}}
	featDaemonParams = feature{"sync daemon max length, group, port and TTL", kernel.V(4, 3, 0),
		[]kernelAttr{attrSyncMaxLen, attrMcastGroup, attrMcastPort, attrMcastTTL}}
)

// features lists every feature of the table, for the probe's report.
var features = []*feature{&featGUE, &featGRE, &featTunnelCsum, &featDaemonParams}

// kernelFacts is what a client knows of its kernel for the feature checks:
// the attributes the kernel's IPVS policy has, per nest, where the kernel
// describes them (CTRL_CMD_GETPOLICY), and else its release.
type kernelFacts struct {
	// release is the running kernel's; zero (unknown, or
	// Config.SkipFeatureChecks) accepts every feature by the release rule.
	release kernel.Version
	// nests maps a top-level attribute whose nested policy the kernel
	// described to the attribute types that policy has.
	nests map[uint16]map[uint16]bool
	// noPolicy says why the release rule is used where nests has no entry:
	// the kernel answered no policy, or described the nest's attribute
	// without its nested policy.
	noPolicy string
}

// supports returns nil if the kernel has f, else an
// *UnsupportedFeatureError that names f and why: the attribute its policy
// lacks, or the release it predates.
func (k *kernelFacts) supports(f *feature) error {
	for _, a := range f.attrs {
		attrs, described := k.nests[a.nest]
		if !described {
			if k.release.IsZero() || k.release.AtLeast(f.since) {
				continue
			}
			why := k.noPolicy
			if why == "" {
				why = "its IPVS policy does not describe " + nestNames[a.nest]
			}
			return &UnsupportedFeatureError{Feature: f.name, MinRelease: f.since.String(), Release: k.release.String(), Reason: why}
		}
		if !attrs[a.typ] {
			return &UnsupportedFeatureError{Feature: f.name, MinRelease: f.since.String(), Attribute: a.name,
				Reason: nestCommandName[a.cmd] + " in " + nestNames[a.nest]}
		}
	}
	return nil
}

// String reports what the kernel has of each feature and how that was
// decided, one feature a line.
func (k *kernelFacts) String() string {
	var b strings.Builder
	for _, f := range features {
		how := "policy"
		for _, a := range f.attrs {
			if _, ok := k.nests[a.nest]; !ok {
				how = "release " + k.release.String()
				if k.noPolicy != "" {
					how += ", " + k.noPolicy
				} else {
					how += ", the policy does not describe " + nestNames[a.nest]
				}
				break
			}
		}
		if err := k.supports(f); err != nil {
			fmt.Fprintf(&b, "%s: no (%s)\n", f.name, how)
		} else {
			fmt.Fprintf(&b, "%s: yes (%s)\n", f.name, how)
		}
	}
	return b.String()
}

func (d Destination) features() []*feature {
	var fs []*feature
	switch d.TunnelType {
	case TunnelGUE:
		fs = append(fs, &featGUE)
	case TunnelGRE:
		fs = append(fs, &featGRE)
	}
	if d.TunnelFlags != 0 {
		fs = append(fs, &featTunnelCsum)
	}
	return fs
}

func (d SyncDaemon) features() []*feature {
	if d.MaxLength != 0 || d.Group.IsValid() || d.Port != 0 || d.TTL != 0 {
		return []*feature{&featDaemonParams}
	}
	return nil
}
