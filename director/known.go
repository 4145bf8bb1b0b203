package director

import (
	"slices"

	"github.com/lvs-go/lvs/ipvs"
)

// share makes ts, what the Director knows the kernel holds of the service
// keyed k, hold the model's own slice of destinations when it has their
// settings, in their order or in the reverse one (the kernel lists them
// so: it puts each new one first), as nearly always at rest: the table
// is then held once, not once in the model and again as known. The
// kernel's counters (connections, stats) are not kept then: nothing
// planned from what is known reads them (Collect reads the kernel). A
// shared slice is never changed in place: own copies it first.
func (d *Director) share(k ipvs.Key, ts *ipvs.TableService) {
	if d.model == nil || len(ts.Destinations) == 0 {
		return
	}
	s := d.model.service(k)
	if s == nil || len(s.dests) != len(ts.Destinations) || &s.dests[0] == &ts.Destinations[0] ||
		!slices.EqualFunc(s.dests, ts.Destinations, sameDest) && !reversed(s.dests, ts.Destinations) {
		return
	}
	if d.knownShared == nil {
		d.knownShared = map[*ipvs.TableService]bool{}
	}
	ts.Destinations = s.dests[:len(s.dests):len(s.dests)] // an append copies
	d.knownShared[ts] = true
}

// own makes the known destinations of ts the Director's to change in
// place: a copy of the model's, if share made
// them the model's.
func (d *Director) own(ts *ipvs.TableService) {
	if d.knownShared[ts] {
		ts.Destinations = slices.Clone(ts.Destinations)
		delete(d.knownShared, ts)
	}
}

// shareLearned shares (share) the known destinations of each service
// whose destinations the applied operations changed.
func (d *Director) shareLearned(applied []Op) {
	var last ipvs.Key
	for i := range applied {
		o := &applied[i]
		if d.known == nil {
			return
		}
		switch o.Kind {
		case CreateDestination, UpdateDestination, DrainDestination, DeleteDestination:
		default:
			continue
		}
		k := o.Rule.Service.Key()
		if i > 0 && k == last {
			continue // a plan's operations come by service
		}
		last = k
		if ts := d.known[k]; ts != nil {
			d.share(k, ts)
		}
	}
}

// reversed says whether have holds the settings of want in the reverse
// order.
func reversed(want, have []ipvs.Destination) bool {
	for i, x := range want {
		if !sameDest(have[len(have)-1-i], x) {
			return false
		}
	}
	return true
}
