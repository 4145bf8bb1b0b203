package vrrp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"time"
)

// Run runs the instance until ctx is done, then stops it as keepalived
// does on SIGTERM: a master sends one priority-0 advert and removes its
// addresses. It closes the Conn. It returns nil after a clean stop, or
// the error that ended the receiving. Run may be called once.
func (in *Instance) Run(ctx context.Context) error {
	if in.ran.Swap(true) {
		return errors.New("vrrp: Run called twice")
	}
	defer close(in.done)
	type packet struct {
		b []byte
		h Header
	}
	pkts := make(chan packet, 64)
	rerr := make(chan error, 1)
	go func() {
		for {
			buf := make([]byte, 1500)
			n, h, err := in.opts.Conn.Receive(buf)
			if err != nil {
				rerr <- err
				return
			}
			select {
			case pkts <- packet{buf[:n], h}:
			default: // a flood: drop, as a full socket buffer would
			}
		}
	}()
	defer func() { in.opts.Conn.Close(); <-rerr }()

	in.do(ctx, in.m.start(time.Now()))
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		if t := in.m.next(); !t.IsZero() {
			wait = time.Until(t)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			// A context of its own: the addresses are removed even though
			// ctx is done.
			in.do(context.Background(), in.m.stop(time.Now()))
			return nil
		case err := <-rerr:
			in.do(context.Background(), in.m.stop(time.Now()))
			rerr <- err
			return fmt.Errorf("vrrp: %s: receiving: %w", in.cfg.Name, err)
		case p := <-pkts:
			in.do(ctx, in.receive(time.Now(), p.b, p.h))
		case f := <-in.ctl:
			in.do(ctx, f(time.Now()))
		case <-timer.C:
			in.do(ctx, in.m.tick(time.Now()))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// receive decodes and checks one message and hands it to the machine.
func (in *Instance) receive(now time.Time, b []byte, h Header) []action {
	ad := Addressing{Src: h.Src, Dst: h.Dst, V3ChecksumAsV2: in.cfg.V3ChecksumAsV2}
	if h.Src.Is6() != in.cfg.Is6() {
		return nil
	}
	adv, err := Unmarshal(b, ad)
	if err != nil {
		var pe *PacketError
		if errors.As(err, &pe) {
			in.count(func(s *Stats) { s.Invalid[pe.Reason]++ })
		}
		return nil
	}
	if adv.VRID != in.cfg.VRID {
		in.count(func(s *Stats) { s.OtherVRID++ })
		return nil
	}
	multicast := h.Dst.IsMulticast()
	r := received{adv: adv, src: h.Src, dst: h.Dst, ttl: h.TTL, multicast: multicast}
	if pe := in.m.check(r); pe != nil {
		in.count(func(s *Stats) { s.Invalid[pe.Reason]++ })
		return nil
	}
	in.count(func(s *Stats) {
		s.AdvertsRecvd++
		if adv.Priority == 0 {
			s.PriorityZeroRecvd++
		}
	})
	acts := in.m.advert(now, r)
	in.count(func(s *Stats) { s.Master = in.m.master })
	return acts
}

func (in *Instance) count(f func(*Stats)) {
	in.mu.Lock()
	f(&in.stats)
	in.mu.Unlock()
}

// do carries out the machine's actions.
func (in *Instance) do(ctx context.Context, acts []action) {
	in.count(func(s *Stats) { s.Priority = in.m.prio })
	for _, a := range acts {
		switch a.kind {
		case actSend:
			in.send(a.prio)
		case actAddVIPs:
			for _, v := range in.cfg.held() {
				err := in.opts.Addrs.AddAddr(ctx, in.link(v), v.Prefix)
				if err != nil && !errors.Is(err, fs.ErrExist) {
					in.event(Event{Err: fmt.Errorf("vrrp: %s: adding %s: %w", in.cfg.Name, v.Prefix, err)})
				}
			}
		case actDelVIPs:
			for _, v := range in.cfg.held() {
				if err := in.opts.Addrs.DelAddr(ctx, in.link(v), v.Prefix); err != nil {
					in.event(Event{Err: fmt.Errorf("vrrp: %s: removing %s: %w", in.cfg.Name, v.Prefix, err)})
				}
			}
		case actAnnounce:
			in.announce(a.count)
		case actState:
			in.transition(a.state)
		}
	}
}

func (in *Instance) link(v VIP) string {
	if v.Interface != "" {
		return v.Interface
	}
	return in.cfg.Interface
}

func (in *Instance) send(prio uint8) {
	adv := Advert{Version: in.cfg.Version, VRID: in.cfg.VRID, Priority: prio, Interval: in.cfg.Interval,
		AuthType: in.cfg.AuthType, Password: in.cfg.password()}
	for _, v := range in.cfg.VIPs {
		adv.Addrs = append(adv.Addrs, v.Prefix.Addr())
	}
	dsts := in.cfg.Peers
	if len(dsts) == 0 {
		dsts = []netip.Addr{Group4}
		if in.cfg.Is6() {
			dsts = []netip.Addr{Group6}
		}
	}
	for _, dst := range dsts {
		b, err := adv.Marshal(Addressing{Src: in.cfg.Source, Dst: dst, V3ChecksumAsV2: in.cfg.V3ChecksumAsV2})
		if err == nil {
			err = in.opts.Conn.Send(b, dst)
		}
		if err != nil {
			in.event(Event{Err: fmt.Errorf("vrrp: %s: sending to %s: %w", in.cfg.Name, dst, err)})
			continue
		}
		in.count(func(s *Stats) {
			s.AdvertsSent++
			if prio == 0 {
				s.PriorityZeroSent++
			}
		})
	}
}

// announce sends n GARPs / NAs for each address, back to back as
// keepalived does with its default vrrp_garp_interval of 0.
func (in *Instance) announce(n int) {
	if in.opts.Announcer == nil {
		return
	}
	var addrs []VIP
	for _, v := range in.cfg.held() {
		if v.Prefix.Addr().Is6() == in.cfg.Is6() {
			addrs = append(addrs, v)
		}
	}
	for i := 0; i < n; i++ {
		for _, v := range addrs {
			if err := in.opts.Announcer.Announce(v.Prefix.Addr()); err != nil {
				in.event(Event{Err: fmt.Errorf("vrrp: %s: announcing %s: %w", in.cfg.Name, v.Prefix.Addr(), err)})
				continue
			}
			in.count(func(s *Stats) { s.Announcements++ })
		}
	}
}

func (in *Instance) transition(to State) {
	now := time.Now()
	var from State
	in.count(func(s *Stats) {
		from = s.State
		s.State = to
		s.Transitions++
		s.Priority = in.m.prio
		if from == Master || to == Master {
			s.LastMasterChange = now
		}
		if to == Master {
			s.Master = in.cfg.Source
		}
	})
	in.event(Event{From: from, To: to, Time: now, Priority: in.m.prio})
	if in.group != nil {
		in.group.changed(in, to)
	}
}

func (in *Instance) event(e Event) {
	e.Instance = in.cfg.Name
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if in.opts.Events != nil {
		in.opts.Events(e)
	}
}
