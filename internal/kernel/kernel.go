// Package kernel reads Linux kernel releases: uname's "6.1.0-57-amd64" as
// a Version to compare against the release that introduced a feature or
// fixed a bug, and the running kernel's release. It is the module's one
// release parser.
package kernel

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a kernel release as major, minor and patch level
// ("6.1.0-57-amd64" is 6.1.0). The zero Version stands for an unknown
// release.
type Version struct {
	Major, Minor, Patch int
}

// V is the Version major.minor.patch.
func V(major, minor, patch int) Version { return Version{major, minor, patch} }

// IsZero reports whether v is the zero (unknown) Version.
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or +1 as v is older than, the same as, or newer
// than w.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// AtLeast reports whether v is w or newer.
func (v Version) AtLeast(w Version) bool { return v.Compare(w) >= 0 }

// String writes v as kernel.org names releases: "6.1" for 6.1.0, "6.1.94"
// for a stable update.
func (v Version) String() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// ParseRelease reads a release as uname prints it: "6.1.0-57-amd64",
// "5.4.0-150-generic", "4.18.0-553.el8_10.x86_64", "6.18.44-fc-v782",
// "4.19rc1" (4.19.0), "5.10" (5.10.0). The major and minor numbers are
// required; the patch level is what digits start the third part, zero if
// none. The error names s.
func ParseRelease(s string) (Version, error) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("kernel release %q: no major.minor", s)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil || major < 0 {
		return Version{}, fmt.Errorf("kernel release %q: major %q is not a number", s, parts[0])
	}
	minor, ok := leadingNumber(parts[1])
	if !ok {
		return Version{}, fmt.Errorf("kernel release %q: minor %q is not a number", s, parts[1])
	}
	v := Version{Major: major, Minor: minor}
	if len(parts) == 3 {
		v.Patch, _ = leadingNumber(parts[2])
	}
	return v, nil
}

// leadingNumber reads the digits s starts with; false if none.
func leadingNumber(s string) (int, bool) {
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

// Running returns the running kernel's Version (uname's release); on a
// system other than Linux, an error matching errors.ErrUnsupported.
func Running() (Version, error) {
	r, err := Release()
	if err != nil {
		return Version{}, err
	}
	return ParseRelease(r)
}
