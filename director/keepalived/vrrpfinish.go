package keepalived

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/vrrp"
)

// syncGroup is a vrrp_sync_group block as read.
type syncGroup struct {
	n              *node
	name           string
	block          string
	groupN         *node
	members        []*vrrpInst
	tracks         []trackItem
	tracked        map[trackKey]bool
	owners         int // members that are the address owner
	notify         *director.VRRPNotify
	trackingWeight bool
}

// vrrpSyncGroup reads a vrrp_sync_group block; its members are found at
// the end, as keepalived finds them.
func (im *importer) vrrpSyncGroup(n *node) {
	st := &im.vrrp
	st.init()
	if len(n.args()) != 1 {
		im.note(n, "", "", "%s: not carried over (a vrrp_sync_group takes one name: keepalived skips it)", n.header())
		return
	}
	if g, dup := st.groupByName[n.arg(0)]; dup {
		im.note(n, "", "", "%s: not carried over (defined again: keepalived skips it and keeps line %d's)", n.header(), g.n.line)
		return
	}
	g := &syncGroup{n: n, name: n.arg(0), block: n.header(), tracked: map[trackKey]bool{}}
	for _, s := range n.children {
		note := func(format string, args ...any) { im.optionNote(s, g.block, format, args...) }
		switch s.key() {
		case "group":
			switch {
			case g.groupN != nil:
				note("given again: ignored (as keepalived does)")
			case !s.block:
				note("not carried over (a block: { ... } was expected)")
			default:
				g.groupN = s
			}
		case "track_interface", "track_script":
			if !s.block {
				note("not carried over (a block: { ... } was expected)")
				continue
			}
			for _, t := range s.children {
				if item, ok := im.trackItem(t, g.block+": "+s.key(), s.key() == "track_script"); ok && !g.tracked[item.key()] {
					g.tracked[item.key()] = true
					g.tracks = append(g.tracks, item)
				}
			}
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			im.vrrpNotify(&g.notify, s, g.block)
		case "sync_group_tracking_weight", "global_tracking":
			g.trackingWeight = true
		case "track_file", "track_process", "track_bfd", "smtp_alert", "notify_priority_changes":
			note("not carried over (%s)", vrrpNotOption[s.key()])
		default:
			note("not carried over (unknown option; the members are listed in a group { } block)")
		}
	}
	st.groups = append(st.groups, g)
	st.groupByName[g.name] = g
}

// finishVRRP completes the instances read as keepalived completes them,
// leaves out (noted) those keepalived or the director would refuse,
// resolves the sync groups and tracking, and makes the vrrp section.
func (im *importer) finishVRRP() {
	st := &im.vrrp
	if len(st.insts) == 0 {
		for _, g := range st.groups {
			im.note(g.n, "", "", "%s: not carried over (no vrrp_instance was)", g.block)
		}
		for _, sc := range st.ordered {
			im.note(sc.n, "", "", "%s: not carried over (tracked by no vrrp_instance: keepalived does not run it)", sc.n.header())
		}
		return
	}
	var carried []*vrrpInst
	for _, in := range st.insts {
		if im.completeInstance(in) {
			carried = append(carried, in)
		}
	}
	carried = im.vridConflicts(carried)
	for _, in := range carried {
		in.carried = true
	}
	groups := im.resolveGroups()
	used := map[*vrrpScript]bool{}
	for _, in := range carried {
		im.instanceTracks(in, used)
		if im.err != nil {
			return
		}
	}
	for _, sc := range st.ordered {
		if !used[sc] {
			im.note(sc.n, "", "", "%s: not carried over (tracked by no vrrp_instance carried over: keepalived does not run it)", sc.n.header())
		}
	}
	if len(carried) == 0 {
		return
	}
	v := &director.VRRP{}
	for _, in := range carried {
		v.Instances = append(v.Instances, in.out)
		im.made(in.n, in.name)
	}
	for _, g := range groups {
		sg := director.VRRPSyncGroup{Name: g.name, Notify: g.notify}
		for _, m := range g.members {
			sg.Instances = append(sg.Instances, m.name)
		}
		v.SyncGroups = append(v.SyncGroups, sg)
	}
	im.cfg.VRRP = v
}

