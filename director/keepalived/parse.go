package keepalived

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// node is one statement of a configuration: a keyword, its arguments,
// and, when a { follows, the statements of its block.
type node struct {
	words    []string
	file     string
	line     int
	block    bool
	children []*node
}

func (n *node) key() string    { return n.words[0] }
func (n *node) args() []string { return n.words[1:] }
func (n *node) header() string { return strings.Join(n.words, " ") }

// arg is the i-th argument, "" if there is none.
func (n *node) arg(i int) string {
	if i+1 < len(n.words) {
		return n.words[i+1]
	}
	return ""
}

// SyntaxError is a configuration keepalived could not read: an unbalanced
// brace or quote, or an include that cannot be read.
type SyntaxError struct {
	File   string
	Line   int
	Reason string
	Err    error // the underlying error, for an include that cannot be read
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("keepalived: %s:%d: %s", e.File, e.Line, e.Reason)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Limits on what the parser reads, so that a wrong path or an include
// loop cannot exhaust memory.
const (
	maxIncludeDepth = 16
	maxInputSize    = 64 << 20 // bytes, all files together
)

// parser builds the statement tree of a file and the files it includes.
type parser struct {
	configID string
	stack    []*node // the open blocks; stack[0] is the root
	pending  *node   // the last statement, if it ended its line without a block
	defs     map[string]string
	size     int
	notes    []Note
}

func newParser(configID string) *parser {
	return &parser{configID: configID, stack: []*node{{block: true}}, defs: map[string]string{}}
}

// parse reads one file's text; dir is where its include patterns are
// relative to.
func (p *parser) parse(name, dir string, r io.Reader, depth int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	lineNo, joined, start := 0, "", 0
	for sc.Scan() {
		lineNo++
		if p.size += len(sc.Bytes()) + 1; p.size > maxInputSize {
			return &SyntaxError{File: name, Line: lineNo, Reason: fmt.Sprintf("input larger than %d bytes", maxInputSize)}
		}
		text, cont, err := decomment(sc.Text())
		if err != nil {
			return &SyntaxError{File: name, Line: lineNo, Reason: err.Error()}
		}
		if joined == "" {
			start = lineNo
		}
		joined += text
		if cont {
			joined += " "
			continue
		}
		line := joined
		joined = ""
		if err := p.line(name, dir, start, line, depth); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &SyntaxError{File: name, Line: lineNo + 1, Reason: "reading: " + err.Error(), Err: err}
	}
	if joined != "" {
		return p.line(name, dir, start, joined, depth)
	}
	return nil
}

var definition = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
var reference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// line handles one logical line (comments removed, continuations joined).
func (p *parser) line(name, dir string, n int, text string, depth int) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	if strings.HasPrefix(text, "@") {
		// @ID lines are read only by keepalived -i ID, @^ID lines by the others.
		id, rest := text, ""
		if i := strings.IndexAny(text, " \t"); i > 0 {
			id, rest = text[:i], strings.TrimSpace(text[i:])
		}
		neg := strings.HasPrefix(id, "@^")
		match := p.configID != "" && strings.TrimPrefix(id[1:], "^") == p.configID
		if rest == "" || match == neg {
			p.notes = append(p.notes, Note{File: name, Line: n, Option: id, Reason: "line skipped (not for this config id)"})
			return nil
		}
		text = rest
	}
	if m := definition.FindStringSubmatch(text); m != nil {
		p.defs[m[1]] = strings.TrimSpace(m[2])
		return nil
	}
	if strings.Contains(text, "$") {
		text = reference.ReplaceAllStringFunc(text, func(ref string) string {
			if v, ok := p.defs[strings.Trim(ref, "${}")]; ok {
				return v
			}
			return ref
		})
	}
	if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
		return &SyntaxError{File: name, Line: n, Reason: "~SEQ and ~LST are not supported"}
	}
	toks, err := split(text)
	if err != nil {
		return &SyntaxError{File: name, Line: n, Reason: err.Error()}
	}
	if len(toks) > 0 && !toks[0].quoted && isInclude(toks[0].s) {
		if len(toks) < 2 {
			return &SyntaxError{File: name, Line: n, Reason: toks[0].s + " without a file"}
		}
		p.pending = nil
		return p.include(name, dir, n, toks[1].s, depth)
	}
	var cur []string
	for _, t := range toks {
		switch {
		case !t.quoted && t.s == "{":
			top := p.stack[len(p.stack)-1]
			switch {
			case len(cur) > 0:
				nd := &node{words: cur, file: name, line: n, block: true}
				top.children = append(top.children, nd)
				p.stack = append(p.stack, nd)
				cur = nil
			case p.pending != nil:
				p.pending.block = true
				p.stack = append(p.stack, p.pending)
			default:
				return &SyntaxError{File: name, Line: n, Reason: "{ without a keyword"}
			}
			p.pending = nil
		case !t.quoted && t.s == "}":
			p.add(cur, name, n)
			cur = nil
			if len(p.stack) == 1 {
				return &SyntaxError{File: name, Line: n, Reason: "} without a block to close"}
			}
			p.stack = p.stack[:len(p.stack)-1]
			p.pending = nil
		default:
			cur = append(cur, t.s)
		}
	}
	if nd := p.add(cur, name, n); nd != nil {
		p.pending = nd
	}
	return nil
}

