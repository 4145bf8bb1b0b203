package keepalived

import "fmt"

// subBlocks are, for each block whose statements keepalived's checker
// reads with a keyword table of its own (check_parser.c, check_*.c), the
// keywords that open a block in it. A statement of such a block followed
// by { whose keyword is not one of them (unknown, misspelt, or an option
// that takes no block) is read as keepalived reads it: the keyword is
// ignored, and so is its { ("Unexpected '{' - ignoring"); the lines of
// its block are read as the enclosing block's; and its } closes the
// enclosing block, so that what follows is read a level up. The other
// blocks (global_defs, SSL, virtual_server_group, VRRP's) keep their
// braces as written.
var subBlocks = map[string]map[string]bool{
	"virtual_server": {"real_server": true},
	"real_server": {"TCP_CHECK": true, "HTTP_GET": true, "SSL_GET": true, "MISC_CHECK": true, "SMTP_CHECK": true,
		"DNS_CHECK": true, "UDP_CHECK": true, "PING_CHECK": true, "FILE_CHECK": true, "BFD_CHECK": true},
	"HTTP_GET": {"url": true}, "SSL_GET": {"url": true}, "SMTP_CHECK": {"host": true},
	"TCP_CHECK": {}, "MISC_CHECK": {}, "DNS_CHECK": {}, "UDP_CHECK": {}, "PING_CHECK": {}, "FILE_CHECK": {}, "BFD_CHECK": {},
	"url": {}, "host": {},
}

// event is a statement, or the { or } of a block, of the tree in the
// order the file has them.
type event struct {
	n    *node // the statement; for a { or }, the block's
	kind byte  // 's', '{' or '}'
	end  int   // for a statement with a block: the index after its }
}

func flatten(nodes []*node, out []event) []event {
	for _, n := range nodes {
		i := len(out)
		out = append(out, event{n: n, kind: 's'})
		if n.block {
			out = append(out, event{n: n, kind: '{'})
			out = flatten(n.children, out)
			out = append(out, event{n: n, kind: '}'})
		}
		out[i].end = len(out)
	}
	return out
}

// countEvents is how many events flatten makes of nodes.
func countEvents(nodes []*node) int {
	n := 0
	for _, x := range nodes {
		n++
		if x.block {
			n += 2 + countEvents(x.children)
		}
	}
	return n
}

// reshape reads the tree again as keepalived's parser reads its lines
// (see subBlocks), noting each block whose braces it drops.
func (p *parser) reshape(top []*node) []*node {
	r := &reshaper{p: p, ev: flatten(top, make([]event, 0, countEvents(top)))}
	return r.read(nil, nil, len(top))
}

type reshaper struct {
	p *parser
	// The copies are made in slabs.
	nodes slab[node]
	paths slab[blockPath]
	ev    []event
	i     int
}

// read reads the statements of block (nil: the top level) up to the }
// that closes it; path is the block as notes name it, and size about how
// many statements it has.
func (r *reshaper) read(block *node, path *blockPath, size int) []*node {
	out := make([]*node, 0, size)
	for r.i < len(r.ev) {
		e := r.ev[r.i]
		r.i++
		switch e.kind {
		case '}':
			if block != nil {
				return out
			}
			continue // keepalived ignores a } at the top level
		case '{':
			continue // "Unexpected '{' - ignoring"
		}
		n := e.n
		if block == nil {
			if _, ok := subBlocks[n.key()]; !ok || !n.block {
				out = append(out, n) // kept as written
				r.i = e.end
				continue
			}
		}
		cp := r.nodes.next()
		*cp = node{words: n.words, file: n.file, line: n.line}
		out = append(out, cp)
		if !n.block {
			continue
		}
		inner := block == nil || subBlocks[block.key()][n.key()]
		if !inner {
			r.p.notes = append(r.p.notes, Note{File: n.file, Line: n.line, Block: path.String(), Option: n.label(),
				Reason: fmt.Sprintf("opens no block here: keepalived ignores it and its {, reads the lines of its block as %s's, and its } closes %s (what follows is read a level up)", block.label(), block.label())})
			continue
		}
		r.i++ // its {
		cp.block = true
		inPath := r.paths.next()
		*inPath = blockPath{up: path, n: cp}
		cp.children = r.read(cp, inPath, len(n.children))
	}
	return out
}

// slab hands out values of T from arrays of slabSize: one allocation for
// many (a file's nodes are a hundred thousand).
type slab[T any] []T

const slabSize = 256

// next is a new zero T.
func (s *slab[T]) next() *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, slabSize)
	}
	*s = (*s)[:len(*s)+1]
	return &(*s)[len(*s)-1]
}

// blockPath is a block as notes name it, its string made only for a note
// (a file of 5,000 virtual servers made 100,000 paths for none).
type blockPath struct {
	up *blockPath // the enclosing block's, nil at the top
	n  *node
}

func (p *blockPath) String() string {
	if p == nil {
		return ""
	}
	path := p.up.String()
	if k := p.n.key(); k != "real_server" && k != "virtual_server" {
		return path + ": " + p.n.label()
	}
	if path != "" {
		return path + ": " + p.n.header()
	}
	return p.n.header()
}
