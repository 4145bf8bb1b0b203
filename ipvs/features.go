package ipvs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// kernelVersion is a Linux release as major, minor; zero means unknown (no
// feature checks are made).
type kernelVersion struct{ major, minor int }

func (v kernelVersion) atLeast(major, minor int) bool {
	return v == (kernelVersion{}) || v.major > major || (v.major == major && v.minor >= minor)
}

func (v kernelVersion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// parseRelease reads "6.1.0-56-amd64" as 6.1.
func parseRelease(s string) kernelVersion {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return kernelVersion{}
	}
	major, err1 := strconv.Atoi(parts[0])
	minorStr := parts[1]
	if i := strings.IndexFunc(minorStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorStr = minorStr[:i]
	}
	minor, err2 := strconv.Atoi(minorStr)
	if err1 != nil || err2 != nil {
		return kernelVersion{}
	}
	return kernelVersion{major, minor}
}

// A feature newer than the oldest kernels IPVS runs on, with the release
// that introduced it. The kernel ignores attributes it does not know, so
// without this check an old kernel would silently do something else (an
// IPIP tunnel instead of GUE, for example).
type feature struct {
	name         string
	major, minor int
}

var (
	featGUE          = feature{"GUE tunnel destinations", 5, 2}
	featGRE          = feature{"GRE tunnel destinations", 5, 3}
	featTunnelCsum   = feature{"tunnel checksum flags", 5, 3}
	featDaemonParams = feature{"sync daemon max length, group, port and TTL", 4, 3}
	featMH           = feature{"the mh scheduler", 4, 18}
	featTwos         = feature{"the twos scheduler", 5, 11}
)

// unsupported checks that v has every feature; the error wraps
// errors.ErrUnsupported.
func (v kernelVersion) unsupported(fs ...feature) error {
	for _, f := range fs {
		if !v.atLeast(f.major, f.minor) {
			return fmt.Errorf("ipvs: %s need Linux %d.%d, this kernel is %v: %w", f.name, f.major, f.minor, v, errors.ErrUnsupported)
		}
	}
	return nil
}

// features lists the newer features s uses: its scheduler's.
func (s Service) features() []feature {
	if f := s.Scheduler.feature(); f != nil {
		return []feature{*f}
	}
	return nil
}

func (d Destination) features() []feature {
	var fs []feature
	switch d.TunnelType {
	case TunnelGUE:
		fs = append(fs, featGUE)
	case TunnelGRE:
		fs = append(fs, featGRE)
	}
	if d.TunnelFlags != 0 {
		fs = append(fs, featTunnelCsum)
	}
	return fs
}

func (d SyncDaemon) features() []feature {
	if d.MaxLength != 0 || d.Group.IsValid() || d.Port != 0 || d.TTL != 0 {
		return []feature{featDaemonParams}
	}
	return nil
}
