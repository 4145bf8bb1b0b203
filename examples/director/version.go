package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// buildVersion is what the binary knows of its own build: the module's
// version when built from a module (go install ...@v1.2.3), else the VCS
// revision it was built from, and the Go release.
type buildVersion struct {
	Version   string // v1.2.3, a pseudo-version, a revision, or "unknown"
	Revision  string // the VCS revision, "-dirty" when built from a modified tree; "" if unknown
	GoVersion string
}

// readBuildVersion reads the running binary's build information.
func readBuildVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi)
}

// versionOf reads bi (nil: no build information).
func versionOf(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: "unknown", GoVersion: runtime.Version()}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.GoVersion = bi.GoVersion
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v.Revision != "" && dirty {
		v.Revision += "-dirty"
	}
	switch {
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		v.Version = bi.Main.Version
	case v.Revision != "":
		v.Version = v.Revision
	}
	return v
}

func (v buildVersion) String() string {
	s := v.Version
	if v.Revision != "" && v.Revision != v.Version {
		s += " (revision " + v.Revision + ")"
	}
	return s + ", " + v.GoVersion
}

// writeVersion prints the program's name and version, as -version and the
// version subcommand do.
func writeVersion(w io.Writer, v buildVersion) {
	fmt.Fprintf(w, "%s %v\n", progName(), v)
}

// buildInfoGauge is lvs_director_build_info{version,revision,goversion} 1,
// as Prometheus's own exporters say what they are.
func buildInfoGauge(v buildVersion) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "lvs_director_build_info",
		Help:        "The director's version, VCS revision and Go release, as labels; the value is 1.",
		ConstLabels: prometheus.Labels{"version": v.Version, "revision": v.Revision, "goversion": v.GoVersion},
	})
	g.Set(1)
	return g
}
