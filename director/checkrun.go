package director

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// healthChange is a health change of one target.
type healthChange struct {
	tg target
	e  Event
}

// startChecks runs the configuration's health checks, each real server in
// a goroutine of its own, at most Options.MaxChecks probing at once, and
// sends each health change on changes. Each check starts from the state
// failed has for its real server (the one Run acts on), so that a real
// server failed before a reload is reported when it recovers; the checked
// real servers are what Status reports. The returned func stops them and
// waits for them to end.
func (d *Director) startChecks(ctx context.Context, m *model, failed map[target]bool, changes chan<- healthChange) func() {
	ctx, cancel := context.WithCancel(ctx)
	max := d.opts.MaxChecks
	if max <= 0 {
		max = 32
	}
	sem := make(chan struct{}, max)
	var wg sync.WaitGroup
	targets := m.targets()
	d.status.watch(targets, failed)
	for tg, cc := range targets {
		wasFailed := failed[tg]
		wg.Add(1)
		go func() {
			defer wg.Done()
			tl := tally{failed: wasFailed}
			if j := cc.check.Jitter; j > 0 {
				wait := time.NewTimer(rand.N(j))
				select {
				case <-ctx.Done():
					wait.Stop()
					return
				case <-wait.C:
				}
			}
			tick := time.NewTicker(cc.check.Interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case sem <- struct{}{}:
				}
				err := cc.run(ctx, d, tg.addr)
				<-sem
				if ctx.Err() != nil {
					return
				}
				if tl.add(err == nil, cc.check) {
					e := Event{Service: tg.svc.String(), RealServer: tg.addr, Healthy: !tl.failed, Err: err}
					select {
					case changes <- healthChange{tg, e}:
					case <-ctx.Done():
						return
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