// completeInstance applies keepalived's vrrp_complete_instance to in and
// validates it as the director would; false (noted) if it is not carried.
func (im *importer) completeInstance(in *vrrpInst) bool {
	st := &im.vrrp
	out := &in.out
	refuse := func(format string, args ...any) bool {
		im.note(in.n, "", "", "%s: not carried over (%s)", in.block, fmt.Sprintf(format, args...))
		return false
	}
	note := func(n *node, option, format string, args ...any) {
		if n == nil {
			n = in.n
		}
		im.note(n, in.block, option, format, args...)
	}
	strict := in.strict
	if strict == nil {
		strict = st.strict
	}
	switch {
	case out.VRID == 0:
		return refuse("no virtual_router_id: keepalived refuses the configuration")
	case out.Interface == "":
		return refuse("no interface: the director sends adverts on one")
	case len(out.VIPs) == 0:
		return refuse("no virtual_ipaddress: the director needs one to hold")
	}
	if in.syncInterfaceN != nil {
		im.optionNote(in.syncInterfaceN, in.block, "not carried over (deprecated since keepalived 1.2.19: give global_defs' lvs_sync_daemon %s inst %s, which this carries as vrrp.syncDaemon)", word(in.syncInterfaceN.arg(0)), word(in.name))
	}
	// Version (vrrp_complete_instance: IPv6 is version 3, IPv4 the
	// instance's or vrrp_version's).
	switch v := in.version; {
	case in.family == 6 && v == 2 && strict != nil:
		note(nil, "version", "2 with IPv6: version 3, as keepalived's strict mode sets it")
		out.Version = 3
	case in.family == 6 && v == 2:
		return refuse("IPv6 with version 2: keepalived runs that only outside strict mode, a VRRPv2 over IPv6 no other implementation speaks; the director speaks version 3 over IPv6: remove version 2 on both nodes")
	case in.family == 6:
		out.Version = 3
	case v != 0:
		out.Version = uint8(v)
	case st.version != 0:
		out.Version = uint8(st.version)
	default:
		out.Version = 2
	}
	// Priority: without one, keepalived derives it from the state.
	switch {
	case !in.prioSet && in.stateMaster:
		out.Priority = 255
		note(nil, "state", "MASTER without a priority: keepalived makes the instance the address owner, priority 255 (master at once, no election, its tracking weights ignored), and so does this; give a priority of 1-254 on both nodes to have an election")
	case !in.prioSet:
		out.Priority = 100 // keepalived's VRRP_PRIO_DFL
	case out.Priority == 255:
		note(nil, "priority", "255 makes the instance the address owner, as in keepalived: master at once without an election, its tracking weights ignored; keepalived does not check that the VIPs are this node's own addresses, and neither does this: only one node may have it")
	}
	if strict != nil && in.stateMaster != (out.Priority == 255) && in.prioSet {
		note(nil, "state", "does not match being the address owner: keepalived's strict mode starts the instance as its priority says; the director starts every instance as backup anyway")
	}
	if !im.completeAuth(in, strict) {
		return false
	}
	if in.unicast && len(out.Peers) == 0 {
		note(nil, "", "unicast keywords without a unicast_peer: multicast, as keepalived defaults to it")
	}
	if strict != nil && len(out.Peers) > 0 {
		note(nil, "unicast_peer", "keepalived's strict mode refuses unicast peers on an interface that has multicast; carried")
	}
	for _, l := range []*[]director.VRRPAddress{&out.VIPs, &out.ExcludedVIPs} {
		for i := range *l {
			if (*l)[i].Interface == out.Interface {
				(*l)[i].Interface = ""
			}
		}
	}
	if len(out.VIPs) > vrrp.MaxAddrs {
		note(nil, "virtual_ipaddress", "%d addresses: an advert lists at most %d, so the others are carried as excludedVIPs, as keepalived moves them to its excluded ones", len(out.VIPs), vrrp.MaxAddrs)
		out.ExcludedVIPs = append(slices.Clone(out.VIPs[vrrp.MaxAddrs:]), out.ExcludedVIPs...)
		out.VIPs = out.VIPs[:vrrp.MaxAddrs]
	}
	if len(out.ExcludedVIPs) > 0 {
		inVIPs := map[netip.Addr]bool{}
		for _, v := range out.VIPs {
			inVIPs[v.Address.Addr()] = true
		}
		kept := out.ExcludedVIPs[:0]
		for _, v := range out.ExcludedVIPs {
			if inVIPs[v.Address.Addr()] {
				note(nil, "virtual_ipaddress_excluded", "%s is in virtual_ipaddress too: carried there only", v.Address.Addr())
				continue
			}
			kept = append(kept, v)
		}
		out.ExcludedVIPs = kept
	}
	im.completePreempt(in, strict)
	im.completeInterval(in)
	im.completeGARP(in, strict)
	c := speakerConfig(*out)
	if err := c.Validate(); err != nil {
		return refuse("the director refuses it: %v", err)
	}
	return true
}

