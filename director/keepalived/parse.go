package keepalived

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
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

// header is the statement as notes show it: its keyword, and its
// arguments only for the blocks whose arguments are names or addresses.
// Notes never show other words, so that an include of a file that is not
// a configuration (a key, /etc/shadow) does not print it.
func (n *node) header() string {
	if !namedBlock[n.key()] && !addrLike(n.key()) {
		return n.label()
	}
	ws := make([]string, len(n.words))
	for i, w := range n.words {
		ws[i] = word(w)
	}
	return strings.Join(ws, " ")
}

// label is the statement's keyword as notes show it.
func (n *node) label() string { return word(n.key()) }

// namedBlock are the statements whose arguments notes show.
var namedBlock = map[string]bool{
	"virtual_server": true, "virtual_server_group": true, "real_server": true, "fwmark": true,
	"vrrp_instance": true, "vrrp_sync_group": true, "vrrp_script": true, "vrrp_track_process": true,
	"bfd_instance": true, "garp_group": true, "track_file": true, "vrrp_track_file": true,
}

// word is w if it is a keyword, a name or an address, else a
// placeholder.
func word(w string) string {
	if keywordLike(w) || valueLike(w) && (addrLike(w) || !strings.ContainsAny(w, ":/")) {
		return w
	}
	return "(a word that is not a keyword)"
}

// addrLike reports whether w is written like an address, a prefix or a
// range of them (hex digits, dots, colons, / and -).
// (As the pattern ^[0-9A-Fa-f]*[.:][0-9A-Fa-f.:/-]{0,80}$; these three
// are written out, not regular expressions: a notes' header is made for
// every block of a file, and the expressions took a good share of an
// import's CPU.)
func addrLike(w string) bool {
	i := 0
	for i < len(w) && isHex(w[i]) {
		i++
	}
	if i == len(w) || w[i] != '.' && w[i] != ':' || len(w)-i-1 > 80 {
		return false
	}
	for _, c := range []byte(w[i+1:]) {
		if !isHex(c) && c != '.' && c != ':' && c != '/' && c != '-' {
			return false
		}
	}
	return true
}