// add appends a statement to the innermost open block.
func (p *parser) add(words []string, file string, line int) *node {
	if len(words) == 0 {
		return nil
	}
	nd := &node{words: words, file: file, line: line}
	top := p.stack[len(p.stack)-1]
	top.children = append(top.children, nd)
	return nd
}

// isInclude is keepalived's include and its variants (includer, includea,
// ...), which differ only in how strictly missing files are reported.
func isInclude(w string) bool {
	return w == "include" || len(w) == 8 && strings.HasPrefix(w, "include") && strings.ContainsRune("ramwb", rune(w[7]))
}

// include reads the files a pattern matches, relative to dir, in order;
// a pattern matching nothing is a note.
func (p *parser) include(name, dir string, n int, pattern string, depth int) error {
	if depth >= maxIncludeDepth {
		return &SyntaxError{File: name, Line: n, Reason: fmt.Sprintf("includes nested deeper than %d (a loop?)", maxIncludeDepth)}
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return &SyntaxError{File: name, Line: n, Reason: fmt.Sprintf("include %s: %v", pattern, err), Err: err}
	}
	if len(files) == 0 {
		p.notes = append(p.notes, Note{File: name, Line: n, Option: "include " + pattern, Reason: "matches no file"})
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return &SyntaxError{File: name, Line: n, Reason: "include: " + err.Error(), Err: err}
		}
		if err := p.parse(f, filepath.Dir(f), bytes.NewReader(b), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// finish checks every block is closed and returns the root's statements.
func (p *parser) finish() ([]*node, error) {
	if len(p.stack) > 1 {
		open := p.stack[len(p.stack)-1]
		return nil, &SyntaxError{File: open.file, Line: open.line, Reason: fmt.Sprintf("block %q is not closed", open.header())}
	}
	return p.stack[0].children, nil
}

// decomment removes a comment (# or ! outside quotes; \# and \! are the
// characters) and reports a trailing \, which continues the line.
func decomment(s string) (string, bool, error) {
	var b strings.Builder
	quote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\' && i+1 == len(s):
			return b.String(), true, checkQuote(quote)
		case c == '\\' && !quote && (s[i+1] == '#' || s[i+1] == '!'):
			i++
			c = s[i]
		case !quote && (c == '#' || c == '!'):
			return b.String(), false, checkQuote(quote)
		}
		b.WriteByte(c)
	}
	return b.String(), false, checkQuote(quote)
}

func checkQuote(open bool) error {
	if open {
		return fmt.Errorf("unterminated quote")
	}
	return nil
}

// token is a word, or a brace; a quoted word is never a brace.
type token struct {
	s      string
	quoted bool
}

// split cuts a line into words at white space, "quoted strings" being
// one word (without the quotes), and { and } words of their own.
func split(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c == '{' || c == '}':
			out = append(out, token{s: string(c)})
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			out = append(out, token{s: s[i+1 : i+1+end], quoted: true})
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\v\f{}\"", rune(s[j])) {
				j++
			}
			out = append(out, token{s: s[i:j]})
			i = j
		}
	}
	return out, nil
}
