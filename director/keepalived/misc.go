package keepalived

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/lvs-go/lvs/director/check"
)

// Placeholders for a real server's address and port in a command
// template; neither can be in a configuration's words.
const (
	addrMark = "\x00ADDR\x00"
	portMark = "\x00PORT\x00"
)

// commonCommand makes the MISC_CHECKs of a service's real servers one
// command when they differ only by each real server's address and port
// (the usual pattern: "check.sh 10.0.0.2 80"): the director runs one
// command per service with LVS_RS_ADDR and LVS_RS_PORT in its
// environment, so the command becomes a shell line reading them. Checks
// that differ otherwise are left as they are: each real server's own.
func (im *importer) commonCommand(vs *virtualServer, all []built) {
	if len(all) < 2 {
		return
	}
	var tmpl []string
	differ := false
	for i, b := range all {
		c, ok := b.check.Spec.(*check.Command)
		if !ok {
			return
		}
		t := template(c.Argv, b.addr)
		if i == 0 {
			tmpl = t
			continue
		}
		if !reflect.DeepEqual(t, tmpl) {
			return
		}
		o, other := b.check, all[0].check
		o.Spec, other.Spec = nil, nil
		if !reflect.DeepEqual(o, other) {
			return
		}
		differ = differ || !reflect.DeepEqual(c.Argv, all[0].check.Spec.(*check.Command).Argv)
	}
	if !differ {
		return
	}
	argv := []string{"/bin/sh", "-c", shellLine(tmpl)}
	for i := range all {
		all[i].check.Spec = &check.Command{Argv: argv}
	}
	b := all[0]
	b.notes = append(b.notes, Note{File: b.n.file, Line: b.n.line, Block: vs.name, Option: "MISC_CHECK",
		Reason: "the real servers' commands differ only by their address and port: carried as one command, run for each real server with LVS_RS_ADDR and LVS_RS_PORT: " + argv[2]})
	all[0] = b
}

// template is argv with addr's address and port replaced by the marks:
// the address wherever it stands alone in a word (not part of a longer
// address), the port where it is a whole word.
func template(argv []string, addr netip.AddrPort) []string {
	a := addr.Addr().String()
	p := strconv.Itoa(int(addr.Port()))
	out := make([]string, len(argv))
	for i, w := range argv {
		if addr.Port() != 0 && w == p {
			out[i] = portMark
			continue
		}
		var b strings.Builder
		for {
			j := strings.Index(w, a)
			if j < 0 {
				b.WriteString(w)
				break
			}
			end := j + len(a)
			if j > 0 && addrByte(w[j-1]) || end < len(w) && addrByte(w[end]) {
				b.WriteString(w[:end])
				w = w[end:]
				continue
			}
			b.WriteString(w[:j] + addrMark)
			w = w[end:]
		}
		out[i] = b.String()
	}
	return out
}

func addrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// shellLine is "exec" and the words of tmpl quoted for sh, the marks
// read from the environment.
func shellLine(tmpl []string) string {
	var b strings.Builder
	b.WriteString("exec")
	for _, w := range tmpl {
		b.WriteString(" ")
		for len(w) > 0 {
			switch {
			case strings.HasPrefix(w, addrMark):
				b.WriteString(`"$LVS_RS_ADDR"`)
				w = w[len(addrMark):]
			case strings.HasPrefix(w, portMark):
				b.WriteString(`"$LVS_RS_PORT"`)
				w = w[len(portMark):]
			default:
				n := len(w)
				if k := strings.IndexByte(w, 0); k >= 0 {
					n = k
				}
				b.WriteString("'" + strings.ReplaceAll(w[:n], "'", `'\''`) + "'")
				w = w[n:]
			}
		}
	}
	return b.String()
}
