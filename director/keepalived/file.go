package keepalived

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
)

// trackFile is a top-level track_file block (vrrp_track_file, its old
// name): a file whose number FILE_CHECKs read.
type trackFile struct {
	n       *node
	path    string
	weight  int // keepalived's default: 1
	reverse bool
	init    *node // init_file, which the director does not do
	used    bool  // by a FILE_CHECK carried over
}

// trackFileBlock reads a track_file block, as keepalived's
// track_file_handler and its keywords do.
func (im *importer) trackFileBlock(n *node) {
	tf := &trackFile{n: n, weight: 1}
	block := n.header()
	for _, s := range n.children {
		switch s.key() {
		case "file":
			if tf.path != "" {
				im.optionNote(s, block, "file already set, ignored (as keepalived does)")
				continue
			}
			tf.path = s.arg(0)
		case "weight":
			w, err := strconv.Atoi(s.arg(0))
			if err != nil || w < -254 || w > 254 {
				im.optionNote(s, block, "invalid weight %q (keepalived takes -254 to 254), 1 kept", s.arg(0))
				continue
			}
			tf.weight = w
			switch s.arg(1) {
			case "", "noreverse":
			case "reverse":
				tf.reverse = true
			default:
				im.optionNote(s, block, "unknown weight option %s, ignored (as keepalived does)", word(s.arg(1)))
			}
		case "init_file":
			tf.init = s
		default:
			im.optionNote(s, block, "not carried over (unknown option)")
		}
	}
	if _, dup := im.trackFiles[n.arg(0)]; dup {
		im.note(n, "", "", "%s defined again: this definition replaces the earlier one", n.header())
	}
	im.trackFiles[n.arg(0)] = tf
}

// trackFileNotes notes the track_file blocks no FILE_CHECK carried over
// uses, and init_file where one does.
func (im *importer) trackFileNotes() {
	for _, n := range im.top {
		tf := im.trackFiles[n.arg(0)]
		if !isTrackFile(n) || tf == nil || tf.n != n {
			continue
		}
		switch {
		case !tf.used:
			im.note(n, "", "", "%s: not carried over (no FILE_CHECK carried over uses it; a vrrp_instance's track_file is noted there)", n.header())
		case tf.init != nil:
			im.optionNote(tf.init, n.header(), "not carried over (the director's file check never writes the file: create it before the director starts; a missing file reads as 0, as in keepalived)")
		}
	}
}

func isTrackFile(n *node) bool {
	return (n.key() == "track_file" || n.key() == "vrrp_track_file") && n.block && len(n.args()) > 0
}

// fileCheck maps a FILE_CHECK block of a real server: its track_file and
// weight (the FILE_CHECK's own, else the track_file's), as keepalived's
// file_end_handler takes them. With weight 0 keepalived fails the real
// server while the number is not 0 (with reverse, while it is 0, once it
// has changed since the start: a file reading 0 at the start leaves it
// up, noted); with
// another weight it adds number*weight to the real server's weight, and
// fails it only when that is -2147483648 or less, which the director
// carries without the weight change (noted).
func (im *importer) fileCheck(n *node, rs *realServer, b *built) bool {
	note := func(s *node, format string, args ...any) {
		block := rs.block
		if s != n {
			block += ": FILE_CHECK"
		}
		b.notes = append(b.notes, Note{File: s.file, Line: s.line, Block: block, Option: s.label(), Reason: fmt.Sprintf(format, args...)})
	}
	var tf *trackFile
	weight, reverse, own := 0, false, false
	for _, s := range n.children {
		switch s.key() {
		case "track_file":
			if tf = im.trackFiles[s.arg(0)]; tf == nil {
				im.note(s, rs.block, "", "FILE_CHECK: not carried over (track_file %s not found: keepalived ignores the FILE_CHECK too)", word(s.arg(0)))
				return false
			}
		case "weight":
			w, err := strconv.Atoi(s.arg(0))
			if err != nil || w < -math.MaxInt32 || w > math.MaxInt32 {
				note(s, "invalid weight %q, ignored (as keepalived does)", s.arg(0))
				continue
			}
			switch s.arg(1) {
			case "", "noreverse":
			case "reverse":
				reverse = true
			default:
				note(s, "unknown weight option %s, ignored with its weight (as keepalived does)", word(s.arg(1)))
				continue
			}
			weight, own = w, true
		default:
			note(s, "not carried over (unknown option)")
		}
	}
	switch {
	case tf == nil:
		im.note(n, rs.block, "", "FILE_CHECK: not carried over (no track_file: keepalived ignores it too)")
		return false
	case tf.path == "" || !filepath.IsAbs(tf.path):
		im.note(n, rs.block, "", "FILE_CHECK: not carried over (its %s has no absolute file path)", tf.n.header())
		return false
	}
	if !own {
		weight, reverse = tf.weight, tf.reverse
	}
	spec := check.File{Path: tf.path}
	switch {
	case weight == 0 && !reverse:
		spec.Healthy = "zero"
	case weight == 0:
		// reverse: healthy while not 0, the file check's default.
		note(n, "reverse with weight 0: keepalived acts on the file's changes only, so a file that reads 0 (or is missing) when it starts leaves the real server up until the number changes; the director fails the real server whenever the file reads 0")
	default:
		spec.Weight = weight
		how := ""
		if reverse {
			spec.Weight, how = -weight, " reverse"
		}
		note(n, "weight %d%s: keepalived adds the file's number times %d to the real server's weight; the director does not change weights, and fails the real server only where keepalived does (the product -2147483648 or less)", weight, how, spec.Weight)
	}
	tf.used = true
	note(n, "the file is read every second (keepalived watches it with inotify)")
	b.check = director.Check{Spec: &spec, Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1}
	return true
}