// keywordLike reports whether w is written like a keyword: up to two of
// @ and ^, a letter or _, then up to 63 letters, digits, _ and -
// (^[@^]{0,2}[A-Za-z_][A-Za-z0-9_-]{0,63}$).
func keywordLike(w string) bool {
	i := 0
	for i < len(w) && i < 2 && (w[i] == '@' || w[i] == '^') {
		i++
	}
	rest := w[i:]
	if len(rest) == 0 || len(rest) > 64 || !isLetter(rest[0]) && rest[0] != '_' {
		return false
	}
	for _, c := range []byte(rest[1:]) {
		if !isLetter(c) && !isDigit(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// valueLike reports whether w is 1 to 64 letters, digits and _.:/%@^-
// (^[A-Za-z0-9_.:/%@^-]{1,64}$).
func valueLike(w string) bool {
	if len(w) == 0 || len(w) > 64 {
		return false
	}
	for _, c := range []byte(w) {
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune("_.:/%@^-", rune(c)) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

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

// parser builds the statement tree of a file and the files it includes.
type parser struct {
	configID string
	stack    []*node // the open blocks; stack[0] is the root
	pending  *node   // the last statement, if it ended its line without a block
	// defs are the $ definitions, one string per line: a definition whose
	// lines end in \ goes on to the next lines, each a line of its own
	// where it is used.
	defs  map[string][]string
	multi string // the multi-line definition being read, "" if none
	read  int    // bytes read, all files together
	size  int    // bytes of the lines after $ expansion
	notes []Note
	toks  []token    // statement's buffer
	nodes slab[node] // where the statements' nodes are made
}

func newParser(configID string) *parser {
	return &parser{configID: configID, stack: []*node{{block: true}}, defs: map[string][]string{}}
}

// parse reads one file's text; dir is where its include patterns are
// relative to.
func (p *parser) parse(name, dir string, r io.Reader, depth int) error {
	sc := bufio.NewScanner(io.LimitReader(r, int64(maxInputSize-p.read)+1))
	sc.Buffer(nil, maxLineSize)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		if p.read += len(sc.Bytes()) + 1; p.read > maxInputSize {
			return &LimitError{File: name, Line: lineNo, Limit: inputLimit}
		}
		raw := strings.TrimRight(sc.Text(), "\r")
		text, cont, err := decomment(raw)
		if err != nil {
			return &SyntaxError{File: name, Line: lineNo, Reason: err.Error()}
		}
		if p.multi != "" {
			// The next line of a multi-line definition. As in keepalived,
			// an empty line ends it, comments are skipped, and a line not
			// ending in \ is its last.
			switch text = strings.TrimSpace(text); {
			case raw == "":
				p.multi = ""
			case text != "":
				p.defs[p.multi] = append(p.defs[p.multi], text)
				fallthrough
			default:
				if !cont && text != "" {
					p.multi = ""
				}
			}
			continue
		}
		if cont && !definition.MatchString(strings.TrimSpace(text)) && !strings.HasPrefix(strings.TrimSpace(text), "@") {
			p.notes = append(p.notes, Note{File: name, Line: lineNo, Option: "\\",
				Reason: "ignored: keepalived continues only a $ definition on the next line, and reads the next line on its own"})
		}
		if err := p.line(name, dir, lineNo, text, cont, depth, 0); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &LimitError{File: name, Line: lineNo + 1, Limit: fmt.Sprintf("%d MiB in one line", maxLineSize>>20)}
		}
		return &SyntaxError{File: name, Line: lineNo + 1, Reason: "reading: " + err.Error(), Err: err}
	}
	return nil
}

// definitionOf is definition's submatches of text, nil without them (at
// once for a line that does not start with $, nearly every line).
func definitionOf(text string) []string {
	if !strings.HasPrefix(text, "$") {
		return nil
	}
	return definition.FindStringSubmatch(text)
}

var definition = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$`)
var reference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// line handles one line (comments removed); cont is a trailing \, which
// only a definition reads. exp counts the $ expansions that led to the
// line, to stop a definition that uses itself.
func (p *parser) line(name, dir string, n int, text string, cont bool, depth, exp int) error {
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
			p.notes = append(p.notes, Note{File: name, Line: n, Option: word(id), Reason: "line skipped (not for this config id)"})
			return nil
		}
		text = rest
	}
	if m := definitionOf(text); m != nil {
		p.defs[m[1]] = nil
		if v := strings.TrimSpace(m[2]); v != "" {
			p.defs[m[1]] = []string{v}
		}
		if cont {
			p.multi = m[1]
		}
		return nil
	}
	var extra []string
	if strings.Contains(text, "$") && len(p.defs) > 0 {
		var err error
		if text, extra, err = p.expand(name, n, text); err != nil {
			return err
		}
	}
	if p.size += len(text) + 1; p.size > maxInputSize {
		return &LimitError{File: name, Line: n, Limit: inputLimit}
	}
	if err := p.statement(name, dir, n, text, depth); err != nil {
		return err
	}
	for _, x := range extra {
		if exp >= maxExpandDepth {
			return &SyntaxError{File: name, Line: n, Reason: fmt.Sprintf("$ definitions nested deeper than %d (one uses itself?)", maxExpandDepth)}
		}
		x, _, _ = decomment(x)
		if err := p.line(name, dir, n, x, false, depth, exp+1); err != nil {
			return err
		}
	}
	return nil
}

// expand replaces the $NAME and ${NAME} of defined names in text, again
// while the result has some, as keepalived does. A multi-line definition
// puts its first line in place and returns the others, to be read after
// text as lines of their own.
func (p *parser) expand(name string, n int, text string) (string, []string, error) {
	var extra []string
	for i := 0; strings.Contains(text, "$"); i++ {
		if i == maxExpandDepth {
			return "", nil, &SyntaxError{File: name, Line: n, Reason: fmt.Sprintf("$ definitions nested deeper than %d (one uses itself?)", maxExpandDepth)}
		}
		var b strings.Builder
		var more []string
		last, changed := 0, false
		for _, m := range reference.FindAllStringSubmatchIndex(text, -1) {
			ref := text[m[0]:m[1]]
			v, ok := p.defs[strings.Trim(ref, "${}")]
			if !ok {
				continue
			}
			changed = true
			b.WriteString(text[last:m[0]])
			if len(v) > 0 {
				b.WriteString(v[0])
				more = v[1:]
			}
			last = m[1]
			if b.Len() > maxLineSize {
				return "", nil, &LimitError{File: name, Line: n, Limit: fmt.Sprintf("%d MiB in one line after $ expansion", maxLineSize>>20)}
			}
		}
		if !changed {
			break
		}
		b.WriteString(text[last:])
		if b.Len() > maxLineSize {
			return "", nil, &LimitError{File: name, Line: n, Limit: fmt.Sprintf("%d MiB in one line after $ expansion", maxLineSize>>20)}
		}
		text = b.String()
		if len(more) > 0 {
			extra = append(slices.Clone(more), extra...)
		}
	}
	return text, extra, nil
}

// statement reads the words and braces of one line into the tree.
func (p *parser) statement(name, dir string, n int, text string, depth int) error {
	if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
		return &SyntaxError{File: name, Line: n, Reason: "~SEQ and ~LST are not supported"}
	}
	toks, err := split(p.toks[:0], text)
	if err != nil {
		return &SyntaxError{File: name, Line: n, Reason: err.Error()}
	}
	p.toks = toks // the words are strings of their own: the buffer is reused
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
				nd := p.nodes.next()
				*nd = node{words: cur, file: name, line: n, block: true}
				top.children = append(top.children, nd)
				p.stack = append(p.stack, nd)
				cur = nil
			case p.pending != nil:
				p.pending.block = true
				p.stack = append(p.stack, p.pending)
			default:
				// keepalived: "Unexpected '{' - ignoring"; the } that
				// matches it then closes the enclosing block.
				p.notes = append(p.notes, Note{File: name, Line: n, Option: "{",
					Reason: "without a keyword: ignored, as keepalived ignores it (the } that matches it closes the enclosing block)"})
				continue
			}
			p.pending = nil
		case !t.quoted && t.s == "}":
			p.add(cur, name, n)
			cur = nil
			if len(p.stack) == 1 {
				p.notes = append(p.notes, Note{File: name, Line: n, Option: "}",
					Reason: "without a block to close: ignored, as keepalived ignores it (\"Extra '}' found\")"})
				p.pending = nil
				continue
			}
			p.stack = p.stack[:len(p.stack)-1]
			p.pending = nil
		default:
			if cur == nil {
				cur = make([]string, 0, len(toks)) // at most the line's words
			}
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
	nd := p.nodes.next()
	*nd = node{words: words, file: file, line: line}
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
		b, err := readFile(name, f, n, maxInputSize-p.read)
		if err != nil {
			return err
		}
		if err := p.parse(f, filepath.Dir(f), bytes.NewReader(b), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// finish closes the blocks still open at the end of the input, as
// keepalived does, noting each, and returns the root's statements.
func (p *parser) finish() ([]*node, error) {
	for i := len(p.stack) - 1; i > 0; i-- {
		open := p.stack[i]
		p.notes = append(p.notes, Note{File: open.file, Line: open.line, Option: open.label(),
			Reason: fmt.Sprintf("block %s is not closed: closed at the end of the input, as keepalived closes it", open.header())})
	}
	p.stack = p.stack[:1]
	return p.stack[0].children, nil
}

// decomment removes a comment (# or ! outside quotes; \# and \! are the
// characters) and reports a trailing \, which continues the line.
func decomment(s string) (string, bool, error) {
	// Most lines have nothing to remove: s itself.
	if strings.IndexAny(s, "\"\\#!") < 0 {
		return s, false, nil
	}
	var b strings.Builder
	b.Grow(len(s))
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
// endsWord says c ends an unquoted word: a blank, a brace or a quote.
func endsWord(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\v', '\f', '{', '}', '"':
		return true
	}
	return false
}

// split appends the words of s to out (a buffer reused line after line).
func split(out []token, s string) ([]token, error) {
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c == '{':
			out = append(out, token{s: "{"})
			i++
		case c == '}':
			out = append(out, token{s: "}"})
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
			for j < len(s) && !endsWord(s[j]) {
				j++
			}
			out = append(out, token{s: s[i:j]})
			i = j
		}
	}
	return out, nil
}
