package director

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// Cluster is what makes one director one of several behind a router:
// the VIP prefixes it announces to the router by BGP, so that the router
// sends their traffic to every director announcing them (ECMP), and the
// settings that let any director take any flow. Active/backup is the same
// setup with the backup announcing a worse path (a higher MED).
type Cluster struct {
	// Announce are the prefixes announced, each holding VIPs of the
	// services (a /32 or /128 per VIP, or a wider prefix, but not a
	// default route: 0.0.0.0/0 and ::/0 are refused). Required, except in
	// a cluster that only runs the sync daemon (no BGP).
	Announce []netip.Prefix `json:"announce,omitempty"`
	// BGP is the speaker's configuration.
	BGP *BGP `json:"bgp,omitempty"`
	// Sync runs IPVS's sync daemon as master and backup, so that the
	// state of a connection follows its flow to another director.
	Sync *Sync `json:"sync,omitempty"`
}

// Sync configures the IPVS sync daemons of a cluster: every director runs
// a master, which multicasts the connections it schedules, and a backup,
// which takes the others' (ipvsadm --start-daemon master and backup). The
// zero settings are the kernel's defaults.
type Sync struct {
	// Interface is where the messages go and come from (required).
	Interface string `json:"interface"`
	// SyncID tells this cluster's messages from another's (0 to 255).
	SyncID uint32 `json:"syncID,omitempty"`
	// Group and Port are the multicast group (224.0.0.81) and port (8848);
	// TTL its hops (1); MaxLength the largest message (from the MTU).
	Group     netip.Addr `json:"group,omitzero"`
	Port      uint16     `json:"port,omitempty"`
	TTL       uint8      `json:"ttl,omitempty"`
	MaxLength uint16     `json:"maxLength,omitempty"`
}

// daemons are the master and backup s configures.
func (s *Sync) daemons() []ipvs.SyncDaemon {
	d := ipvs.SyncDaemon{Interface: s.Interface, SyncID: s.SyncID, Group: s.Group, Port: s.Port, TTL: s.TTL, MaxLength: s.MaxLength}
	master, backup := d, d
	master.State, backup.State = ipvs.SyncMaster, ipvs.SyncBackup
	return []ipvs.SyncDaemon{master, backup}
}

// BGP configures the director's BGP speaker (package director/bgp).
type BGP struct {
	// LocalASN is the director's autonomous system number; RouterID its
	// BGP identifier (an IPv4 address); NextHop the address the router
	// sends the VIPs' traffic to (the director's on the router's link).
	LocalASN uint32     `json:"localASN"`
	RouterID netip.Addr `json:"routerID"`
	NextHop  netip.Addr `json:"nextHop"`
	// MED, sent with every path, makes a director's paths worse (higher)
	// than another's: the router prefers the lowest, so a backup announces
	// a higher MED than the primary.
	MED uint32 `json:"med,omitempty"`
	// ListenPort is the port the speaker accepts sessions on; 0 means it
	// only connects to its peers.
	ListenPort uint16 `json:"listenPort,omitempty"`
	// Peers are the routers.
	Peers []BGPPeer `json:"peers"`
}

// BGPPeer is a router the speaker keeps a session with.
type BGPPeer struct {
	// Address is the router's address, and ASN its autonomous system
	// number.
	Address netip.Addr `json:"address"`
	ASN     uint32     `json:"asn"`
	// Port is the router's BGP port: 179 if zero.
	Port uint16 `json:"port,omitempty"`
	// HoldTime (90s if zero; at least 3s) is how long a silent session
	// lives: the router withdraws a director it has not heard from for
	// this long. ConnectRetry (5s if zero) is how often a down session is
	// tried again.
	HoldTime     time.Duration `json:"holdTime,omitempty"`
	ConnectRetry time.Duration `json:"connectRetry,omitempty"`
	// Password, if set, signs the session with TCP MD5 (RFC 2385).
	Password string `json:"password,omitempty"`
}

// Announcer announces prefixes to the routers in front of a director, so
// that they send it the prefixes' traffic, and withdraws them. Package
// director/bgp has the BGP one, so that a program without BGP does not
// link it.
type Announcer interface {
	// Announce announces p, until Withdraw or Close.
	Announce(ctx context.Context, p netip.Prefix) error
	// Withdraw withdraws p; withdrawing what is not announced is no error.
	Withdraw(ctx context.Context, p netip.Prefix) error
	// Peers reports the sessions with the routers.
	Peers(ctx context.Context) ([]Peer, error)
	// Close withdraws everything and ends the sessions.
	Close() error
}

// Peer is the state of a session with a router.
type Peer struct {
	Address netip.Addr `json:"address"`
	ASN     uint32     `json:"asn"`
	// Established says the session is up: the router has the announced
	// prefixes. State is the protocol's own name for where it is.
	Established bool   `json:"established"`
	State       string `json:"state"`
	// Since is when the session last came up or went down.
	Since time.Time `json:"since,omitzero"`
}

