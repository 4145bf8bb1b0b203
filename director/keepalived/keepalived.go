package keepalived

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lvs-go/lvs/director"
)

// Options tune Import and ImportFile; nil means the zero Options.
type Options struct {
	// ConfigID is keepalived's -i: lines "@ID ..." are read only when it
	// is ID, lines "@^ID ..." only when it is not. keepalived's default is
	// the host's short name; empty here, which reads every "@^" line and
	// no "@" line.
	ConfigID string
	// Name is the input's name in notes and errors (Import only;
	// "keepalived.conf" if empty).
	Name string
	// Dir is the directory relative include patterns of the input start
	// from (Import only): if empty, Name's directory when Name has one,
	// else the working directory, as keepalived reads a file. ImportFile
	// uses the file's. An included file's patterns start from its own
	// directory.
	Dir string
	// Sections, if not nil, is set to the top-level virtual_server and
	// vrrp_instance blocks read, in order, with what was made of each
	// (even when the import fails with ErrNoServices).
	Sections *[]Section
}

// Note is something of the configuration that was not carried over, or
// carried over differently, and why.
type Note struct {
	File string
	Line int
	// Block is where, e.g. "virtual_server 10.0.0.1 80: real_server
	// 10.0.0.2 80: HTTP_GET"; empty at the top level.
	Block string
	// Option is the keyword, e.g. "alpha"; empty for a whole block.
	Option string
	Reason string
	// In is where the top-level virtual_server or vrrp_instance block the
	// note is about starts (a Section's Pos); zero for other notes.
	In Pos
}

// String is "keepalived.conf:42: virtual_server 10.0.0.1 80: alpha: not
// carried over (...)".
func (n Note) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", n.File, n.Line)
	if n.Block != "" {
		b.WriteString(n.Block + ": ")
	}
	if n.Option != "" {
		b.WriteString(n.Option + ": ")
	}
	b.WriteString(n.Reason)
	return b.String()
}

// ErrNoServices is returned, with the notes, when the configuration has
// no virtual server that could be carried over, and no VRRP instance
// either (a VRRP-only configuration is carried with allowNoServices).
var ErrNoServices = errors.New("keepalived: no virtual server could be carried over")

// Import reads a keepalived configuration (its virtual_server,
// virtual_server_group and real_server blocks, their checkers, and its
// vrrp_instance, vrrp_script and vrrp_sync_group blocks) into a director
// Config, and lists what it did not carry over. The Config is valid
// (Validate passes) but for its vrrp section, which this version of the
// director does not run yet: each of its instances is valid as package
// director/vrrp validates one. The error is a *SyntaxError when keepalived
// could not read the configuration either, and ErrNoServices when no
// virtual server could be carried over; a virtual server that cannot be
// carried is left out with a note.
func Import(r io.Reader, opts *Options) (*director.Config, []Note, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "keepalived.conf"
	}
	dir := o.Dir
	if dir == "" {
		dir = filepath.Dir(o.Name) // "." for a name without a directory
	}
	return config(run(o, func(p *parser) error { return p.parse(o.Name, dir, r, 0) }))
}

// ImportFile is Import of a file; include patterns are relative to the
// file's directory, as keepalived reads them.
func ImportFile(path string, opts *Options) (*director.Config, []Note, error) {
	return config(ImportFileCompiled(path, opts))
}

// ImportFileCompiled is ImportFile with the Config compiled, as
// director.Compile compiles it: the import checks the Config it made by
// compiling it, and a daemon starting on the file takes that compile
// rather than making a second (at 5,000 virtual servers, a second of an
// emulated CPU).
func ImportFileCompiled(path string, opts *Options) (*director.Compiled, []Note, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	b, err := readFile(path, path, 0, maxInputSize)
	if err != nil {
		return nil, nil, err
	}
	return run(o, func(p *parser) error { return p.parse(path, filepath.Dir(path), bytes.NewReader(b), 0) })
}

// config is the Config of run's result.
func config(c *director.Compiled, notes []Note, err error) (*director.Config, []Note, error) {
	if err != nil {
		return nil, notes, err
	}
	return c.Config(), notes, nil
}

func run(o Options, parse func(*parser) error) (*director.Compiled, []Note, error) {
	p := newParser(o.ConfigID)
	if err := parse(p); err != nil {
		return nil, p.notes, err
	}
	top, err := p.finish()
	if err != nil {
		return nil, p.notes, err
	}
	top = p.reshape(top)
	im := newImporter(p.notes)
	cfg := im.config(top)
	sortNotes(im.notes)
	attribute(top, im.notes)
	if o.Sections != nil {
		*o.Sections = im.sections
	}
	if im.err != nil {
		return nil, im.notes, im.err
	}
	if len(cfg.Services) == 0 {
		if cfg.VRRP == nil {
			return nil, im.notes, ErrNoServices
		}
		// A VRRP-only keepalived.conf (VIPs moved for something else
		// than IPVS) is a director that runs VRRP alone.
		cfg.AllowNoServices = true
	}
	// A copy: cfg is a field of im, and would keep the parse (every
	// node of the file) alive for as long as the caller keeps it.
	out := *cfg
	c, err := director.Compile(&out)
	if err != nil {
		// Every service and instance was validated on its own; this
		// would be a bug.
		return nil, im.notes, fmt.Errorf("keepalived: the imported configuration is invalid: %w", err)
	}
	return c, im.notes, nil
}

// sortNotes orders notes by file (in the order files first appear) and
// line.
func sortNotes(notes []Note) {
	order := map[string]int{}
	for _, n := range notes {
		if _, ok := order[n.File]; !ok {
			order[n.File] = len(order)
		}
	}
	slices.SortStableFunc(notes, func(a, b Note) int {
		return cmp.Or(cmp.Compare(order[a.File], order[b.File]), cmp.Compare(a.Line, b.Line))
	})
}
