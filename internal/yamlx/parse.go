package yamlx

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf8"
)

// errSlow stops the fast parser at something it does not read, for
// yaml/v3 to read the document instead.
var errSlow = errors.New("yamlx: not in the fast subset")

// Parse reads the first document of b. Its errors are yaml/v3's ("yaml:
// line N: ..."), or an *ExpandError for a document whose aliases expand
// past a bound.
func Parse(b []byte) (*Doc, error) {
	if d, err := parseFast(b); err == nil {
		return d, nil
	}
	return parseV3(b)
}

// parseFast reads b with the fast parser, errSlow for anything outside
// what it reads (including every error: yaml/v3 words those).
func parseFast(b []byte) (d *Doc, err error) {
	if !printable(b) {
		return nil, errSlow
	}
	p := &parser{s: string(b), line: 1, doc: &Doc{}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.doc, nil
}

// asciiWord reports whether each byte of x is printable ASCII (0x20 to
// 0x7e) or '\n'. Each test below is exact per byte: no sum carries from
// one byte into the next.
func asciiWord(x uint64) bool {
	const ones, highs, sevens = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	if ((x+ones)|x)&highs != 0 {
		return false // a byte of 0x7f or more (0xff carries, but is caught by x itself)
	}
	ctl := ^((x & sevens) + 0x60*ones) & highs // bytes below 0x20
	if ctl == 0 {
		return true
	}
	nl := x ^ 0x0a*ones
	newlines := ^(((nl & sevens) + sevens) | nl) & highs // bytes equal to '\n'
	return ctl == newlines
}

// printable reports whether b is valid UTF-8 of YAML's printable
// characters, with no tab or carriage return.
func printable(b []byte) bool {
	for i := 0; i < len(b); {
		// Eight bytes at a time while they are all printable ASCII or a
		// line's end.
		for i+8 <= len(b) && asciiWord(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c < utf8.RuneSelf {
			if c < ' ' && c != '\n' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || !(r == 0x85 || 0xa0 <= r && r <= 0xd7ff || 0xe000 <= r && r <= 0xfffd && r != 0xfeff || r >= 0x10000) {
			return false
		}
		i += n
	}
	return true
}

type parser struct {
	s    string
	i    int   // the next byte
	line int32 // the line of s[i]
	col  int   // the column of s[i]: i - the start of its line
	doc  *Doc
	// depth is how deep in collections the parser is: past maxDepth it
	// leaves the document to yaml/v3, which refuses it.
	depth int
}

const (
	maxDepth = 10000
	// maxKey is the longest implicit key YAML reads.
	maxKey = 1024
)

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// at reports whether s[i+k] is c.
func (p *parser) at(k int, c byte) bool { return p.i+k < len(p.s) && p.s[p.i+k] == c }

// blankAt reports whether s[i+k] is a space, a line's end or the end.
func (p *parser) blankAt(k int) bool {
	return p.i+k >= len(p.s) || p.s[p.i+k] == ' ' || p.s[p.i+k] == '\n'
}

// skipSpaces skips spaces on the line, then a comment.
func (p *parser) skipSpaces() error {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	if p.peek() == '#' && (p.i > start || p.i == 0 || p.s[p.i-1] == '\n') {
		for p.i < len(p.s) && p.s[p.i] != '\n' {
			p.i++
		}
	}
	return nil
}

// nextLine moves to the next line with content and returns its
// indentation, -1 at the end; the line it was on must have nothing left
// but spaces and a comment.
func (p *parser) nextLine() (int, error) {
	for {
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		if p.peek() == '#' && (p.i == 0 || p.s[p.i-1] == ' ' || p.s[p.i-1] == '\n') {
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		}
		if p.i >= len(p.s) {
			return -1, nil
		}
		if p.s[p.i] != '\n' {
			return 0, errSlow // something left on the line
		}
		p.i++
		p.line++
		start := p.i
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
		}
		switch p.peek() {
		case '\n', '#':
			p.i = start
			// A blank or comment line: skip it on the next round.
			for p.i < len(p.s) && p.s[p.i] == ' ' {
				p.i++
			}
			if p.peek() == '#' {
				for p.i < len(p.s) && p.s[p.i] != '\n' {
					p.i++
				}
			}
			continue
		case 0:
			return -1, nil
		}
		p.col = p.i - start
		if p.col == 0 && (p.at(0, '-') && p.at(1, '-') && p.at(2, '-') || p.at(0, '.') && p.at(1, '.') && p.at(2, '.')) && p.blankAt(3) {
			return 0, errSlow // a document's start or end
		}
		return p.col, nil
	}
}

func (p *parser) document() error {
	// The first line with content.
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	ind := p.i
	if p.peek() == '#' || p.peek() == '\n' {
		var err error
		if ind, err = p.nextLine(); err != nil {
			return err
		}
		if ind < 0 {
			return nil
		}
	}
	if p.i >= len(p.s) {
		return nil
	}
	if c := p.peek(); c == '%' || (c == '-' || c == '.') && p.at(1, c) && p.at(2, c) && p.blankAt(3) {
		return errSlow // directives, document markers
	}
	p.col = ind
	if _, err := p.block(-1, ind); err != nil {
		return err
	}
	next, err := p.nextLine()
	if err != nil {
		return err
	}
	if next >= 0 {
		return errSlow // more after the root
	}
	return nil
}

// block reads the node starting at s[i], at column col, in a block whose
// parent is at column parent, and returns its index. It returns at the
// end of the node's last line.
func (p *parser) block(parent, col int) (int32, error) {
	if p.depth++; p.depth > maxDepth {
		return 0, errSlow
	}
	defer func() { p.depth-- }()
	if p.peek() == '-' && p.blankAt(1) {
		return p.sequence(col)
	}
	if c := p.peek(); c == '[' || c == '{' {
		return p.inline(parent)
	}
	if isKey, err := p.isKey(); err != nil {
		return 0, err
	} else if isKey {
		return p.mapping(col)
	}
	return p.inline(parent)
}

// isKey reports whether the line at s[i] starts with a mapping key.
func (p *parser) isKey() (bool, error) {
	save := *p
	n := p.doc.n
	defer func() { p.doc.truncate(n); *p = save }()
	if c := p.peek(); c == '"' || c == '\'' {
		if _, err := p.scalar(false); err != nil {
			return false, err
		}
	} else if _, err := p.plain(false); err != nil {
		return false, err
	}
	return p.peek() == ':' && p.blankAt(1), nil
}

// sequence reads a block sequence at column col.
func (p *parser) sequence(col int) (int32, error) {
	seq := p.doc.add(Node{Kind: Sequence, Line: p.line, First: None, Next: None})
	last := int32(None)
	for {
		// At "-".
		p.i++
		p.col++
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
			p.col++
		}
		var item int32
		if c := p.peek(); c == '\n' || c == 0 || c == '#' && p.s[p.i-1] == ' ' {
			line := p.line
			save := *p
			ind, err := p.nextLine()
			if err != nil {
				return 0, err
			}
			if ind > col {
				if item, err = p.block(col, ind); err != nil {
					return 0, err
				}
			} else {
				*p = save
				item = p.doc.add(Node{Kind: Scalar, Tag: Null, Line: line, First: None, Next: None})
			}
		} else {
			var err error
			if item, err = p.block(col, p.col); err != nil {
				return 0, err
			}
		}
		last = p.doc.link(seq, last, item)
		save := *p
		ind, err := p.nextLine()
		if err != nil {
			return 0, err
		}
		if ind == col && p.peek() == '-' && p.blankAt(1) {
			continue
		}
		if ind > col {
			return 0, errSlow
		}
		*p = save
		return seq, nil
	}
}

// mapping reads a block mapping at column col.
func (p *parser) mapping(col int) (int32, error) {
	m := p.doc.add(Node{Kind: Mapping, Line: p.line, First: None, Next: None})
	last := int32(None)
	for {
		keyStart := p.i
		key, err := p.scalar(false)
		if err != nil {
			return 0, err
		}
		if p.peek() != ':' || !p.blankAt(1) || p.i-keyStart > maxKey {
			return 0, errSlow
		}
		if k := p.doc.Node(key); k.Tag == Null || k.Value == "<<" {
			return 0, errSlow // a null key, a merge key: yaml/v3's
		}
		p.i++
		p.col++
		last = p.doc.link(m, last, key)
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
			p.col++
		}
		var val int32
		if c := p.peek(); c == '\n' || c == 0 || c == '#' && p.s[p.i-1] == ' ' {
			line := p.line
			save := *p
			ind, err := p.nextLine()
			if err != nil {
				return 0, err
			}
			switch {
			case ind > col:
				if val, err = p.block(col, ind); err != nil {
					return 0, err
				}
			case ind == col && p.peek() == '-' && p.blankAt(1):
				if val, err = p.sequence(col); err != nil {
					return 0, err
				}
			default:
				*p = save
				val = p.doc.add(Node{Kind: Scalar, Tag: Null, Line: line, First: None, Next: None})
			}
		} else {
			if c == '-' && p.blankAt(1) {
				return 0, errSlow // "key: - item": yaml/v3 refuses it
			}
			if val, err = p.inline(col); err != nil {
				return 0, err
			}
		}
		last = p.doc.link(m, last, val)
		save := *p
		ind, err := p.nextLine()
		if err != nil {
			return 0, err
		}
		if ind == col {
			if p.peek() == '-' && p.blankAt(1) {
				*p = save
				return m, nil // the rest of a sequence this mapping is an item of... or an error
			}
			continue
		}
		if ind > col {
			return 0, errSlow
		}
		*p = save
		return m, nil
	}
}

