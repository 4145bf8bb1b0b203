package iptables

import (
	"fmt"
	"strconv"
	"strings"
)

// MarshalText writes "80" for one port and "8000-8080" for a range.
func (r PortRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "80" or "8000-8080" (as iptables' --dports takes
// them; "8000:8080" too). The range is checked by Rule.Validate.
func (r *PortRange) UnmarshalText(b []byte) error {
	first, last, isRange := strings.Cut(string(b), "-")
	if !isRange {
		first, last, isRange = strings.Cut(string(b), ":")
	}
	if !isRange {
		last = first
	}
	a, err1 := strconv.ParseUint(first, 10, 16)
	z, err2 := strconv.ParseUint(last, 10, 16)
	if err1 != nil || err2 != nil {
		return &ValidationError{Index: -1, Field: "Ports", Reason: fmt.Sprintf("%q is not a port or a range first-last", b)}
	}
	*r = PortRange{First: uint16(a), Last: uint16(z)}
	return nil
}
