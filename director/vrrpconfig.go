package director

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// VRRP makes the director one of a pair (or more) that move the VIPs
// between them with VRRP (package director/vrrp), as a keepalived pair
// does: every director holds the same IPVS table, the master of an
// instance holds its VIPs, and the connection sync daemon copies the
// master's connections to the backups.
//
// Run runs the instances (over Options.VRRP's sockets) once its first
// apply has been tried, and stops them when it ends: a master sends
// priority 0 (its peer takes over at once) and removes its VIPs. An
// instance starts as a backup, removing its VIPs should a director killed
// while master have left them. Its VIPs are its own: the table's apply
// never adds or removes them, so a VIP is in vips or in an instance, not
// both; services on them are valid as on vips. Each state change is a
// Report with VRRP set, and Status.VRRP shows every instance. A reload
// keeps running the instances it leaves as they were (their track and
// notify may change); one it changes (its VRID, interface, priority, VIPs,
// sync group...) is stopped and started again, which hands its VIPs to the
// peer meanwhile, as a keepalived reload of a changed instance does.
type VRRP struct {
	// Instances are the virtual routers (keepalived's vrrp_instance).
	Instances []VRRPInstance `json:"instances"`
	// SyncGroups tie instances together: when one changes state, the
	// others follow (keepalived's vrrp_sync_group).
	SyncGroups []VRRPSyncGroup `json:"syncGroups,omitempty"`
	// SyncDaemon runs IPVS's connection sync daemon as the state of an
	// instance says (keepalived's lvs_sync_daemon). It replaces
	// cluster.sync, which may not be set with it.
	SyncDaemon *VRRPSyncDaemon `json:"syncDaemon,omitempty"`
	// AnnounceWith names the instance whose state gates the cluster's BGP
	// announcements (Options.Announcer): with both cluster.announce (and
	// so cluster.bgp) and vrrp, the prefixes are announced only while that
	// instance is master, as seesaw does. Required when both are
	// configured.
	AnnounceWith string `json:"announceWith,omitempty"`
}

// VRRPInstance is one virtual router: the director advertises on
// Interface and holds VIPs while it is the router's master.
type VRRPInstance struct {
	// Name identifies the instance (in sync groups, track, notify,
	// metrics and status); required, unique.
	Name string `json:"name"`
	// Interface is the link adverts are sent and received on.
	Interface string `json:"interface"`
	// VRID is the virtual router's id, 1-255, unique on the interface
	// among the instances of its address family (an IPv4 and an IPv6
	// router are distinct, as in keepalived).
	VRID uint8 `json:"vrid"`
	// Priority is 1-254 (100 if zero, keepalived's default), or 255 for
	// the address owner: its VIPs are the interface's own addresses, it is
	// master at once, and its track items may only have weight 0.
	Priority uint8 `json:"priority,omitempty"`
	// Version is 2 (IPv4 only; keepalived's default) or 3; zero is 2 for
	// IPv4 and 3 for IPv6.
	Version uint8 `json:"version,omitempty"`
	// Interval is the advertisement interval (1s if zero): whole seconds
	// in version 2, centiseconds (10ms to 40.95s) in version 3.
	Interval time.Duration `json:"interval,omitempty"`
	// Source is the address adverts are sent from (keepalived's
	// unicast_src_ip); zero is the interface's primary address.
	Source netip.Addr `json:"source,omitzero"`
	// Peers, if any, are the other routers' addresses, sent adverts to by
	// unicast instead of multicast (keepalived's unicast_peer).
	Peers []netip.Addr `json:"peers,omitempty"`
	// Password is version 2's simple password (keepalived's auth_type
	// PASS), at most 8 bytes; empty is no authentication.
	Password string `json:"password,omitempty"`
	// NoPreempt keeps a lower-priority master in place when this director
	// could take over; PreemptDelay (at most 1000s) waits this long before
	// preempting, from the first lower-priority advert heard as backup
	// (keepalived's preempt_delay).
	NoPreempt    bool          `json:"noPreempt,omitempty"`
	PreemptDelay time.Duration `json:"preemptDelay,omitempty"`
	// V3ChecksumAsV2 computes version 3's IPv4 checksum without the
	// pseudo-header, as keepalived's v3_checksum_as_v2 does.
	V3ChecksumAsV2 bool `json:"v3ChecksumAsV2,omitempty"`
	// GARP is when gratuitous ARPs (IPv4) or unsolicited neighbour
	// advertisements (IPv6) are sent; nil is keepalived's defaults.
	GARP *VRRPGARP `json:"garp,omitempty"`
	// VIPs are the addresses the master holds, all of one family.
	VIPs []VRRPAddress `json:"vips"`
	// ExcludedVIPs are held by the master too, but not listed in its
	// adverts, and may be of either family (keepalived's
	// virtual_ipaddress_excluded): a peer compares the adverts' list with
	// its own VIPs, so these are how a master holds more addresses than an
	// advert lists, or addresses of the other family.
	ExcludedVIPs []VRRPAddress `json:"excludedVIPs,omitempty"`
	// Track lowers the instance's priority or puts it in FAULT when what
	// it depends on fails (keepalived's track_interface and track_script).
	Track *VRRPTrack `json:"track,omitempty"`
	// Notify runs commands on the instance's state changes.
	Notify *VRRPNotify `json:"notify,omitempty"`
}