// speakerConfig is in as package director/vrrp's Config, which validates
// it as the director will.
func speakerConfig(in director.VRRPInstance) vrrp.Config {
	c := vrrp.Config{Name: in.Name, Interface: in.Interface, VRID: in.VRID, Priority: in.Priority, Version: vrrp.Version(in.Version),
		Interval: in.Interval, Source: in.Source, Peers: in.Peers, Password: in.Password, NoPreempt: in.NoPreempt, PreemptDelay: in.PreemptDelay,
		V3ChecksumAsV2: in.V3ChecksumAsV2}
	if in.Password != "" {
		c.AuthType = vrrp.AuthPass
	}
	for _, a := range in.VIPs {
		c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: a.Address, Interface: a.Interface})
	}
	if g := in.GARP; g != nil {
		c.GARP = vrrp.GARP{Repeat: g.Repeat, Delay: g.Delay, Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat,
			LowerPrioRepeat: g.LowerPrioRepeat, LowerPrioDelay: g.LowerPrioDelay, Off: g.Off}
	}
	return c
}

// completeAuth carries PASS authentication as keepalived keeps it; false
// (noted) for AH, which the director does not speak.
func (im *importer) completeAuth(in *vrrpInst, strict *node) bool {
	out := &in.out
	at := in.authN
	if at == nil {
		at = in.passN
	}
	drop := func(why string) {
		im.note(at, in.block, "authentication", "not carried over (%s, as keepalived ignores it)", why)
	}
	switch {
	case in.authType == "" && in.passN != nil:
		drop("auth_pass without auth_type")
	case in.authType == "":
	case strict != nil:
		drop("strict mode has no authentication")
	case out.Version == 3:
		drop("version 3 has no authentication")
	case in.password == "":
		drop("auth_type without auth_pass")
	case in.authType == "AH":
		im.note(in.n, "", "", "%s: not carried over (auth_type AH: the director does not speak IPsec AH, which RFC 3768's successors deprecate and VRRPv3 lacks; use PASS or none on both nodes)", in.block)
		return false
	default:
		out.Password = in.password
	}
	return true
}

// completePreempt applies keepalived's rules on nopreempt and
// preempt_delay.
func (im *importer) completePreempt(in *vrrpInst, strict *node) {
	out := &in.out
	clear := func(n *node, why string) {
		im.optionNote(n, in.block, "not carried over (%s, as keepalived clears it)", why)
	}
	if out.NoPreempt {
		switch {
		case out.Priority == 255:
			clear(in.nopreemptN, "the address owner always preempts")
			out.NoPreempt = false
		case in.stateMaster:
			clear(in.nopreemptN, "it does not work with state MASTER")
			out.NoPreempt = false
		}
	}
	if out.PreemptDelay != 0 {
		switch {
		case in.stateMaster:
			clear(in.preemptDelayN, "it does not work with state MASTER")
			out.PreemptDelay = 0
		case strict != nil:
			clear(in.preemptDelayN, "strict mode has none")
			out.PreemptDelay = 0
		case out.NoPreempt:
			clear(in.preemptDelayN, "nopreempt never preempts")
			out.PreemptDelay = 0
		}
	}
}

// completeInterval rounds advert_int as keepalived does for the version.
func (im *importer) completeInterval(in *vrrpInst) {
	out := &in.out
	if out.Interval == 0 {
		out.Interval = time.Second // keepalived's VRRP_ADVER_DFL
		return
	}
	unit, most := time.Second, 255*time.Second
	if out.Version == 3 {
		unit, most = 10*time.Millisecond, 40950*time.Millisecond
	}
	d := out.Interval
	switch {
	case d > most:
		d = most
	case d%unit != 0:
		d = max(unit, d.Round(unit))
	}
	if d != out.Interval {
		im.note(in.n, in.block, "advert_int", "%v is not a version %d interval (%v to %v in steps of %v): %v, as keepalived sets it", out.Interval, out.Version, unit, most, unit, d)
		out.Interval = d
	}
}