// inline reads a value that starts on the current line: a flow
// collection, or a scalar that must end on it (a plain one may not hold
// ": ").
func (p *parser) inline(parent int) (int32, error) {
	switch p.peek() {
	case '[', '{':
		n, err := p.flow(parent)
		if err != nil {
			return 0, err
		}
		return n, p.skipSpaces()
	}
	n, err := p.scalar(false)
	if err != nil {
		return 0, err
	}
	if c := p.peek(); c == ':' && p.blankAt(1) {
		return 0, errSlow // a key where a value was wanted
	}
	return n, p.skipSpaces()
}

// flow reads a flow collection at s[i] ("[" or "{"), which may go on over
// lines indented more than parent.
func (p *parser) flow(parent int) (int32, error) {
	if p.depth++; p.depth > maxDepth {
		return 0, errSlow
	}
	defer func() { p.depth-- }()
	open := p.peek()
	kind, closer := Sequence, byte(']')
	if open == '{' {
		kind, closer = Mapping, '}'
	}
	n := p.doc.add(Node{Kind: kind, Line: p.line, First: None, Next: None})
	p.i++
	p.col++
	last := int32(None)
	for first := true; ; first = false {
		if err := p.flowSpace(parent); err != nil {
			return 0, err
		}
		if p.peek() == closer {
			p.i++
			p.col++
			return n, nil
		}
		if !first {
			if p.peek() != ',' {
				return 0, errSlow
			}
			p.i++
			p.col++
			if err := p.flowSpace(parent); err != nil {
				return 0, err
			}
			if p.peek() == closer {
				return 0, errSlow // a trailing comma: yaml/v3's to read
			}
		}
		itemStart, itemLine := p.i, p.line
		item, err := p.flowItem(parent)
		if err != nil {
			return 0, err
		}
		if err := p.flowSpace(parent); err != nil {
			return 0, err
		}
		if p.peek() == ':' && (p.line != itemLine || p.i-itemStart > maxKey) {
			return 0, errSlow // a key over lines, or too long: yaml/v3's to refuse
		}
		if kind == Sequence {
			if p.peek() == ':' {
				return 0, errSlow // a single-pair mapping in a sequence
			}
			last = p.doc.link(n, last, item)
			continue
		}
		k := p.doc.Node(item)
		if k.Kind != Scalar || k.Tag == Null || k.Value == "<<" || p.peek() != ':' {
			return 0, errSlow
		}
		quoted := p.s[itemStart] == '"' || p.s[itemStart] == '\'' // a JSON-like key: ':' may touch its value
		p.i++
		p.col++
		if !quoted && !p.blankAt(0) && !p.at(0, ',') && !p.at(0, closer) {
			return 0, errSlow
		}
		if err := p.flowSpace(parent); err != nil {
			return 0, err
		}
		if c := p.peek(); c == ',' || c == closer {
			return 0, errSlow // an empty value
		}
		val, err := p.flowItem(parent)
		if err != nil {
			return 0, err
		}
		last = p.doc.link(n, last, item)
		last = p.doc.link(n, last, val)
	}
}

