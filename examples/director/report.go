package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/lvs-go/lvs/director/keepalived"
)

// reportCounts are a kind of block's outcomes in a migration report.
type reportCounts struct{ fully, partly, not int }

func (c reportCounts) String() string {
	return fmt.Sprintf("%d (%d fully, %d partly, %d not)", c.fully+c.partly+c.not, c.fully, c.partly, c.not)
}

// writeReport writes the migration report of an import: each
// virtual_server and vrrp_instance block, in the order read, carried
// fully, partly (its notes following, indented) or not (why: its notes);
// then the notes about no such block (global_defs, scripts, sync groups,
// lines outside blocks); then the counts.
func writeReport(w io.Writer, sections []keepalived.Section, notes []keepalived.Note) {
	of := map[keepalived.Pos][]keepalived.Note{}
	var other []keepalived.Note
	for _, n := range notes {
		if n.In == (keepalived.Pos{}) {
			other = append(other, n)
			continue
		}
		of[n.In] = append(of[n.In], n)
	}
	var vs, vrrp reportCounts
	for _, s := range sections {
		c := &vs
		if strings.HasPrefix(s.Header, "vrrp_instance") {
			c = &vrrp
		}
		ns := of[s.Pos]
		switch {
		case len(s.Made) == 0:
			c.not++
			fmt.Fprintf(w, "%s:%d: %s: not carried over\n", s.File, s.Line, s.Header)
		case len(ns) == 0:
			c.fully++
			fmt.Fprintf(w, "%s:%d: %s: carried fully%s\n", s.File, s.Line, s.Header, made(s))
		default:
			c.partly++
			fmt.Fprintf(w, "%s:%d: %s: carried partly%s\n", s.File, s.Line, s.Header, made(s))
		}
		for _, n := range ns {
			fmt.Fprintf(w, "    %v\n", n)
		}
	}
	if len(other) > 0 {
		fmt.Fprintf(w, "other notes (about no virtual_server or vrrp_instance):\n")
		for _, n := range other {
			fmt.Fprintf(w, "    %v\n", n)
		}
	}
	fmt.Fprintf(w, "virtual servers: %v; VRRP instances: %v; other notes: %d\n", vs, vrrp, len(other))
}

// made says what a block made, when it is not its own name: the services
// of a group's members, or the service a group's second block joined.
func made(s keepalived.Section) string {
	switch {
	case len(s.Made) > 1:
		return fmt.Sprintf(" (as %d services, one per member of its group)", len(s.Made))
	case s.Made[0] == s.Header || "vrrp_instance "+s.Made[0] == s.Header:
		return ""
	}
	return fmt.Sprintf(" (as %q)", s.Made[0])
}