// completeGARP carries the instance's gratuitous ARP settings where they
// are not the director's defaults (keepalived's).
func (im *importer) completeGARP(in *vrrpInst, strict *node) {
	st := &im.vrrp
	g := in.garp
	lowerRep, lowerDelay := st.garp.rep, st.garp.delay // keepalived: the global lower-priority ones default to the global ones
	if st.lowerRep != nil {
		lowerRep = *st.lowerRep
	}
	if st.lowerDelay != nil {
		lowerDelay = *st.lowerDelay
	}
	if strict != nil {
		lowerRep, lowerDelay = 0, 0
	}
	if in.lowerRep != nil {
		lowerRep = *in.lowerRep
	}
	if in.lowerDelay != nil {
		lowerDelay = *in.lowerDelay
	}
	out := director.VRRPGARP{}
	var lost []string
	capRep := func(r int, what string) int {
		if r > 100 {
			lost = append(lost, fmt.Sprintf("%s %d taken as 100, the director's most", what, r))
			return 100
		}
		return r
	}
	if g.rep != defaultGARP.rep {
		out.Repeat = capRep(g.rep, "repeat")
	}
	delay := defaultGARP.delay
	switch {
	case g.delay == 0:
		lost = append(lost, "a master delay of 0 (no second burst): the director sends its second burst 5s after the first")
	case g.delay != delay:
		out.Delay, delay = g.delay, g.delay
	}
	if g.refresh != 0 {
		out.Refresh = g.refresh
		if g.refreshRep != 1 {
			out.RefreshRepeat = capRep(g.refreshRep, "refresh repeat")
		}
	}
	rep := defaultGARP.rep
	if out.Repeat != 0 {
		rep = out.Repeat
	}
	switch {
	case lowerRep == 0:
		lost = append(lost, "no gratuitous ARPs on hearing a lower priority: the director sends them")
	case lowerRep != rep:
		out.LowerPrioRepeat = capRep(lowerRep, "lower-priority repeat")
	}
	switch {
	case lowerDelay == 0 && lowerRep != 0:
		lost = append(lost, "a lower-priority delay of 0: the director repeats them after "+delay.String())
	case lowerDelay != 0 && lowerDelay != delay:
		out.LowerPrioDelay = lowerDelay
	}
	if out != (director.VRRPGARP{}) {
		in.out.GARP = &out
	}
	if len(lost) > 0 {
		im.note(in.n, in.block, "garp", "not carried over: %s", strings.Join(lost, "; "))
	}
}

// vridConflicts leaves out (noted) an instance whose VRID another uses on
// the same interface, family and group (multicast, or a shared unicast
// peer): keepalived refuses such a configuration.
func (im *importer) vridConflicts(insts []*vrrpInst) []*vrrpInst {
	// The VRIDs taken, by interface, family and group: the multicast
	// group, or each unicast peer.
	type space struct {
		iface  string
		vrid   uint8
		family int
		peer   netip.Addr // invalid: multicast
	}
	taken := map[space]*vrrpInst{}
	spaces := func(in *vrrpInst) []space {
		if len(in.out.Peers) == 0 {
			return []space{{in.out.Interface, in.out.VRID, in.family, netip.Addr{}}}
		}
		var out []space
		for _, p := range in.out.Peers {
			out = append(out, space{in.out.Interface, in.out.VRID, in.family, p})
		}
		return out
	}
	var out []*vrrpInst
	for _, in := range insts {
		var o *vrrpInst
		for _, sp := range spaces(in) {
			if o = taken[sp]; o != nil {
				break
			}
		}
		if o != nil {
			im.note(in.n, "", "", "%s: not carried over (VRID %d on interface %s is %s's too (line %d): keepalived refuses the configuration)",
				in.block, in.out.VRID, word(in.out.Interface), word(o.name), o.n.line)
			continue
		}
		for _, sp := range spaces(in) {
			taken[sp] = in
		}
		out = append(out, in)
	}
	return out
}

// resolveGroups finds each sync group's members among the instances
// carried over, as keepalived's vrrp_sync_set_group does; the groups with
// a member are returned.
func (im *importer) resolveGroups() []*syncGroup {
	var out []*syncGroup
	for _, g := range im.vrrp.groups {
		if g.groupN == nil {
			im.note(g.n, "", "", "%s: not carried over (no group { } of instances: keepalived removes it)", g.block)
			continue
		}
		for _, line := range g.groupN.children {
			for _, name := range line.words {
				in := im.vrrp.byName[name]
				switch {
				case in == nil:
					im.note(line, g.block+": group", "", "%s: no vrrp_instance of that name, ignored (as keepalived does)", word(name))
				case !in.carried:
					im.note(line, g.block+": group", "", "%s: not carried over (the instance is not)", word(name))
				case in.group != nil:
					im.note(line, g.block+": group", "", "%s: already in %s, ignored (an instance is in one sync group, as keepalived says)", word(name), in.group.block)
				default:
					in.group = g
					g.members = append(g.members, in)
				}
			}
		}
		switch len(g.members) {
		case 0:
			im.note(g.n, "", "", "%s: not carried over (none of its instances is: keepalived removes it)", g.block)
			continue
		case 1:
			im.note(g.n, "", "", "%s: one instance, %s: carried, though a group of one changes nothing (keepalived warns of it too)", g.block, word(g.members[0].name))
		}
		for _, m := range g.members {
			if m.out.Priority == 255 {
				g.owners++
			}
		}
		if g.owners > 0 && g.owners < len(g.members) {
			im.note(g.n, "", "", "%s: some instances are the address owner (priority 255) and some not: the group cannot be master together on one node (keepalived warns \"this won't work\"); carried as written", g.block)
		}
		out = append(out, g)
	}
	return out
}

