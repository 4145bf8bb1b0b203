package keepalived

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
)

// globalBlock is a global_defs block, and what of it was carried (its
// note is made at the end, when lvs_sync_daemon's instance is known).
type globalBlock struct {
	n       *node
	carried []string
}

// globalDefs carries lvs_timeouts and the VRRP settings, keeps
// lvs_sync_daemon for the end, and notes the rest of the block.
func (im *importer) globalDefs(n *node) {
	gb := &globalBlock{n: n}
	im.globals = append(im.globals, gb)
	for _, s := range n.children {
		if s.key() == "lvs_sync_daemon" {
			if im.syncN != nil {
				im.optionNote(s, "global_defs", "given again: ignored (keepalived runs the first, line %d's)", im.syncN.line)
				continue
			}
			im.syncN, im.syncBlock = s, gb
			continue
		}
		if c := im.vrrpGlobal(s); c != "" {
			gb.carried = append(gb.carried, c)
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
		gb.carried = append(gb.carried, "lvs_timeouts, carried as timeouts")
	}
}

// globalNotes notes each global_defs block and what of it was carried.
func (im *importer) globalNotes() {
	for _, gb := range im.globals {
		except := ""
		if len(gb.carried) > 0 {
			except = " (except " + strings.Join(slices.Compact(gb.carried), "; ") + ")"
		}
		im.note(gb.n, "", "", "global_defs: not carried over%s", except)
	}
}

// vrrpGlobal reads a VRRP setting of global_defs; what the note says of
// it if it is carried, "" if it is not one that is.
func (im *importer) vrrpGlobal(s *node) string {
	st := &im.vrrp
	st.init()
	switch k := s.key(); k {
	case "vrrp_version":
		v, ok := number(s.arg(0), 3)
		if !ok || v < 2 {
			im.optionNote(s, "global_defs", "%s is not 2 or 3, ignored (as keepalived does)", word(s.arg(0)))
			return ""
		}
		st.version = int(v)
		return "vrrp_version, carried as the IPv4 instances' version"
	case "vrrp_strict":
		st.strict = s
		im.optionNote(s, "global_defs", "keepalived's configuration rules of strict mode applied (no authentication, no preempt_delay, version 3 for IPv6, no gratuitous ARPs on hearing a lower priority); its firewall rules (no accept mode) not carried over: the director adds none")
		return ""
	case "vrrp_garp_interval", "vrrp_gna_interval", "vrrp_min_garp", "vrrp_startup_delay", "vrrp_lower_prio_no_advert",
		"vrrp_higher_prio_send_advert", "vrrp_skip_check_adv_addr", "vrrp_check_unicast_src", "vrrp_iptables", "vrrp_nftables",
		"vrrp_notify_fifo", "vrrp_notify_fifo_script", "vrrp_garp_extra_if", "vrrp_vmac_garp_intvl", "vrrp_priority", "vrrp_no_swap":
		im.optionNote(s, "global_defs", "not carried over (%s)", vrrpGlobalNot[k])
		return ""
	case "vrrp_mcast_group4", "vrrp_mcast_group6":
		im.optionNote(s, "global_defs", "not carried over (the director sends to the standard group, 224.0.0.18 or ff02::12: a keepalived peer with this setting does not hear it)")
		return ""
	case "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
		"vrrp_garp_lower_prio_delay", "vrrp_garp_lower_prio_repeat":
		what := strings.TrimPrefix(k, "vrrp_garp_")
		im.garpOption(s, "global_defs", &st.garp, &st.lowerRep, &st.lowerDelay, what)
		return "vrrp_garp_*, carried into the instances' garp"
	}
	return ""
}

// finishSync carries global_defs' "lvs_sync_daemon IFACE [INSTANCE] [inst
// INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]", once the
// VRRP instances are known. keepalived runs the sync daemon as master or
// backup following the VRRP instance's state, with the instance's
// virtual_router_id as its default id, and both daemons when it names no
// instance. With a vrrp section it becomes vrrp.syncDaemon, which follows
// the instance as keepalived does (or runs both daemons always, without
// an instance carried over); without one, the director's cluster.sync,
// which runs both daemons always.
func (im *importer) finishSync() {
	s := im.syncN
	if s == nil {
		return
	}
	if c := im.syncDaemon(s); c != "" {
		im.syncBlock.carried = append(im.syncBlock.carried, c)
	}
}

// syncDaemon carries lvs_sync_daemon s, and returns what the global_defs
// note says of it, "" if it was not carried.
func (im *importer) syncDaemon(s *node) string {
	args := s.args()
	if len(args) == 0 {
		im.optionNote(s, "global_defs", "no interface, ignored (as keepalived does)")
		return ""
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
	var in *vrrpInst
	if inst != "" {
		in = im.vrrp.byName[inst]
		if in == nil {
			im.optionNote(s, "global_defs", "not carried over (no vrrp_instance %s: keepalived clears lvs_sync_daemon)", word(inst))
			return ""
		}
		if !idSet && in.out.VRID != 0 {
			sync.SyncID = uint32(in.out.VRID)
		}
	}
	c := &director.Cluster{Sync: sync}
	err := (&director.Config{Cluster: c, AllowNoServices: true}).Validate()
	if v := im.cfg.VRRP; v != nil {
		// With a vrrp section, the sync daemon is its.
		if err != nil {
			im.optionNote(s, "global_defs", "not carried over: %v", err)
			return ""
		}
		sd := &director.VRRPSyncDaemon{Instance: v.Instances[0].Name, Both: true, Sync: *sync}
		if in != nil && in.carried {
			sd.Instance, sd.Both = in.name, false
			im.optionNote(s, "global_defs", "carried as vrrp.syncDaemon {instance: %s, %s}: the master daemon while VRRP instance %s is master, the backup daemon while it is not, as keepalived runs them",
				word(in.name), strings.Trim(syncYAML(sync), "{}"), word(in.name))
		} else {
			why := "as keepalived runs them without an instance"
			if in != nil {
				why = fmt.Sprintf("VRRP instance %s, which keepalived follows, is not carried over", word(in.name))
			}
			im.optionNote(s, "global_defs", "carried as vrrp.syncDaemon {instance: %s, both: true, %s}: the master and backup daemons always (%s)",
				word(sd.Instance), strings.Trim(syncYAML(sync), "{}"), why)
		}
		v.SyncDaemon = sd
		return "lvs_sync_daemon, carried as vrrp.syncDaemon"
	}
	var follows string
	if inst != "" {
		follows = fmt.Sprintf("keepalived runs it as master or backup as VRRP instance %s is master or backup, and that instance is not carried over; the director runs both, always", word(inst))
	} else {
		follows = "the director runs a master and a backup, as keepalived does without an instance"
	}
	if err != nil {
		im.optionNote(s, "global_defs", "not carried over: the director runs sync daemons only in a cluster, and %v; to run it, add cluster: {announce: [...], sync: %s} (%s)",
			err, syncYAML(sync), follows)
		return ""
	}
	im.cfg.Cluster = c
	im.optionNote(s, "global_defs", "carried as cluster.sync %s (%s)", syncYAML(sync), follows)
	return "lvs_sync_daemon, carried as cluster.sync"
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

// vrrpGlobalNot are global_defs' VRRP settings the director has no
// counterpart of, with why.
var vrrpGlobalNot = map[string]string{
	"vrrp_garp_interval":           "the director sends a burst's gratuitous ARPs back to back",
	"vrrp_gna_interval":            "the director sends a burst's neighbour advertisements back to back",
	"vrrp_min_garp":                "the director sends keepalived's default gratuitous ARPs unless an instance's garp says otherwise",
	"vrrp_startup_delay":           "the director starts its instances at once, as backup",
	"vrrp_lower_prio_no_advert":    "the director answers a lower priority with an advert, as keepalived does by default",
	"vrrp_higher_prio_send_advert": "the director sends no advert on hearing a higher priority, as keepalived by default",
	"vrrp_skip_check_adv_addr":     "the director always checks an advert's addresses",
	"vrrp_check_unicast_src":       "the director takes unicast adverts only from its peers anyway",
	"vrrp_iptables":                "the director adds no firewall rules for VRRP",
	"vrrp_nftables":                "the director adds no firewall rules for VRRP",
	"vrrp_notify_fifo":             "the director runs notify commands, and has no FIFO",
	"vrrp_notify_fifo_script":      "the director runs notify commands, and has no FIFO",
	"vrrp_garp_extra_if":           "the director uses no VMAC",
	"vrrp_vmac_garp_intvl":         "the director uses no VMAC",
	"vrrp_priority":                "the director does not change its scheduling priority",
	"vrrp_no_swap":                 "the director does not lock its memory",
}
