package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/vrrp"
)

// newLogger logs to w as text or JSON, from level up.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// report logs what Run tells, one record per event: each health change,
// each operation applied or failed (with its service and real server), each
// collection and error.
func (dm *daemon) report(r director.Report) {
	log := dm.log
	if r.Resync {
		log = log.With("resync", true)
	}
	switch {
	case r.VRRP != nil:
		dm.reportVRRP(log, *r.VRRP)
	case r.Health != nil:
		h := r.Health
		if h.Healthy {
			log.Info("real server healthy", "service", h.Service, "real_server", h.RealServer)
		} else {
			log.Warn("real server failed", "service", h.Service, "real_server", h.RealServer, "reason", errText(h.Err))
		}
	case r.Quorum != nil:
		q := r.Quorum
		if q.Up {
			log.Info("service quorum up", "service", q.Service, "in_service", q.InService, "quorum", q.Quorum)
		} else {
			log.Warn("service below quorum", "service", q.Service, "in_service", q.InService, "quorum", q.Quorum)
		}
	case len(r.Announced)+len(r.Withdrawn) > 0:
		for _, p := range r.Announced {
			log.Info("announced", "prefix", p)
		}
		for _, p := range r.Withdrawn {
			log.Warn("withdrawn", "prefix", p)
		}
		if r.Err != nil {
			log.Error("announcing failed", "error", r.Err)
		}
	case r.Plan != nil:
		var failed map[int]error
		var ae *director.ApplyError
		if errors.As(r.Err, &ae) {
			var unmatched []director.FailedOp
			failed, unmatched = failedOps(r.Plan.Ops, ae.Failed)
			for _, f := range unmatched {
				if f.Op.Kind == 0 {
					log.Error("apply failed", "error", f.Err)
					continue
				}
				log.Error("operation failed", append(opAttrs(f.Op), "error", f.Err)...)
			}
		} else if r.Err != nil {
			log.Error("apply failed", "error", r.Err)
		}
		each := len(r.Plan.Ops) <= logEachOp
		debug := log.Enabled(context.Background(), slog.LevelDebug)
		var kinds []director.OpKind // in the order first applied
		count := map[director.OpKind]int{}
		for i, o := range r.Plan.Ops {
			if err, ok := failed[i]; ok {
				log.Error("operation failed", append(opAttrs(o), "error", err)...)
				continue
			}
			if r.Err != nil && ae == nil {
				continue // not applied: the plan could not be made or sent
			}
			switch {
			case each:
				log.Info("applied", opAttrs(o)...)
				continue
			case debug:
				log.Debug("applied", opAttrs(o)...)
			}
			if count[o.Kind] == 0 {
				kinds = append(kinds, o.Kind)
			}
			count[o.Kind]++
		}
		if len(kinds) > 0 {
			attrs := []any{}
			n := 0
			for _, k := range kinds {
				attrs = append(attrs, strings.ReplaceAll(k.String(), " ", "_"), count[k])
				n += count[k]
			}
			log.Info("applied operations", append([]any{"count", n}, attrs...)...)
		}
	case r.Collected > 0 || r.Err != nil:
		if r.Collected > 0 {
			log.Info("drained real servers deleted", "count", r.Collected)
		}
		if r.Err != nil {
			log.Error("error", "error", r.Err)
		}
	}
}

// reportVRRP logs a VRRP instance's (or sync group's) state change or
// error: becoming master at info, leaving it or a fault at warn, errors at
// error.
func (dm *daemon) reportVRRP(log *slog.Logger, e director.VRRPEvent) {
	attrs := []any{"instance", e.Instance}
	if e.Instance == "" {
		attrs = []any{"sync_group", e.Group}
	} else if e.Group != "" {
		attrs = append(attrs, "sync_group", e.Group)
	}
	if e.Err != nil {
		log.Error("vrrp error", append(attrs, "error", e.Err)...)
		return
	}
	attrs = append(attrs, "from", e.From.String(), "to", e.To.String(), "priority", e.Priority)
	switch {
	case e.To == vrrp.Master:
		log.Info("vrrp master", attrs...)
	case e.From == vrrp.Master || e.To == vrrp.Fault:
		log.Warn("vrrp state", attrs...)
	default:
		log.Info("vrrp state", attrs...)
	}
}

// logEachOp is the largest plan whose applied operations are logged one
// by one at info. A larger one (a first apply of a big table, a reload that
// changes much) is one record at info with the count of each kind, each
// operation at debug: thousands of records at start cost the daemon more
// than the apply, and tell an operator less. Failed operations are always
// logged one by one.
const logEachOp = 100

// opAttrs are an operation's attributes: its kind, service and real
// server where it has them, and the diff line.
func opAttrs(o director.Op) []any {
	attrs := []any{"op", o.Kind.String()}
	if o.IsIPVS() {
		attrs = append(attrs, "service", o.Rule.Service.Key().String())
		if a := o.Rule.Destination.Addr; a.IsValid() {
			attrs = append(attrs, "real_server", a.String())
		}
	}
	return append(attrs, "change", o.String())
}

// failedOps places each failed operation in ops, the plan applied: at the
// first operation of the same kind and text not already taken by another
// failure. It indexes the failures by text first, so that the plan is
// walked once (matching each failure against the whole plan was quadratic:
// minutes for a first apply of 25,000 operations that all failed). The
// failures it cannot place, an error of no operation among them, are
// returned in their order.
func failedOps(ops []director.Op, failures []director.FailedOp) (map[int]error, []director.FailedOp) {
	type key struct {
		kind director.OpKind
		text string
	}
	pending := map[key][]int{} // indexes in failures, in order
	var left []int             // indexes in failures not placed
	for i, f := range failures {
		if f.Op.Kind == 0 {
			left = append(left, i)
			continue
		}
		k := key{f.Op.Kind, f.Op.String()}
		pending[k] = append(pending[k], i)
	}
	placed := make(map[int]error, len(failures))
	for i := 0; i < len(ops) && len(pending) > 0; i++ {
		k := key{ops[i].Kind, ops[i].String()}
		fs, ok := pending[k]
		if !ok {
			continue
		}
		placed[i] = failures[fs[0]].Err
		if len(fs) == 1 {
			delete(pending, k)
		} else {
			pending[k] = fs[1:]
		}
	}
	for _, fs := range pending {
		left = append(left, fs...)
	}
	slices.Sort(left)
	unmatched := make([]director.FailedOp, len(left))
	for i, j := range left {
		unmatched[i] = failures[j]
	}
	return placed, unmatched
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
