package director

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"time"

	"github.com/lvs-go/lvs/ipvs"
)

// The full read of the IPVS table (at start, on Plan, and on each of Run's
// periodic resyncs), and when the next resync comes.

// resyncFloor is the shortest period of the adaptive resync
// (Options.Resync zero), and resyncShare how many times as long as the
// last resync the next one waits at least: a resync takes at most about
// 1/resyncShare of the time.
const (
	resyncFloor = 30 * time.Second
	resyncShare = 100
)

// resyncAfter is the time from the start of a resync whose read took took
// (the first apply's read, for the first resync) to the start of the next:
// Options.Resync when positive, never (0) when negative, and when zero
// the longer of resyncFloor and resyncShare times took.
func (o Options) resyncAfter(took time.Duration) time.Duration {
	switch {
	case o.Resync < 0:
		return 0
	case o.Resync > 0:
		return o.Resync
	}
	return max(resyncFloor, resyncShare*took)
}

// appender is an IPVS that lists the services and reads a service's
// destinations into slices of the caller's (*ipvs.Client), so that a read
// of the whole table reuses its buffers.
type appender interface {
	AppendServices(ctx context.Context, dst []ipvs.Service) ([]ipvs.Service, error)
	AppendDestinations(ctx context.Context, svc ipvs.Service, dst []ipvs.Destination) ([]ipvs.Destination, error)
}

// readTable reads the IPVS table as far as the planner needs it for m
// (the services m declares and those the Director owns; the others are
// never planned), and keeps it as what the Director knows. It streams:
// each service's destinations are read into one buffer and compared with
// what the Director knows of it, which is kept, unless it differs; so a
// read that finds what the Director expected allocates next to nothing
// (with an IPVS that reads into the caller's slices, as *ipvs.Client).
// The services are returned in the kernel's order, in a slice reused by
// the next read.
func (d *Director) readTable(ctx context.Context, m *model) ([]ipvs.TableService, error) {
	app, _ := d.ipvs.(appender)
	var svcs []ipvs.Service
	var err error
	if app != nil {
		d.svcBuf, err = app.AppendServices(ctx, d.svcBuf[:0])
		svcs = d.svcBuf
	} else {
		svcs, err = d.ipvs.Services(ctx)
	}
	if err != nil {
		return nil, err
	}
	declared := m.byKey
	if declared == nil && len(m.services) > 0 { // a model without an index
		declared = make(map[ipvs.Key]*service, len(m.services))
		for _, s := range m.services {
			declared[s.svc.Key()] = s
		}
	}
	var owned map[ipvs.Key]bool // made for the first service not declared
	isOwned := func(k ipvs.Key) bool {
		if owned == nil {
			owned = make(map[ipvs.Key]bool, len(d.st.Services))
			for _, k := range d.st.Services {
				owned[k] = true
			}
		}
		return owned[k]
	}
	known := d.known
	if known == nil {
		known = make(map[ipvs.Key]*ipvs.TableService, len(svcs))
		d.knownShared = nil
	}
	out := d.tableBuf[:0]
	for _, s := range svcs {
		k := s.Key()
		if declared[k] == nil && !isOwned(k) {
			continue
		}
		var ds []ipvs.Destination
		if app != nil {
			d.destBuf, err = app.AppendDestinations(ctx, s, d.destBuf[:0])
			ds = d.destBuf
		} else {
			ds, err = d.ipvs.Destinations(ctx, s)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the list of services was read
		}
		if err != nil {
			// What was refreshed so far is still what the kernel holds.
			return nil, err
		}
		ts, ok := known[k]
		if !ok || !sameService(ts.Service, s) || !slices.EqualFunc(ts.Destinations, ds, sameDest) &&
			!(d.knownShared[ts] && len(ts.Destinations) == len(ds) && reversed(ts.Destinations, ds)) {
			// Kept unless it differs; a new entry holds the model's own
			// slice when it has these settings (share).
			delete(d.knownShared, ts) // nil, or the one replaced
			ts = &ipvs.TableService{Service: s, Destinations: ds}
			if d.share(k, ts); !d.knownShared[ts] {
				ts.Destinations = slices.Clone(ds) // ds is the read's buffer
			}
			known[k] = ts
		}
		out = append(out, *ts)
	}
	if len(out) != len(known) {
		// Each service read is known once: the others, gone from the
		// kernel or no longer planned, are forgotten.
		seen := make(map[ipvs.Key]bool, len(out))
		for i := range out {
			seen[out[i].Key()] = true
		}
		for k, ts := range known {
			if !seen[k] {
				delete(known, k)
				delete(d.knownShared, ts)
			}
		}
	}
	d.known = known
	d.fullReads++
	d.tableBuf = out
	return out, nil
}