// VRRPAddress is a virtual address an instance's master holds. In files it
// is a string, "10.0.0.100/24" or "10.0.0.100" (a /32 or /128), or a
// mapping {address: 10.0.0.100/24, interface: eth1}.
type VRRPAddress struct {
	// Address is the address and its prefix length.
	Address netip.Prefix `json:"address"`
	// Interface holds it: the instance's Interface if empty.
	Interface string `json:"interface,omitempty"`
}

// VRRPGARP is package vrrp's GARP as files write it; a zero field is
// keepalived's default.
type VRRPGARP struct {
	// Repeat of each on becoming master (5), and Repeat again Delay (5s)
	// later.
	Repeat int           `json:"repeat,omitempty"`
	Delay  time.Duration `json:"delay,omitempty"`
	// RefreshRepeat every Refresh while master (none if zero).
	Refresh       time.Duration `json:"refresh,omitempty"`
	RefreshRepeat int           `json:"refreshRepeat,omitempty"`
	// LowerPrioRepeat on hearing a lower priority as master, and again
	// LowerPrioDelay later (Repeat and Delay if zero).
	LowerPrioRepeat int           `json:"lowerPrioRepeat,omitempty"`
	LowerPrioDelay  time.Duration `json:"lowerPrioDelay,omitempty"`
	// Off sends none.
	Off bool `json:"off,omitempty"`
}

// VRRPTrack is what an instance depends on. An item with a Weight of zero
// puts the instance in FAULT while it fails (a faulty instance gives up
// its VIPs, and sends priority 0 if master); a negative Weight lowers the
// priority by its absolute value while the item fails, a positive one
// raises it while the item is good (keepalived's weights, -254 to 254).
// The effective priority stays within 1-254. The instance's own Interface
// is always tracked with weight 0, as keepalived tracks it; interfaces are
// polled every advert interval (at least every second, at most every
// 100ms). Status.VRRP lists the failing items.
type VRRPTrack struct {
	// Interfaces fail while their link is down or absent.
	Interfaces []VRRPTrackItem `json:"interfaces,omitempty"`
	// Services fail while they are down: below their quorum, or with no
	// healthy real server. Name is the service's name.
	Services []VRRPTrackItem `json:"services,omitempty"`
	// Checks fail while their check does (keepalived's track_script, or
	// any other check kind), with its interval, timeout, rise and fall
	// (each starts good): Check is run against Address, not a real
	// server, so a command check's argv is complete (its LVS_RS_ADDR is
	// Address's, "invalid IP" without one) and every other kind needs
	// Address (with a port unless the check has its own or uses none).
	Checks []VRRPTrackCheck `json:"checks,omitempty"`
}

// VRRPTrackItem is an interface or a service an instance tracks; a
// service is every one of that name (down if one is).
type VRRPTrackItem struct {
	// Name is the interface's name, or the service's.
	Name string `json:"name"`
	// Weight is what the item does to the priority (see VRRPTrack): 0
	// puts the instance in FAULT while it fails.
	Weight int `json:"weight,omitempty"`
}

// VRRPTrackCheck is a check an instance tracks.
type VRRPTrackCheck struct {
	// Name identifies it in status and logs.
	Name string `json:"name"`
	// Address is where a network check connects; required for every kind
	// but command.
	Address netip.AddrPort `json:"address,omitzero"`
	// Check is the check, as a service's check block writes it.
	Check *Check `json:"check"`
	// Weight is what its failure does to the priority (see VRRPTrack): 0
	// puts the instance in FAULT.
	Weight int `json:"weight,omitempty"`
}

// VRRPNotify lists the commands run when an instance (or a sync group)
// changes state, each an argv (no shell), started in the director's
// network namespace and not waited for (killed after NotifyTimeout), as
// keepalived's notify_master, notify_backup, notify_fault, notify_stop and
// notify. Any is run on every change with keepalived's four arguments
// appended: "INSTANCE" (or "GROUP"), the name, the new state (MASTER,
// BACKUP, FAULT, STOP) and the priority. Every command also has in its
// environment LVS_EVENT (vrrp_master, vrrp_backup, vrrp_fault or
// vrrp_stop), LVS_VRRP_INSTANCE (or LVS_VRRP_GROUP), LVS_VRRP_STATE and
// LVS_VRRP_PRIORITY.
type VRRPNotify struct {
	// Master runs on becoming master (notify_master), Backup on becoming
	// backup (notify_backup), Fault on entering FAULT (notify_fault), Stop
	// when the instance stops (notify_stop).
	Master []string `json:"master,omitempty"`
	Backup []string `json:"backup,omitempty"`
	Fault  []string `json:"fault,omitempty"`
	Stop   []string `json:"stop,omitempty"`
	// Any runs on every change, with the four arguments (notify).
	Any []string `json:"any,omitempty"`
}

