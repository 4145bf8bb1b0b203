package director

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/director/vrrp"
	"github.com/lvs-go/lvs/internal/ifname"
	"github.com/lvs-go/lvs/ipvs"
)

// vrrpModel is the vrrp section compiled: one vrrp.Config per instance,
// the sync groups, and what follows the instances' states.
type vrrpModel struct {
	instances []*vrrpInstance // in the configuration's order
	groups    []VRRPSyncGroup
	// syncDaemon, if set, is what vrrp.syncDaemon runs: daemons[0] the
	// master, daemons[1] the backup.
	syncDaemon *vrrpSync
	// announceWith names the instance that gates Options.Announcer.
	announceWith string
}

// vrrpSync is vrrp.syncDaemon compiled.
type vrrpSync struct {
	instance       string
	both           bool
	master, backup ipvs.SyncDaemon
}

// vrrpInstance is one instance compiled.
type vrrpInstance struct {
	cfg   vrrp.Config // defaults filled in, validated
	group string      // its sync group, if any
	// key is what must stay the same across a reload for the instance to
	// keep running: everything of it but its track and notify.
	key    string
	ifaces []VRRPTrackItem
	// services are the tracked services, each with the keys of the
	// services of its name.
	services []vrrpTrackedService
	checks   []vrrpTrackedCheck
	notify   *VRRPNotify
}

type vrrpTrackedService struct {
	name   string
	keys   []ipvs.Key
	weight int
}

type vrrpTrackedCheck struct {
	name   string
	addr   netip.AddrPort
	cc     *compiledCheck
	weight int
}

func (m *vrrpModel) instance(name string) *vrrpInstance {
	if m == nil {
		return nil
	}
	for _, in := range m.instances {
		if in.cfg.Name == name {
			return in
		}
	}
	return nil
}

