package keepalived

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
)

// globalDefs carries lvs_timeouts and notes the rest of the block.
func (im *importer) globalDefs(n *node) {
	var carried []string
	for _, s := range n.children {
		if s.key() == "lvs_sync_daemon" {
			if im.syncDaemon(s) {
				carried = append(carried, "lvs_sync_daemon, carried as cluster.sync")
			}
			continue
		}
		if s.key() != "lvs_timeouts" {
			continue
		}
		t := director.Timeouts{}
		args := s.args()
		ok := len(args) > 0 && len(args)%2 == 0
		for i := 0; ok && i+1 < len(args); i += 2 {
			v, good := number(args[i+1], 86400*31)
			d := time.Duration(v) * time.Second
			switch {
			case !good:
				ok = false
			case args[i] == "tcp":
				t.TCP = d
			case args[i] == "tcpfin":
				t.TCPFin = d
			case args[i] == "udp":
				t.UDP = d
			default:
				ok = false
			}
		}
		if !ok || (&director.Config{Timeouts: &t, AllowNoServices: true}).Validate() != nil {
			im.optionNote(s, n.header(), "invalid, not carried over")
			continue
		}
		im.cfg.Timeouts = &t
		carried = append(carried, "lvs_timeouts, carried as timeouts")
	}
	except := ""
	if len(carried) > 0 {
		except = " (except " + strings.Join(slices.Compact(carried), "; ") + ")"
	}
	im.note(n, "", "", "global_defs: not carried over%s", except)
}

// vrrpInstance notes a VRRP instance, naming the addresses it would
// have brought up: they are not made director VIPs, since without VRRP
// every director would claim them.
func (im *importer) vrrpInstance(n *node) {
	var addrs []string
	for _, s := range n.children {
		if s.key() == "virtual_ipaddress" || s.key() == "virtual_ipaddress_excluded" {
			for _, a := range s.children {
				addrs = append(addrs, a.label())
			}
		}
	}
	addrs = slices.Compact(addrs)
	switch len(addrs) {
	case 0:
		im.note(n, "", "", "%s: not carried over (VRRP is not part of the director)", n.header())
	case 1:
		im.note(n, "", "", "%s: not carried over (VRRP is not part of the director); its virtual_ipaddress %s is not made a director VIP: without VRRP every director would claim it",
			n.header(), addrs[0])
	default:
		im.note(n, "", "", "%s: not carried over (VRRP is not part of the director); its virtual_ipaddress %s are not made director VIPs: without VRRP every director would claim them",
			n.header(), strings.Join(addrs, ", "))
	}
}

// syncDaemon reads global_defs' "lvs_sync_daemon IFACE [INSTANCE] [inst
// INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]" into the
// director's cluster.sync, and reports whether it was carried. keepalived
// runs the sync daemon as master or backup following the VRRP instance's
// state, with the instance's virtual_router_id as its default id; the
// director runs both, always.
func (im *importer) syncDaemon(s *node) bool {
	args := s.args()
	if len(args) == 0 {
		im.optionNote(s, "global_defs", "no interface, ignored (as keepalived does)")
		return false
	}
	sync := &director.Sync{Interface: args[0]}
	inst := ""
	idSet := false
	bad := func(what, v string) {
		im.optionNote(s, "global_defs", "invalid %s %q, ignored (as keepalived does)", what, v)
	}
	for i := 1; i < len(args); i++ {
		k, v := args[i], ""
		if i+1 < len(args) {
			v = args[i+1]
		}
		switch k {
		case "inst":
			inst = v
		case "id":
			if n, ok := number(v, 255); ok {
				sync.SyncID, idSet = uint32(n), true
			} else {
				bad("id", v)
			}
		case "maxlen":
			if n, ok := number(v, 65535-20-8); ok && n > 0 {
				sync.MaxLength = uint16(n)
			} else {
				bad("maxlen", v)
			}
		case "port":
			if n, ok := number(v, 65535); ok && n > 0 {
				sync.Port = uint16(n)
			} else {
				bad("port", v)
			}
		case "ttl":
			if n, ok := number(v, 255); ok && n > 0 {
				sync.TTL = uint8(n)
			} else {
				bad("ttl", v)
			}
		case "group":
			if a, err := netip.ParseAddr(v); err == nil && a.IsMulticast() {
				sync.Group = a
			} else {
				bad("group", v)
			}
		default:
			if i == 1 {
				inst = k // the older syntax: the instance second
				continue
			}
			im.optionNote(s, "global_defs", "unknown word %s, ignored", word(k))
			continue
		}
		i++
	}
	if !idSet && inst != "" {
		if id, ok := im.vrid(inst); ok {
			sync.SyncID = id
		}
	}
	var follows string
	if inst != "" {
		follows = fmt.Sprintf("keepalived runs it as master or backup as VRRP instance %s is master or backup; the director runs both, always", word(inst))
	} else {
		follows = "the director runs a master and a backup"
	}
	c := &director.Cluster{Sync: sync}
	if err := (&director.Config{Cluster: c, AllowNoServices: true}).Validate(); err != nil {
		im.optionNote(s, "global_defs", "not carried over: the director runs sync daemons only in a cluster, and %v; to run it, add cluster: {announce: [...], sync: %s} (%s)",
			err, syncYAML(sync), follows)
		return false
	}
	im.cfg.Cluster = c
	im.optionNote(s, "global_defs", "carried as cluster.sync %s (%s)", syncYAML(sync), follows)
	return true
}

// syncYAML is s as a YAML flow mapping.
func syncYAML(s *director.Sync) string {
	f := []string{"interface: " + word(s.Interface)}
	if s.SyncID != 0 {
		f = append(f, fmt.Sprintf("syncID: %d", s.SyncID))
	}
	if s.Group.IsValid() {
		f = append(f, "group: "+s.Group.String())
	}
	if s.Port != 0 {
		f = append(f, fmt.Sprintf("port: %d", s.Port))
	}
	if s.TTL != 0 {
		f = append(f, fmt.Sprintf("ttl: %d", s.TTL))
	}
	if s.MaxLength != 0 {
		f = append(f, fmt.Sprintf("maxLength: %d", s.MaxLength))
	}
	return "{" + strings.Join(f, ", ") + "}"
}

// vrid is the virtual_router_id of the vrrp_instance named name.
func (im *importer) vrid(name string) (uint32, bool) {
	for _, n := range im.top {
		if n.key() != "vrrp_instance" || n.arg(0) != name {
			continue
		}
		for _, s := range n.children {
			if s.key() == "virtual_router_id" {
				v, ok := number(s.arg(0), 255)
				return uint32(v), ok
			}
		}
	}
	return 0, false
}