// clusterSysctls are the sysctls a cluster sets (Config.Sysctls overrides
// them): sloppy TCP and SCTP, so that a director that never saw a flow's
// first packet (the router moved the flow to it) still forwards it
// instead of resetting it; and with Sync, a refresh of every synced
// connection every 10 seconds, so that a backup started late learns the
// long-lived ones too.
func clusterSysctls(c *Cluster) map[sysctl.Key]string {
	out := map[sysctl.Key]string{sysctl.VSSloppyTCP: "1", sysctl.VSSloppySCTP: "1"}
	if c.Sync != nil {
		out["net.ipv4.vs.sync_refresh_period"] = "10"
	}
	return out
}

// compileCluster validates c, and the services announced by it: each
// needs what lets every director send a flow to the same real server.
// Validate checks the speaker's settings as a Config's compilation does:
// its errors are *ConfigError, naming the field under cluster.bgp.
func (b *BGP) Validate() error {
	fail := func(where, format string, args ...any) error {
		return &ConfigError{Where: "cluster.bgp" + where, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case b.LocalASN == 0:
		return fail("", "no localASN")
	case !b.RouterID.Is4():
		return fail("", "routerID %v is not an IPv4 address", b.RouterID)
	case !b.NextHop.IsValid() || b.NextHop.IsUnspecified():
		return fail("", "no nextHop")
	case len(b.Peers) == 0:
		return fail("", "no peers")
	}
	seen := make(map[netip.Addr]int, len(b.Peers))
	for i, p := range b.Peers {
		where := fmt.Sprintf(".peers[%d]", i)
		switch {
		case !p.Address.IsValid() || p.Address.IsUnspecified() || p.Address.IsMulticast():
			return fail(where, "address %v", p.Address)
		case p.ASN == 0:
			return fail(where, "no asn")
		case p.HoldTime != 0 && (p.HoldTime < 3*time.Second || p.HoldTime > 65535*time.Second || p.HoldTime%time.Second != 0):
			return fail(where, "holdTime %v: whole seconds from 3s to 65535s", p.HoldTime)
		case p.ConnectRetry < 0 || p.ConnectRetry%time.Second != 0:
			return fail(where, "connectRetry %v: whole seconds", p.ConnectRetry)
		case len(p.Password) > 80:
			return fail(where, "password longer than TCP MD5's 80 bytes")
		}
		if j, ok := seen[p.Address.Unmap()]; ok {
			return fail(where, "peer %v is peers[%d] already", p.Address, j)
		}
		seen[p.Address.Unmap()] = i
	}
	return nil
}

func compileCluster(c *Cluster, services []*service) error {
	fail := func(where, format string, args ...any) error {
		return &ConfigError{Where: "cluster" + where, Reason: fmt.Sprintf(format, args...)}
	}
	// A cluster announces prefixes (BGP), or only runs the sync daemon
	// (a pair whose VIPs move otherwise, as keepalived's lvs_sync_daemon).
	if len(c.Announce) == 0 && (c.BGP != nil || c.Sync == nil) {
		return fail(".announce", "no prefixes")
	}
	for i, p := range c.Announce {
		switch {
		case !p.IsValid() || p != p.Masked() || p.Addr().Is4In6():
			return fail(fmt.Sprintf(".announce[%d]", i), "%v is not a prefix (its address must have no bits past its length)", p)
		case p.Bits() == 0:
			// The default route: the router would send every
			// destination it has no better route for to the director.
			return fail(fmt.Sprintf(".announce[%d]", i), "%v is the default route, not a prefix of VIPs", p)
		}
	}
	if b := c.BGP; b != nil {
		if err := b.Validate(); err != nil {
			return err
		}
	}
	if c.Sync != nil {
		for _, d := range c.Sync.daemons() {
			if err := ipvs.ValidateSyncDaemon(d); err != nil {
				return fieldError("cluster.sync", err)
			}
		}
	}
	for _, s := range services {
		if !c.announces(s) {
			continue
		}
		where := "services: " + s.svc.Key().String()
		if s.name != "" {
			where += " (" + s.name + ")"
		}
		refuse := func(format string, args ...any) error {
			return &ConfigError{Where: where, Reason: "announced by cluster: " + fmt.Sprintf(format, args...)}
		}
		switch {
		case s.svc.Scheduler != ipvs.MaglevHashing || s.svc.Flags&ipvs.FlagMHFallback == 0:
			return refuse("needs scheduler mh with flags [mh-fallback], so that every director sends a flow to the same real server (the others schedule by what each director alone has seen)")
		case s.fails(Remove):
			return refuse("a failed real server must be quiesced (onFailure: quiesce): removing it reorders mh's table differently on directors that see the failure at different times")
		}
		for _, d := range s.dests {
			if d.UpperThreshold != 0 {
				return refuse("real server %v has an upperThreshold, which counts each director's connections alone and so breaks the sameness of their tables", d.Addr)
			}
		}
		if s.quorum == 0 {
			s.quorum = 1 // below it, its prefix is withdrawn
		}
	}
	return nil
}

// announces reports whether one of c's prefixes holds s's VIP.
func (c *Cluster) announces(s *service) bool {
	return slices.ContainsFunc(c.Announce, func(p netip.Prefix) bool { return holds(p, s) })
}

// holds reports whether the prefix p holds s's VIP (a firewall-mark
// service's VIPs are its mark rule's destination).
func holds(p netip.Prefix, s *service) bool {
	switch {
	case s.svc.Addr.IsValid():
		return p.Contains(s.svc.Addr.Addr())
	case s.mark != nil:
		return p.Overlaps(s.mark.Destination)
	}
	return false
}

// wantAnnounced are the prefixes of m's cluster to announce: each whose
// services are all at or above their quorum (an announced service without
// one has quorum 1: it needs a real server in service). A prefix holding a
// service below quorum is withdrawn, so that the routers send its traffic
// to the directors that can serve it; put services that live and die
// together under one prefix.
func (m *model) wantAnnounced(below map[ipvs.Key]bool) []netip.Prefix {
	if m.cluster == nil {
		return nil
	}
	var out []netip.Prefix
	for _, p := range m.cluster.Announce {
		if !slices.ContainsFunc(m.services, func(s *service) bool { return below[s.svc.Key()] && holds(p, s) }) {
			out = append(out, p)
		}
	}
	return out
}

type (
	bgpPeerPlain BGPPeer
	bgpPeerFile  struct {
		*bgpPeerPlain
		HoldTime     jsonDuration `json:"holdTime,omitempty"`
		ConnectRetry jsonDuration `json:"connectRetry,omitempty"`
	}
)

// MarshalJSON writes the durations as "3s".
func (p BGPPeer) MarshalJSON() ([]byte, error) {
	pp := bgpPeerPlain(p)
	return json.Marshal(bgpPeerFile{&pp, jsonDuration(p.HoldTime), jsonDuration(p.ConnectRetry)})
}

// UnmarshalJSON reads the durations as "3s" or seconds.
func (p *BGPPeer) UnmarshalJSON(b []byte) error {
	f := bgpPeerFile{bgpPeerPlain: (*bgpPeerPlain)(p)}
	if err := decodeStrict(b, &f); err != nil {
		return fmt.Errorf("bgp peer: %w", err)
	}
	p.HoldTime, p.ConnectRetry = time.Duration(f.HoldTime), time.Duration(f.ConnectRetry)
	return nil
}

// fingerprint digests the services of ts that owned keys, in key order.
func fingerprint(ts []ipvs.TableService, owned map[ipvs.Key]bool) string {
	ts = slices.DeleteFunc(slices.Clone(ts), func(s ipvs.TableService) bool { return !owned[s.Key()] })
	slices.SortFunc(ts, func(a, b ipvs.TableService) int { return cmpKey(a.Key(), b.Key()) })
	h := sha256.New()
	for _, s := range ts {
		k, _ := s.Key().MarshalText()
		fmt.Fprintf(h, "%s %s %d\n", k, s.Scheduler, s.Flags)
		for _, dst := range s.Destinations {
			fmt.Fprintf(h, " %v %v %d\n", dst.Addr, dst.Forward, dst.Weight)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// appendedOnly refuses next, a configuration replacing prev, where an
// announced service of both has a real server inserted before, or moved
// among, the ones it keeps: the kernel adds each real server at the head of
// its list, so a director that starts afresh with next would order them
// otherwise than one that applied prev and then next, and their mh tables
// would differ. Removing real servers, and adding them at the end, keep
// every director alike.
func appendedOnly(prev, next *model) error {
	if next.cluster == nil {
		return nil
	}
	for _, s := range next.services {
		if !next.cluster.announces(s) {
			continue
		}
		old := prev.service(s.svc.Key())
		if old == nil {
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(old.dests), func(d ipvs.Destination) bool {
			return !slices.ContainsFunc(s.dests, func(x ipvs.Destination) bool { return x.Addr == d.Addr })
		})
		for i, d := range kept {
			if s.dests[i].Addr != d.Addr {
				return &ConfigError{Where: "services: " + s.svc.Key().String(), Reason: fmt.Sprintf(
					"announced by cluster: real server %v is now listed before %v: real servers may only be added at the end "+
						"(a director started afresh would order its mh table otherwise; remove and add at the end instead)", s.dests[i].Addr, d.Addr)}
			}
		}
	}
	return nil
}
