package director

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// Collect deletes the draining real servers whose active connections have
// reached zero or whose drain deadline has passed (only the deadline for
// a service a Cluster announces, so that every director deletes at the
// same time), and reports how many it deleted. A daemon calls it
// periodically.
func (d *Director) Collect(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.st.Draining) == 0 {
		return 0, nil
	}
	t, err := d.ipvs.Table(ctx)
	if err != nil {
		return 0, err
	}
	var b ipvs.Batch
	var ops []Op
	now := time.Now()
	present := map[string]bool{}
	for _, ts := range t.Services {
		for _, dst := range ts.Destinations {
			k := drainKey(ts.Key(), dst.Addr)
			deadline, ok := d.st.Draining[k]
			if !ok {
				continue
			}
			present[k] = true
			// A cluster's directors delete together, at the deadline: each
			// sees its own connections go idle at its own time, and a
			// deletion changes the mh table.
			if now.Before(deadline) && (dst.ActiveConns > 0 || d.inCluster(ts.Key())) {
				continue
			}
			o := Op{Kind: DeleteDestination, Rule: ipvs.Rule{Command: ipvs.DeleteDestination, Service: keyOnly(ts.Service), Destination: ipvs.Destination{Addr: dst.Addr}}}
			b.AddRules([]ipvs.Rule{o.Rule})
			ops = append(ops, o)
		}
	}
	// Entries whose destination is gone already are forgotten.
	for k := range d.st.Draining {
		if !present[k] {
			delete(d.st.Draining, k)
		}
	}
	results, err := d.ipvs.Apply(ctx, &b)
	n := 0
	var errs []error
	var failed []FailedOp
	if err != nil {
		errs = append(errs, err)
	}
	for i, o := range ops {
		var r error = err
		if results != nil {
			r = results[i]
		}
		if r == nil || errors.Is(r, fs.ErrNotExist) {
			d.record([]Op{o})
			d.learn(&o)
			n++
			continue
		}
		d.known = nil // perhaps applied, perhaps not: read the kernel again
		failed = append(failed, FailedOp{Op: o, Err: r})
		if results != nil {
			errs = append(errs, r)
		}
	}
	d.status.counted(ops, failed)
	if err := d.save(); err != nil {
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// inCluster reports whether the service keyed k is announced by the last
// configuration's cluster; d.mu is held.
func (d *Director) inCluster(k ipvs.Key) bool {
	if d.model == nil || d.model.cluster == nil {
		return false
	}
	s := d.model.service(k)
	return s != nil && d.model.cluster.announces(s)
}
