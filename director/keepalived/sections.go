package keepalived

// Pos is where a statement is: its file and line.
type Pos struct {
	File string
	Line int
}

// Section is a top-level virtual_server or vrrp_instance block, and what
// the import made of it. With the notes' In, it makes a migration report
// (lvs-director -import FILE -report): a section that made nothing was not
// carried over, one with notes was carried partly.
type Section struct {
	Pos
	// Header is the block's first line as notes show it, e.g.
	// "virtual_server 10.0.0.1 80" or "vrrp_instance VI_1".
	Header string
	// Made are the names of the services (a virtual_server makes one per
	// member of its group) or of the VRRP instance made of the block; the
	// service it joined for a second block of a virtual_server_group. None
	// if the block was not carried over.
	Made []string
}

// sectionKind reports whether n is a top-level block a Section is kept of.
func sectionKind(n *node) bool {
	return n.block && (n.key() == "virtual_server" || n.key() == "vrrp_instance")
}

// addSection starts the Section of the top-level block n.
func (im *importer) addSection(n *node) {
	if im.sectionAt == nil {
		im.sectionAt = map[*node]int{}
	}
	im.sectionAt[n] = len(im.sections)
	im.sections = append(im.sections, Section{Pos: Pos{n.file, n.line}, Header: n.header()})
}

// made records that the block n made the service or instance name.
func (im *importer) made(n *node, name string) {
	if i, ok := im.sectionAt[n]; ok {
		im.sections[i].Made = append(im.sections[i].Made, name)
	}
}

// attribute sets the In of each note about a statement of a Section's
// block (its own line, one of its statements', or a line of the file
// between its first and last statements, such as a line skipped for
// another config id).
func attribute(top []*node, notes []Note) {
	if len(notes) == 0 {
		return
	}
	// Only the notes' positions are looked up: a map of those, not of
	// every statement of the file.
	at := make(map[Pos]Pos, len(notes))
	for _, n := range notes {
		at[Pos{n.File, n.Line}] = Pos{}
	}
	found := map[Pos]bool{}
	type span struct {
		file     string
		from, to int
		in       Pos
	}
	var spans []span
	for _, t := range top {
		if !sectionKind(t) {
			continue
		}
		in := Pos{t.file, t.line}
		last := t.line
		// A stack, not recursion: blocks may nest as deep as the input
		// allows.
		for todo := []*node{t}; len(todo) > 0; {
			n := todo[len(todo)-1]
			todo = append(todo[:len(todo)-1], n.children...)
			if p := (Pos{n.file, n.line}); !found[p] {
				if _, ok := at[p]; ok {
					at[p], found[p] = in, true
				}
			}
			if n.file == t.file {
				last = max(last, n.line)
			}
		}
		spans = append(spans, span{t.file, t.line, last, in})
	}
	for i := range notes {
		n := &notes[i]
		if p := (Pos{n.File, n.Line}); found[p] {
			n.In = at[p]
			continue
		}
		for _, s := range spans {
			if s.file == n.File && s.from <= n.Line && n.Line <= s.to {
				n.In = s.in
				break
			}
		}
	}
}