// compileVRRP validates the vrrp section against the rest of cfg (its
// services, VIPs and cluster) and compiles it.
func compileVRRP(cfg *Config, services []*service) (*vrrpModel, error) {
	v := cfg.VRRP
	fail := func(where, format string, args ...any) error {
		return &ConfigError{Where: "vrrp" + where, Reason: fmt.Sprintf(format, args...)}
	}
	if len(v.Instances) == 0 {
		return nil, fail(".instances", "no instances")
	}
	out := &vrrpModel{}
	byName := map[string]int{}
	// A VRID is an instance's once per interface and address family
	// among the multicast instances; unicast ones are a space of their
	// own, where two conflict only from one source address to a peer
	// they share (keepalived's check_vrid_conflicts).
	type vridOn struct {
		iface   string
		v6      bool
		vrid    uint8
		unicast bool
	}
	vrids := map[vridOn][]int{}
	staticVIPs := map[netip.Addr]bool{}
	for _, sv := range cfg.VIPs {
		staticVIPs[sv.Address] = true
	}
	vipOwner := map[netip.Addr]int{}
	for i, vi := range v.Instances {
		where := fmt.Sprintf(".instances[%d]", i)
		if vi.Name == "" {
			return nil, fail(where+".name", "no name")
		}
		if j, dup := byName[vi.Name]; dup {
			return nil, fail(where+".name", "%s is instances[%d]'s name already", vi.Name, j)
		}
		byName[vi.Name] = i
		in, err := compileVRRPInstance(vi, where, services)
		if err != nil {
			return nil, err
		}
		k := vridOn{in.cfg.Interface, in.cfg.Is6(), in.cfg.VRID, len(in.cfg.Peers) > 0}
		for _, j := range vrids[k] {
			if !k.unicast || vridsMeet(&out.instances[j].cfg, &in.cfg) {
				return nil, fail(where+".vrid", "VRID %d is instances[%d]'s on %s already", k.vrid, j, k.iface)
			}
		}
		vrids[k] = append(vrids[k], i)
		for n, a := range append(slices.Clip(in.cfg.VIPs), in.cfg.Excluded...) {
			addr := a.Prefix.Addr()
			field := fmt.Sprintf("%s.vips[%d]", where, n)
			if n >= len(in.cfg.VIPs) {
				field = fmt.Sprintf("%s.excludedVIPs[%d]", where, n-len(in.cfg.VIPs))
			}
			if staticVIPs[addr] {
				return nil, fail(field, "%v is in vips too: a VIP is held always (vips) or by VRRP, not both", addr)
			}
			if j, dup := vipOwner[addr]; dup && j != i {
				return nil, fail(field, "%v is instances[%d]'s VIP already", addr, j)
			}
			vipOwner[addr] = i
		}
		out.instances = append(out.instances, in)
	}
	inGroup := map[string]string{}
	groups := map[string]bool{}
	for i, g := range v.SyncGroups {
		where := fmt.Sprintf(".syncGroups[%d]", i)
		switch {
		case g.Name == "":
			return nil, fail(where+".name", "no name")
		case groups[g.Name]:
			return nil, fail(where+".name", "sync group %s twice", g.Name)
		case len(g.Instances) == 0:
			return nil, fail(where+".instances", "no instances")
		}
		groups[g.Name] = true
		for j, name := range g.Instances {
			w := fmt.Sprintf("%s.instances[%d]", where, j)
			if _, ok := byName[name]; !ok {
				return nil, fail(w, "no instance %q", name)
			}
			if other, dup := inGroup[name]; dup {
				return nil, fail(w, "instance %s is in sync group %s already", name, other)
			}
			inGroup[name] = g.Name
			out.instance(name).group = g.Name
		}
		if err := checkNotify(g.Notify, "vrrp"+where+".notify"); err != nil {
			return nil, err
		}
		c := g
		c.Instances = slices.Clone(g.Instances)
		out.groups = append(out.groups, c)
	}
	if sd := v.SyncDaemon; sd != nil {
		where := ".syncDaemon"
		if _, ok := byName[sd.Instance]; !ok {
			return nil, fail(where+".instance", "no instance %q", sd.Instance)
		}
		if cfg.Cluster != nil && cfg.Cluster.Sync != nil {
			return nil, fail(where, "cluster.sync is set too: run the sync daemon one way (vrrp.syncDaemon follows an instance, cluster.sync runs both daemons always)")
		}
		ds := sd.Sync.daemons()
		for _, d := range ds {
			if err := ipvs.ValidateSyncDaemon(d); err != nil {
				return nil, fieldError("vrrp.syncDaemon", err)
			}
		}
		out.syncDaemon = &vrrpSync{instance: sd.Instance, both: sd.Both, master: ds[0], backup: ds[1]}
	}
	if v.AnnounceWith != "" {
		if _, ok := byName[v.AnnounceWith]; !ok {
			return nil, fail(".announceWith", "no instance %q", v.AnnounceWith)
		}
		out.announceWith = v.AnnounceWith
	} else if cfg.Cluster != nil && len(cfg.Cluster.Announce) > 0 {
		return nil, fail(".announceWith", "cluster announces prefixes: say which instance's master announces them (announceWith), or every director of the pair would announce them")
	}
	// The key of an instance of a group covers the whole group: a changed
	// group restarts its instances together (vrrp.NewGroup ties them
	// before they run).
	for _, in := range out.instances {
		if in.group == "" {
			continue
		}
		for _, g := range out.groups {
			if g.Name != in.group {
				continue
			}
			var keys []string
			for _, name := range g.Instances {
				keys = append(keys, out.instance(name).key)
			}
			b, _ := json.Marshal(struct {
				Group string
				Keys  []string
			}{g.Name, keys})
			in.key = string(b)
		}
	}
	return out, nil
}

// vridsMeet reports whether two unicast instances of one VRID on one
// interface would take each other's adverts: the same source (both the
// interface's address when unset) and a peer in common.
func vridsMeet(a, b *vrrp.Config) bool {
	if a.Source != b.Source {
		return false
	}
	for _, p := range a.Peers {
		if slices.Contains(b.Peers, p) {
			return true
		}
	}
	return false
}