// VRRPSyncGroup is a sync group: its instances are master together, and
// one in FAULT puts the others in FAULT until it leaves it. Its Notify
// runs (with "GROUP" and priority 0 for "any") once all its instances are
// in the new state. An instance is in one group at most.
type VRRPSyncGroup struct {
	// Name identifies the group (in notify and status); required, unique.
	Name string `json:"name"`
	// Instances are the names of the instances it ties together.
	Instances []string `json:"instances"`
	// Notify runs commands on the group's state changes.
	Notify *VRRPNotify `json:"notify,omitempty"`
}

// VRRPSyncDaemon runs IPVS's connection sync daemon for a VRRP pair. By
// default it follows Instance as keepalived's lvs_sync_daemon does: the
// master daemon while the instance is master, the backup daemon while it
// is not. Both runs the two daemons always, so that a director that failed
// back still has the connections its peer took meanwhile. As with
// cluster.sync, net.ipv4.vs.sync_refresh_period is set to 10 (sysctls
// overrides it), so that a backup started late learns the long-lived
// connections too.
type VRRPSyncDaemon struct {
	// Instance is the VRRP instance followed (required).
	Instance string `json:"instance"`
	// Both runs the master and the backup daemon always, whatever the
	// instance's state.
	Both bool `json:"both,omitempty"`
	// Sync is the daemons' interface, sync id, group, port, TTL and
	// maximum message length, as cluster.sync spells them.
	Sync
}

// MarshalJSON writes the address as a string when it has no interface of
// its own.
func (a VRRPAddress) MarshalJSON() ([]byte, error) {
	if a.Interface == "" {
		return json.Marshal(a.Address.String())
	}
	type plain VRRPAddress
	return json.Marshal(plain(a))
}

// UnmarshalJSON reads "10.0.0.100/24", "10.0.0.100", or a mapping with
// address and interface.
func (a *VRRPAddress) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p, err := parseVRRPPrefix(s)
		if err != nil {
			return err
		}
		*a = VRRPAddress{Address: p}
		return nil
	}
	var f struct {
		Address   string `json:"address"`
		Interface string `json:"interface,omitempty"`
	}
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("vrrp address: %w", err)
	}
	p, err := parseVRRPPrefix(f.Address)
	if err != nil {
		return err
	}
	*a = VRRPAddress{Address: p, Interface: f.Interface}
	return nil
}

// parseVRRPPrefix reads an address with or without its prefix length.
func parseVRRPPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("vrrp address %q: %w", s, err)
		}
		return p, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("vrrp address %q: %w", s, err)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

type (
	vrrpInstancePlain VRRPInstance
	vrrpInstanceFile  struct {
		*vrrpInstancePlain
		Interval     jsonDuration `json:"interval,omitempty"`
		PreemptDelay jsonDuration `json:"preemptDelay,omitempty"`
	}
	vrrpGARPPlain VRRPGARP
	vrrpGARPFile  struct {
		*vrrpGARPPlain
		Delay          jsonDuration `json:"delay,omitempty"`
		Refresh        jsonDuration `json:"refresh,omitempty"`
		LowerPrioDelay jsonDuration `json:"lowerPrioDelay,omitempty"`
	}
)

// MarshalJSON writes the durations as "1s".
func (v VRRPInstance) MarshalJSON() ([]byte, error) {
	p := vrrpInstancePlain(v)
	return json.Marshal(vrrpInstanceFile{&p, jsonDuration(v.Interval), jsonDuration(v.PreemptDelay)})
}

// UnmarshalJSON reads the durations as "1s" or seconds.
func (v *VRRPInstance) UnmarshalJSON(b []byte) error {
	f := vrrpInstanceFile{vrrpInstancePlain: (*vrrpInstancePlain)(v)}
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("vrrp instance: %w", err)
	}
	v.Interval, v.PreemptDelay = time.Duration(f.Interval), time.Duration(f.PreemptDelay)
	return nil
}

// MarshalJSON writes the durations as "5s".
func (g VRRPGARP) MarshalJSON() ([]byte, error) {
	p := vrrpGARPPlain(g)
	return json.Marshal(vrrpGARPFile{&p, jsonDuration(g.Delay), jsonDuration(g.Refresh), jsonDuration(g.LowerPrioDelay)})
}

// UnmarshalJSON reads the durations as "5s" or seconds.
func (g *VRRPGARP) UnmarshalJSON(b []byte) error {
	f := vrrpGARPFile{vrrpGARPPlain: (*vrrpGARPPlain)(g)}
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("vrrp garp: %w", err)
	}
	g.Delay, g.Refresh, g.LowerPrioDelay = time.Duration(f.Delay), time.Duration(f.Refresh), time.Duration(f.LowerPrioDelay)
	return nil
}
