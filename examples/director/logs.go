package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

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
		failed := map[int]error{}
		var ae *director.ApplyError
		if errors.As(r.Err, &ae) {
			for _, f := range ae.Failed {
				if f.Op.Kind == 0 {
					log.Error("apply failed", "error", f.Err)
					continue
				}
				for i, o := range r.Plan.Ops {
					if _, seen := failed[i]; !seen && sameOp(o, f.Op) {
						failed[i] = f.Err
						break
					}
				}
			}
		} else if r.Err != nil {
			log.Error("apply failed", "error", r.Err)
		}
		for i, o := range r.Plan.Ops {
			attrs := opAttrs(o)
			if err, ok := failed[i]; ok {
				log.Error("operation failed", append(attrs, "error", err)...)
				continue
			}
			if r.Err != nil && ae == nil {
				continue // not applied: the plan could not be made or sent
			}
			log.Info("applied", attrs...)
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

func sameOp(a, b director.Op) bool { return a.Kind == b.Kind && a.String() == b.String() }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