// compileVRRPInstance converts and validates one instance, at where
// (".instances[i]").
func compileVRRPInstance(vi VRRPInstance, where string, services []*service) (*vrrpInstance, error) {
	fail := func(sub, format string, args ...any) error {
		return &ConfigError{Where: "vrrp" + where + sub, Reason: fmt.Sprintf(format, args...)}
	}
	c := vrrp.Config{Name: vi.Name, Interface: vi.Interface, VRID: vi.VRID, Priority: vi.Priority,
		Version: vrrp.Version(vi.Version), Interval: vi.Interval, Source: vi.Source, Peers: slices.Clone(vi.Peers),
		NoPreempt: vi.NoPreempt, PreemptDelay: vi.PreemptDelay, V3ChecksumAsV2: vi.V3ChecksumAsV2}
	if c.Priority == 0 {
		c.Priority = 100
	}
	switch {
	case vi.Interface == "":
		return nil, fail(".interface", "no interface")
	case !ifname.Valid(vi.Interface):
		return nil, fail(".interface", "interface name %q", vi.Interface)
	case vi.VRID == 0:
		return nil, fail(".vrid", "VRID 0 is not 1-255")
	case len(vi.VIPs) == 0:
		return nil, fail(".vips", "no VIPs")
	case len(vi.VIPs) > vrrp.MaxAddrs:
		return nil, fail(".vips", "%d VIPs, at most %d in an advert", len(vi.VIPs), vrrp.MaxAddrs)
	}
	v6 := vi.VIPs[0].Address.Addr().Is6()
	for i, a := range vi.VIPs {
		w := fmt.Sprintf(".vips[%d]", i)
		addr := a.Address.Addr()
		switch {
		case addr.Is4In6():
			return nil, mapped("vrrp"+where+w, addr)
		case !a.Address.IsValid() || addr.Zone() != "" || addr.IsUnspecified() || addr.IsMulticast() || addr.IsLoopback() ||
			addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, fail(w, "%v is not a unicast address", a.Address)
		case addr.Is6() != v6:
			return nil, fail(w, "%v is not of vips[0]'s family: an instance's VIPs are all IPv4 or all IPv6", addr)
		case a.Interface != "" && !ifname.Valid(a.Interface):
			return nil, fail(w+".interface", "interface name %q", a.Interface)
		}
		for _, b := range vi.VIPs[:i] {
			if b.Address.Addr() == addr {
				return nil, fail(w, "%v listed twice", addr)
			}
		}
		c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: a.Address, Interface: a.Interface})
	}
	held := map[netip.Addr]bool{}
	for _, v := range c.VIPs {
		held[v.Prefix.Addr()] = true
	}
	for i, a := range vi.ExcludedVIPs {
		w := fmt.Sprintf(".excludedVIPs[%d]", i)
		addr := a.Address.Addr()
		switch {
		case addr.Is4In6():
			return nil, mapped("vrrp"+where+w, addr)
		case !a.Address.IsValid() || addr.Zone() != "" || addr.IsUnspecified() || addr.IsMulticast() || addr.IsLoopback() ||
			addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return nil, fail(w, "%v is not a unicast address", a.Address)
		case a.Interface != "" && !ifname.Valid(a.Interface):
			return nil, fail(w+".interface", "interface name %q", a.Interface)
		case held[addr]:
			return nil, fail(w, "%v listed twice (vips and excludedVIPs hold each address once)", addr)
		}
		held[addr] = true
		c.Excluded = append(c.Excluded, vrrp.VIP{Prefix: a.Address, Interface: a.Interface})
	}
	switch vi.Version {
	case 0:
		c.Version = vrrp.V2
		if v6 {
			c.Version = vrrp.V3
		}
	case 2, 3:
	default:
		return nil, fail(".version", "version %d is not 2 or 3", vi.Version)
	}
	if v6 && c.Version == vrrp.V2 {
		return nil, fail(".version", "IPv6 VIPs need VRRP version 3")
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	switch c.Version {
	case vrrp.V2:
		if c.Interval < time.Second || c.Interval > 255*time.Second || c.Interval%time.Second != 0 {
			return nil, fail(".interval", "%v is not 1s-255s in whole seconds (version 2)", vi.Interval)
		}
	case vrrp.V3:
		if c.Interval < 10*time.Millisecond || c.Interval > 40950*time.Millisecond || c.Interval%(10*time.Millisecond) != 0 {
			return nil, fail(".interval", "%v is not 10ms-40.95s in centiseconds (version 3)", vi.Interval)
		}
	}
	if vi.Password != "" {
		switch {
		case c.Version != vrrp.V2:
			return nil, fail(".password", "a password is version 2's (auth_type PASS); version 3 has no authentication")
		case len(vi.Password) > 8:
			return nil, fail(".password", "%d bytes, at most 8", len(vi.Password))
		}
		c.AuthType, c.Password = vrrp.AuthPass, vi.Password
	}
	if s := vi.Source; s.IsValid() && (s.Is6() != v6 || s.Is4In6() || s.IsMulticast() || s.IsUnspecified()) {
		return nil, fail(".source", "%v is not a unicast address of the VIPs' family", s)
	}
	for i, p := range vi.Peers {
		w := fmt.Sprintf(".peers[%d]", i)
		switch {
		case !p.IsValid() || p.Is6() != v6 || p.Is4In6() || p.IsMulticast() || p.IsUnspecified():
			return nil, fail(w, "%v is not a unicast address of the VIPs' family", p)
		case p == vi.Source:
			return nil, fail(w, "%v is the source address", p)
		case slices.Contains(vi.Peers[:i], p):
			return nil, fail(w, "%v listed twice", p)
		}
	}
	if vi.PreemptDelay < 0 || vi.PreemptDelay > 1000*time.Second {
		return nil, fail(".preemptDelay", "%v is not 0-1000s", vi.PreemptDelay)
	}
	if g := vi.GARP; g != nil {
		c.GARP = vrrp.GARP{Repeat: g.Repeat, Delay: g.Delay, Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat,
			LowerPrioRepeat: g.LowerPrioRepeat, LowerPrioDelay: g.LowerPrioDelay, Off: g.Off}
	}
	if err := c.Validate(); err != nil {
		return nil, &ConfigError{Where: "vrrp" + where, Err: err}
	}
	key, _ := json.Marshal(c)
	in := &vrrpInstance{cfg: c, key: string(key)}
	if t := vi.Track; t != nil {
		weight := func(w string, n int) error {
			switch {
			case n < -254 || n > 254:
				return fail(w+".weight", "%d is not -254 to 254", n)
			case n != 0 && c.Priority == vrrp.PriorityOwner:
				return fail(w+".weight", "the address owner's priority (255) does not change: track it with weight 0 (fault)")
			}
			return nil
		}
		for i, it := range t.Interfaces {
			w := fmt.Sprintf(".track.interfaces[%d]", i)
			if !ifname.Valid(it.Name) {
				return nil, fail(w+".name", "interface name %q", it.Name)
			}
			if err := weight(w, it.Weight); err != nil {
				return nil, err
			}
			in.ifaces = append(in.ifaces, it)
		}
		for i, it := range t.Services {
			w := fmt.Sprintf(".track.services[%d]", i)
			ts := vrrpTrackedService{name: it.Name, weight: it.Weight}
			for _, s := range services {
				if it.Name != "" && s.name == it.Name {
					ts.keys = append(ts.keys, s.svc.Key())
				}
			}
			if len(ts.keys) == 0 {
				return nil, fail(w+".name", "no service named %q", it.Name)
			}
			if err := weight(w, it.Weight); err != nil {
				return nil, err
			}
			in.services = append(in.services, ts)
		}
		for i, tc := range t.Checks {
			w := fmt.Sprintf(".track.checks[%d]", i)
			switch {
			case tc.Name == "":
				return nil, fail(w+".name", "no name")
			case tc.Check == nil:
				return nil, fail(w+".check", "no check")
			}
			if err := weight(w, tc.Weight); err != nil {
				return nil, err
			}
			cc, err := compileCheck(*tc.Check, false)
			if err != nil {
				return nil, checkConfigError("vrrp"+where+w, err)
			}
			typ := tc.Check.Spec.Type()
			kind, _ := check.Lookup(typ)
			switch {
			case typ != "command" && !tc.Address.Addr().IsValid():
				return nil, fail(w+".address", "a %s check needs an address", typ)
			case tc.Address.Addr().Is4In6():
				return nil, mapped("vrrp"+where+w+".address", tc.Address.Addr())
			case kind.Port == check.PortNeeded && tc.Address.Port() == 0 && cc.check.Port == 0:
				return nil, fail(w+".address", "a %s check needs a port", typ)
			}
			in.checks = append(in.checks, vrrpTrackedCheck{name: tc.Name, addr: tc.Address, cc: cc, weight: tc.Weight})
		}
	}
	if err := checkNotify(vi.Notify, "vrrp"+where+".notify"); err != nil {
		return nil, err
	}
	if vi.Notify != nil {
		n := *vi.Notify
		in.notify = &n
	}
	return in, nil
}

// checkNotify refuses an empty command.
func checkNotify(n *VRRPNotify, where string) error {
	if n == nil {
		return nil
	}
	for field, argv := range map[string][]string{"master": n.Master, "backup": n.Backup, "fault": n.Fault, "stop": n.Stop, "any": n.Any} {
		if argv != nil && (len(argv) == 0 || argv[0] == "") {
			return &ConfigError{Where: where + "." + field, Reason: "an empty command"}
		}
	}
	return nil
}

// wanted are the daemons to run while the followed instance is master or
// not: both always with Both, else the master daemon on the master and
// the backup daemon on the others, as keepalived's lvs_sync_daemon.
func (s *vrrpSync) wanted(master bool) []ipvs.SyncDaemon {
	switch {
	case s.both:
		return []ipvs.SyncDaemon{s.master, s.backup}
	case master:
		return []ipvs.SyncDaemon{s.master}
	}
	return []ipvs.SyncDaemon{s.backup}
}
