// Package bgp is the director's BGP speaker: a director.Announcer on
// GoBGP (github.com/osrg/gobgp/v4, as a library), which announces VIP
// prefixes to the routers in front of the directors so that they spread
// the VIPs' traffic over every director announcing them (ECMP), and
// withdraws them.
//
// GoBGP opens its sockets on whatever thread its goroutines happen to run
// on, so a Speaker lives in the network namespace of its process: run the
// program in the director's namespace (ip netns exec, systemd's
// NetworkNamespacePath=), never from a thread switched into another one.
//
// Only the director's paths are sent, and the kernel's routes are never
// touched: what the routers send stays in the speaker's own table
// (configure them to send nothing, as bird's "export none" does).
package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lvs-go/lvs/director"
	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// Speaker announces prefixes to BGP peers. It is safe for concurrent use.
type Speaker struct {
	cfg director.BGP
	s   *server.BgpServer

	mu        sync.Mutex
	announced map[netip.Prefix]uuid.UUID
	closed    bool
}

// The Speaker is a director.Announcer.
var _ director.Announcer = (*Speaker)(nil)

// Options configure a Speaker; a nil *Options means the zero Options.
type Options struct {
	// Logger gets GoBGP's own records (sessions, errors); none if nil.
	Logger *slog.Logger
}

// New starts a speaker with cfg's identity and a session with each of its
// peers, in the process's network namespace. It announces nothing until
// Announce. cfg is validated first (BGP.Validate).
func New(ctx context.Context, cfg *director.BGP, opts *Options) (*Speaker, error) {
	if cfg == nil {
		return nil, errors.New("bgp: no configuration")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	level := &slog.LevelVar{}
	level.Set(slog.LevelInfo)
	sp := &Speaker{cfg: *cfg, s: server.NewBgpServer(server.LoggerOption(log, level)), announced: map[netip.Prefix]uuid.UUID{}}
	sp.cfg.Peers = slices.Clone(cfg.Peers)
	go sp.s.Serve()
	listen := int32(-1) // connect only
	if cfg.ListenPort != 0 {
		listen = int32(cfg.ListenPort)
	}
	err := sp.s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: cfg.LocalASN, RouterId: cfg.RouterID.String(), ListenPort: listen}})
	for _, p := range cfg.Peers {
		if err != nil {
			break
		}
		err = sp.s.AddPeer(ctx, &api.AddPeerRequest{Peer: peerOf(p)})
	}
	if err != nil {
		sp.s.Stop()
		return nil, fmt.Errorf("bgp: %w", err)
	}
	return sp, nil
}

// peerOf is p as GoBGP configures a peer: both unicast families, so that
// IPv4 and IPv6 VIPs go over the one session.
func peerOf(p director.BGPPeer) *api.Peer {
	hold := p.HoldTime
	if hold == 0 {
		hold = 90 * time.Second
	}
	retry := p.ConnectRetry
	if retry == 0 {
		retry = 5 * time.Second
	}
	port := uint32(p.Port)
	if port == 0 {
		port = 179
	}
	family := func(afi api.Family_Afi) *api.AfiSafi {
		return &api.AfiSafi{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true}}
	}
	return &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN, AuthPassword: p.Password},
		// A session reset (a hold timer expired, say) is retried after
		// ConnectRetry too, not after GoBGP's default idle time of 30 s.
		Timers: &api.Timers{Config: &api.TimersConfig{HoldTime: uint64(hold / time.Second), KeepaliveInterval: uint64(max(hold/3, time.Second) / time.Second),
			ConnectRetry: uint64(retry / time.Second), IdleHoldTimeAfterReset: uint64(retry / time.Second)}},
		Transport: &api.Transport{RemotePort: port},
		AfiSafis:  []*api.AfiSafi{family(api.Family_AFI_IP), family(api.Family_AFI_IP6)},
	}
}

// errClosed is returned after Close.
var errClosed = errors.New("bgp: speaker closed")

// Announce announces p to every peer, with the configured next hop and
// MED; announcing it again changes nothing.
func (sp *Speaker) Announce(ctx context.Context, p netip.Prefix) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return errClosed
	}
	if _, ok := sp.announced[p]; ok {
		return nil
	}
	path, err := sp.path(p)
	if err != nil {
		return err
	}
	res, err := sp.s.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{path}})
	if err == nil && len(res) == 1 && res[0].Error != nil {
		err = res[0].Error
	}
	if err != nil {
		return fmt.Errorf("bgp: announce %v: %w", p, err)
	}
	sp.announced[p] = res[0].UUID
	return nil
}

