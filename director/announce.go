package director

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// announce makes what Options.Announcer announces match m's cluster: each
// prefix whose services are all at or above quorum, once ready (after an
// apply succeeded); nothing before, or while withdrawn. It returns what changed, and the errors
// of the prefixes it could not change (tried again on the next call).
func (d *Director) announce(ctx context.Context, m *model, below map[ipvs.Key]bool, ready bool) (announced, withdrawn []netip.Prefix, err error) {
	a := d.opts.Announcer
	if a == nil {
		return nil, nil, nil
	}
	d.mu.Lock()
	have, out := slices.Clone(d.announced), d.withdrawn
	d.mu.Unlock()
	var want []netip.Prefix
	if ready && !out {
		want = m.wantAnnounced(below)
	}
	var errs []error
	for _, p := range have {
		if slices.Contains(want, p) {
			continue
		}
		if err := a.Withdraw(ctx, p); err != nil {
			errs = append(errs, err)
			continue
		}
		withdrawn = append(withdrawn, p)
	}
	for _, p := range want {
		if slices.Contains(have, p) {
			continue
		}
		if err := a.Announce(ctx, p); err != nil {
			errs = append(errs, err)
			continue
		}
		announced = append(announced, p)
	}
	d.mu.Lock()
	d.announced = slices.DeleteFunc(d.announced, func(p netip.Prefix) bool { return slices.Contains(withdrawn, p) })
	d.announced = append(d.announced, announced...)
	d.status.announced(d.announced)
	d.mu.Unlock()
	return announced, withdrawn, errors.Join(errs...)
}

// withdrawAll withdraws everything the Director announced.
func (d *Director) withdrawAll(ctx context.Context) error {
	_, _, err := d.announce(ctx, &model{}, nil, false)
	return err
}

// reportAnnounce calls announce and reports what it did.
func (d *Director) reportAnnounce(ctx context.Context, m *model, below map[ipvs.Key]bool, ready bool, report func(Report)) {
	a, w, err := d.announce(ctx, m, below, ready)
	if len(a)+len(w) > 0 || err != nil {
		report(Report{Time: time.Now(), Announced: a, Withdrawn: w, Err: err})
	}
}