func (p *parser) flowItem(parent int) (int32, error) {
	if c := p.peek(); c == '[' || c == '{' {
		return p.flow(parent)
	}
	return p.scalar(true)
}

// flowSpace skips spaces, comments and line breaks in a flow collection.
func (p *parser) flowSpace(parent int) error {
	for {
		start := p.i
		for p.i < len(p.s) && p.s[p.i] == ' ' {
			p.i++
			p.col++
		}
		if p.peek() == '#' {
			if p.i == start && p.i > 0 && p.s[p.i-1] != '\n' {
				return errSlow
			}
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		}
		switch p.peek() {
		case '\n':
			p.i++
			p.line++
			p.col = 0
			ls := p.i
			for p.i < len(p.s) && p.s[p.i] == ' ' {
				p.i++
			}
			p.col = p.i - ls
			if c := p.peek(); c != '\n' && c != '#' && c != 0 && p.col <= parent {
				return errSlow
			}
			p.i = ls
			p.col = 0
			continue
		case 0:
			return errSlow
		}
		return nil
	}
}

// scalar reads a scalar at s[i], in a flow collection or not; a key ends
// at ": ". Quoted scalars and keys end on their line; so does a plain
// scalar, except in a flow collection where the next line starts with
// the collection's punctuation.
func (p *parser) scalar(inFlow bool) (int32, error) {
	line := p.line
	switch c := p.peek(); c {
	case '"':
		v, err := p.doubleQuoted()
		if err != nil {
			return 0, err
		}
		return p.doc.add(Node{Kind: Scalar, Tag: Str, Value: v, Line: line, First: None, Next: None}), nil
	case '\'':
		v, err := p.singleQuoted()
		if err != nil {
			return 0, err
		}
		return p.doc.add(Node{Kind: Scalar, Tag: Str, Value: v, Line: line, First: None, Next: None}), nil
	}
	v, err := p.plain(inFlow)
	if err != nil {
		return 0, err
	}
	return p.doc.add(Node{Kind: Scalar, Tag: Resolve(v), Value: v, Line: line, First: None, Next: None}), nil
}