// path is the director's path to p.
func (sp *Speaker) path(p netip.Prefix) (*apiutil.Path, error) {
	if !p.IsValid() || p != p.Masked() {
		return nil, fmt.Errorf("bgp: %v is not a prefix", p)
	}
	nlri, err := bgp.NewIPAddrPrefix(p)
	if err != nil {
		return nil, fmt.Errorf("bgp: %v: %w", p, err)
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	family := bgp.RF_IPv4_UC
	if p.Addr().Is6() {
		family = bgp.RF_IPv6_UC
	}
	if family == bgp.RF_IPv4_UC && sp.cfg.NextHop.Is4() {
		nh, err := bgp.NewPathAttributeNextHop(sp.cfg.NextHop)
		if err != nil {
			return nil, fmt.Errorf("bgp: next hop: %w", err)
		}
		attrs = append(attrs, nh)
	} else {
		mp, err := bgp.NewPathAttributeMpReachNLRI(family, []bgp.PathNLRI{{NLRI: nlri}}, sp.cfg.NextHop)
		if err != nil {
			return nil, fmt.Errorf("bgp: next hop: %w", err)
		}
		attrs = append(attrs, mp)
	}
	if sp.cfg.MED != 0 {
		attrs = append(attrs, bgp.NewPathAttributeMultiExitDisc(sp.cfg.MED))
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs}, nil
}

// Withdraw withdraws p from every peer.
func (sp *Speaker) Withdraw(ctx context.Context, p netip.Prefix) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return errClosed
	}
	id, ok := sp.announced[p]
	if !ok {
		return nil
	}
	if err := sp.s.DeletePath(apiutil.DeletePathRequest{UUIDs: []uuid.UUID{id}}); err != nil {
		return fmt.Errorf("bgp: withdraw %v: %w", p, err)
	}
	delete(sp.announced, p)
	return nil
}

// Announced lists what the speaker announces, sorted.
func (sp *Speaker) Announced() []netip.Prefix {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := make([]netip.Prefix, 0, len(sp.announced))
	for p := range sp.announced {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// Peers reports each peer's session, in the configuration's order.
func (sp *Speaker) Peers(ctx context.Context) ([]director.Peer, error) {
	got := map[string]*api.Peer{}
	err := sp.s.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		if p.Conf != nil {
			got[p.Conf.NeighborAddress] = p
		}
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	out := make([]director.Peer, 0, len(sp.cfg.Peers))
	for _, c := range sp.cfg.Peers {
		dp := director.Peer{Address: c.Address, ASN: c.ASN, State: "unknown"}
		if p := got[c.Address.String()]; p != nil && p.State != nil {
			dp.Established = p.State.SessionState == api.PeerState_SESSION_STATE_ESTABLISHED
			dp.State = sessionState(p.State.SessionState)
			if t := p.Timers.GetState(); t != nil {
				switch {
				case dp.Established && t.Uptime != nil:
					dp.Since = t.Uptime.AsTime()
				case !dp.Established && t.Downtime != nil:
					dp.Since = t.Downtime.AsTime()
				}
			}
		}
		out = append(out, dp)
	}
	return out, nil
}

// sessionState is BGP's name of a session state: "established", "idle".
func sessionState(s api.PeerState_SessionState) string {
	names := map[api.PeerState_SessionState]string{
		api.PeerState_SESSION_STATE_IDLE: "idle", api.PeerState_SESSION_STATE_CONNECT: "connect",
		api.PeerState_SESSION_STATE_ACTIVE: "active", api.PeerState_SESSION_STATE_OPENSENT: "opensent",
		api.PeerState_SESSION_STATE_OPENCONFIRM: "openconfirm", api.PeerState_SESSION_STATE_ESTABLISHED: "established",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return "unknown(" + strconv.Itoa(int(s)) + ")"
}

// Close withdraws everything and ends the sessions (the peers see a
// clean close, not a hold-timer expiry), then stops the speaker.
func (sp *Speaker) Close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.closed {
		return nil
	}
	sp.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if len(sp.announced) > 0 {
		err = sp.s.DeletePath(apiutil.DeletePathRequest{DeleteAll: true})
	}
	if serr := sp.s.StopBgp(ctx, &api.StopBgpRequest{}); err == nil {
		err = serr
	}
	sp.s.Stop()
	if err != nil {
		return fmt.Errorf("bgp: close: %w", err)
	}
	return nil
}
