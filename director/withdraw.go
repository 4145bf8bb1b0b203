package director

import (
	"context"
	"time"
)

// Withdraw takes the Director out of its cluster without dropping a flow:
// it withdraws every prefix Options.Announcer announces for it, and keeps
// them withdrawn until Rejoin, while the Director goes on forwarding
// whatever still reaches it (the flows the routers move to the other
// directors keep their real servers there: mh, and the sync daemon).
// WaitIdle tells when the routers have stopped sending. While Run runs,
// Withdraw returns once Run has withdrawn; otherwise it withdraws itself.
//
// With a vrrp section, Run also puts every VRRP instance in FAULT until
// Rejoin (Status.VRRP's Failing says "withdrawn"): a master sends priority
// 0 and its peer takes the VIPs at once, the sync daemon having copied the
// connections; the flows still reaching the Director go on.
func (d *Director) Withdraw(ctx context.Context) error { return d.setWithdrawn(ctx, true) }

// Rejoin ends a Withdraw: the prefixes are announced again (by Run, at
// once if it runs, or when it starts).
func (d *Director) Rejoin(ctx context.Context) error { return d.setWithdrawn(ctx, false) }

func (d *Director) setWithdrawn(ctx context.Context, on bool) error {
	d.mu.Lock()
	d.withdrawn = on
	run := d.run
	d.mu.Unlock()
	if run != nil {
		return run.ask(ctx, adminRequest{announce: true})
	}
	if on {
		return d.withdrawAll(ctx)
	}
	return nil
}

// WaitIdle returns once no packet has reached the services the Director
// owns for quiet: their incoming packet counters, which the kernel's
// estimator refreshes every 2 seconds, have not moved (quiet is at least
// 4 seconds). It reads the table every second, and returns ctx's error if
// ctx ends first.
func (d *Director) WaitIdle(ctx context.Context, quiet time.Duration) error {
	quiet = max(quiet, 4*time.Second)
	var last uint64
	changed := time.Time{}
	for {
		d.mu.Lock()
		owned := d.ownedSet()
		d.mu.Unlock()
		t, err := d.ipvs.Table(ctx)
		if err != nil {
			return err
		}
		var in uint64
		for _, s := range t.Services {
			if owned[s.Key()] {
				in += s.Stats.PacketsIn
			}
		}
		now := time.Now()
		if changed.IsZero() || in != last {
			last, changed = in, now
		} else if now.Sub(changed) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