// plain reads a plain scalar at s[i] and returns its text.
func (p *parser) plain(inFlow bool) (string, error) {
	switch c := p.peek(); c {
	case '-', '?', ':':
		if p.blankAt(1) || c != '-' || inFlow && (p.at(1, ',') || p.at(1, ']') || p.at(1, '}') || p.at(1, '[') || p.at(1, '{')) {
			return "", errSlow
		}
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`', 0, '\n', ' ':
		return "", errSlow
	}
	start := p.i
	end := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if plainByte[c] {
			// Most of a scalar: nothing to look at.
			p.i++
			end = p.i
			continue
		}
		if c >= 0x80 || c < ' ' && c != '\n' || c == 0x7f {
			return "", errSlow
		}
		if c == '\n' {
			break
		}
		if c == ':' && (p.blankAt(1) || inFlow && (p.at(1, ',') || p.at(1, ']') || p.at(1, '}') || p.at(1, '[') || p.at(1, '{'))) {
			break
		}
		if c == '#' && p.s[p.i-1] == ' ' {
			break
		}
		if inFlow && (c == ',' || c == ']' || c == '}' || c == '[' || c == '{') {
			if c == '[' || c == '{' {
				return "", errSlow
			}
			break
		}
		p.i++
		if c != ' ' {
			end = p.i
		}
	}
	p.col += end - start
	v := p.s[start:end]
	p.i = end
	if inFlow && p.peek() == ' ' || inFlow && p.peek() == '\n' {
		// Does the scalar go on on the next line?
		save := *p
		for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n') {
			p.i++
		}
		if c := p.peek(); c != ',' && c != ']' && c != '}' && c != ':' && c != '#' {
			return "", errSlow
		}
		*p = save
	}
	return v, nil
}

// plainByte marks the bytes a plain scalar's scan passes over without a
// second look: printable ASCII but the space and the indicators that may
// end it (':', '#', and the flow ones).
var plainByte = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range ":#,[]{}" {
		t[c] = false
	}
	return t
}()

func (p *parser) doubleQuoted() (string, error) {
	p.i++
	start := p.i
	var buf []byte
	for {
		if p.i >= len(p.s) {
			return "", errSlow
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			v := p.s[start:p.i]
			if buf != nil {
				v = string(append(buf, p.s[start:p.i]...))
			}
			p.i++
			p.col = -1 // columns after a quoted scalar are not needed
			return v, nil
		case c >= 0x80 || c < ' ' || c == 0x7f:
			return "", errSlow
		case c == '\\':
			buf = append(buf, p.s[start:p.i]...)
			if p.i+1 >= len(p.s) {
				return "", errSlow
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'n':
				buf = append(buf, '\n')
			case 't':
				buf = append(buf, '\t')
			case 'r':
				buf = append(buf, '\r')
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'u':
				if p.i+4 > len(p.s) {
					return "", errSlow
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
				if err != nil || 0xd800 <= r && r <= 0xdfff {
					return "", errSlow
				}
				buf = utf8.AppendRune(buf, rune(r))
				p.i += 4
			default:
				return "", errSlow
			}
			start = p.i
		default:
			p.i++
		}
	}
}

func (p *parser) singleQuoted() (string, error) {
	p.i++
	start := p.i
	var buf []byte
	for {
		if p.i >= len(p.s) {
			return "", errSlow
		}
		c := p.s[p.i]
		switch {
		case c == '\'' && p.at(1, '\''):
			buf = append(buf, p.s[start:p.i+1]...)
			p.i += 2
			start = p.i
		case c == '\'':
			v := p.s[start:p.i]
			if buf != nil {
				v = string(append(buf, v...))
			}
			p.i++
			p.col = -1
			return v, nil
		case c >= 0x80 || c < ' ' || c == 0x7f:
			return "", errSlow
		default:
			p.i++
		}
	}
}