// instanceTracks carries what in tracks (its own track_interface and
// track_script, then its sync group's) with keepalived's rules: a member
// of a sync group has its weights ignored (unless the group has
// sync_group_tracking_weight), the address owner has no weighted
// tracking.
func (im *importer) instanceTracks(in *vrrpInst, used map[*vrrpScript]bool) {
	owner := in.out.Priority == 255
	syncNoWeight := in.group != nil && !in.group.trackingWeight
	var items []trackItem
	kept := map[trackKey]bool{}
	for _, t := range in.tracks {
		block := in.block + ": track_interface"
		if t.script != nil {
			block = in.block + ": track_script"
		}
		switch {
		case t.script == nil && t.name == in.out.Interface:
			im.note(t.n, block, "", "%s: not carried over (the instance's own interface: keepalived ignores it)", word(t.name))
			continue
		case t.weight == 0 || !owner && !syncNoWeight:
		case t.script == nil && syncNoWeight:
			im.note(t.n, block, "", "%s: weight %d ignored, as keepalived ignores it in a sync group: its failure puts the instance in FAULT (give the group sync_group_tracking_weight to keep weights)", word(t.name), t.weight)
			t.weight = 0
		default:
			why := "keepalived ignores weighted tracking on the address owner (priority 255)"
			if !owner {
				why = "keepalived ignores weighted tracking on a member of a sync group; give the group sync_group_tracking_weight to keep weights"
			}
			im.note(t.n, block, "", "%s: not carried over (%s)", word(t.name), why)
			continue
		}
		items = append(items, t)
		kept[t.key()] = true
	}
	if g := in.group; g != nil {
		if im.vrrpTracks += len(g.tracks); im.vrrpTracks > maxVRRPTracks {
			im.err = &LimitError{File: g.n.file, Line: g.n.line, Limit: vrrpTracksLimit}
			return
		}
		for _, t := range g.tracks {
			if g.owners > 0 && t.weight != 0 {
				if in == g.members[0] {
					im.note(t.n, g.block, "", "%s: weight %d ignored (a member is the address owner, as keepalived clears it): its failure puts the instances in FAULT", word(t.name), t.weight)
				}
				t.weight = 0
			}
			if kept[t.key()] {
				continue
			}
			items = append(items, t)
		}
	}
	for _, t := range items {
		if t.reverse {
			what := "track_interface"
			if t.script != nil {
				what = "track_script"
			}
			im.note(t.n, in.block+": "+what, "", "%s: not carried over (reverse weights have no counterpart in the director)", word(t.name))
			continue
		}
		if in.out.Track == nil {
			in.out.Track = &director.VRRPTrack{}
		}
		if t.script == nil {
			in.out.Track.Interfaces = append(in.out.Track.Interfaces, director.VRRPTrackItem{Name: t.name, Weight: t.weight})
			continue
		}
		used[t.script] = true
		in.out.Track.Checks = append(in.out.Track.Checks, director.VRRPTrackCheck{Name: t.script.name, Check: im.scriptCheck(t.script), Weight: t.weight})
	}
}

// scriptCheck is a vrrp_script as a command check, run every interval
// (keepalived's default 1s), timed out after timeout (the interval if
// none, as keepalived runs it), failed after fall failures and healthy
// after rise successes (1 each by default).
func (im *importer) scriptCheck(sc *vrrpScript) *director.Check {
	timeout := sc.timeout
	if timeout == 0 {
		timeout = sc.interval
	}
	if timeout > check.MaxTimeout {
		if !sc.capNoted {
			im.note(sc.n, "", "", "%s: timeout %v carried as %v, the longest a director check runs", sc.n.header(), timeout, check.MaxTimeout)
			sc.capNoted = true
		}
		timeout = check.MaxTimeout
	}
	return &director.Check{Spec: &check.Command{Argv: slices.Clone(sc.argv)}, Interval: sc.interval, Timeout: timeout, Rise: sc.rise, Fall: sc.fall}
}
