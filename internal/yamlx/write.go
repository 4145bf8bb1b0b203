package yamlx

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FromJSON appends the JSON value j, as encoding/json writes it (compact,
// valid), to dst as block YAML that reads back to the same value: keys in
// the JSON's order, strings quoted where YAML would read them otherwise.
// It writes in one pass, with no tree.
func FromJSON(dst, j []byte) ([]byte, error) {
	w := writer{j: j, out: dst}
	if err := w.value(0, false); err != nil {
		return dst, err
	}
	w.skipSpace()
	if w.i != len(w.j) {
		return dst, errors.New("yamlx: data after the JSON value")
	}
	if len(w.out) == len(dst) || w.out[len(w.out)-1] != '\n' {
		w.out = append(w.out, '\n')
	}
	return w.out, nil
}

// AppendJSON appends the JSON value j as block YAML at indentation ind:
// a mapping's keys or a list's items at ind. If inline, the line is
// started ("key:" or "-") and a scalar is written after a space on it.
// A list in a mapping sits at the mapping's keys' indentation (write it
// at the key's).
func AppendJSON(dst, j []byte, ind int, inline bool) ([]byte, error) {
	w := writer{j: j, out: dst}
	if err := w.value(ind, inline); err != nil {
		return dst, err
	}
	w.skipSpace()
	if w.i != len(w.j) {
		return dst, errors.New("yamlx: data after the JSON value")
	}
	return w.out, nil
}

// AppendString appends s as a scalar that reads back as the string s:
// plain where it can, else double-quoted.
func AppendString(b []byte, s string) []byte {
	if plainSafe(s) {
		return append(b, s...)
	}
	return AppendQuoted(b, s)
}

type writer struct {
	j   []byte
	i   int
	out []byte
}

var errJSON = errors.New("yamlx: not valid JSON")

func (w *writer) skipSpace() {
	for w.i < len(w.j) && (w.j[w.i] == ' ' || w.j[w.i] == '\n' || w.j[w.i] == '\t' || w.j[w.i] == '\r') {
		w.i++
	}
}

func (w *writer) indent(n int) {
	for range n {
		w.out = append(w.out, ' ')
	}
}

// empty consumes a container's opening bracket at j[i]; if the container
// is empty it consumes its end too, writes it as flow (" {}" or " []",
// from text) and reports true; else it ends an inline line, the
// container's entries to come on lines of their own.
func (w *writer) empty(end byte, text string, inline bool) bool {
	w.i++
	w.skipSpace()
	if w.i < len(w.j) && w.j[w.i] == end {
		w.i++
		w.out = append(w.out, text[boolIndex(!inline):]...)
		return true
	}
	if inline {
		w.out = append(w.out, '\n')
	}
	return false
}

// more reports whether a container ended by end has another entry at
// j[i], consuming the comma before it or the end; the first entry needs
// neither.
func (w *writer) more(first bool, end byte) (bool, error) {
	w.skipSpace()
	if first {
		return true, nil
	}
	switch {
	case w.i >= len(w.j):
		return false, errJSON
	case w.j[w.i] == end:
		w.i++
		return false, nil
	case w.j[w.i] != ',':
		return false, errJSON
	}
	w.i++
	w.skipSpace()
	return true, nil
}

// value writes the value at j[i], at indentation ind; inline is true when
// the line is already started (after "key:" or "- ").
func (w *writer) value(ind int, inline bool) error {
	w.skipSpace()
	if w.i >= len(w.j) {
		return errJSON
	}
	switch w.j[w.i] {
	case '{':
		if w.empty('}', " {}\n", inline) {
			return nil
		}
		for first := true; ; first = false {
			if more, err := w.more(first, '}'); !more {
				return err
			}
			key, err := w.str()
			if err != nil {
				return err
			}
			w.indent(ind)
			w.out = AppendString(w.out, key)
			w.out = append(w.out, ':')
			w.skipSpace()
			if w.i >= len(w.j) || w.j[w.i] != ':' {
				return errJSON
			}
			w.i++
			w.skipSpace()
			sub := ind + 2
			if w.i < len(w.j) && w.j[w.i] == '[' {
				sub = ind // a list in a mapping sits at its keys' indentation
			}
			if err := w.value(sub, true); err != nil {
				return err
			}
		}
	case '[':
		if w.empty(']', " []\n", inline) {
			return nil
		}
		for first := true; ; first = false {
			if more, err := w.more(first, ']'); !more {
				return err
			}
			w.indent(ind)
			w.out = append(w.out, '-')
			if err := w.item(ind + 2); err != nil {
				return err
			}
		}
	default:
		if inline {
			w.out = append(w.out, ' ')
		}
		if err := w.atom(); err != nil {
			return err
		}
		w.out = append(w.out, '\n')
	}
	return nil
}

// item writes a list's item after its "-": a mapping's first key on the
// same line.
func (w *writer) item(ind int) error {
	w.skipSpace()
	if w.i < len(w.j) && w.j[w.i] == '{' {
		save := w.i
		w.i++
		w.skipSpace()
		if w.i < len(w.j) && w.j[w.i] != '}' {
			// "- key: value", the other keys under it.
			w.out = append(w.out, ' ')
			mark := len(w.out)
			w.i = save
			if err := w.value(ind, false); err != nil {
				return err
			}
			// value indented the first key too: drop that.
			w.out = append(w.out[:mark], w.out[mark+ind:]...)
			return nil
		}
		w.i = save
	}
	return w.value(ind, true)
}

// atom writes a string, number, true, false or null.
func (w *writer) atom() error {
	if w.j[w.i] == '"' {
		s, err := w.str()
		if err != nil {
			return err
		}
		w.out = AppendString(w.out, s)
		return nil
	}
	start := w.i
	for w.i < len(w.j) && strings.IndexByte(",}] \n\t\r", w.j[w.i]) < 0 {
		w.i++
	}
	lit := string(w.j[start:w.i])
	switch lit {
	case "true", "false", "null":
	default:
		if !json.Valid([]byte(lit)) || lit == "" {
			return errJSON
		}
	}
	w.out = append(w.out, lit...)
	return nil
}

// str reads a JSON string at j[i].
func (w *writer) str() (string, error) {
	if w.i >= len(w.j) || w.j[w.i] != '"' {
		return "", errJSON
	}
	start := w.i
	esc := false
	for w.i++; w.i < len(w.j); w.i++ {
		switch w.j[w.i] {
		case '\\':
			esc = true
			w.i++
		case '"':
			w.i++
			if !esc {
				return string(w.j[start+1 : w.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(w.j[start:w.i], &s); err != nil {
				return "", err
			}
			return s, nil
		}
	}
	return "", errJSON
}

// plainSafe reports whether s reads back as the string s when written
// plain, in YAML 1.2 and 1.1 alike.
func plainSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_./-+@()=", c) >= 0:
		case c == ':' && s[i+1] != ' ':
		case c == ' ' && s[i+1] != '#':
		default:
			return false
		}
	}
	if strings.Contains(s, ": ") {
		return false
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~":
		return false
	}
	if Resolve(s) != Str {
		return false
	}
	// Numbers in YAML 1.1 spellings (1_000, 0b1, 1:20) and dates start
	// with a digit: keep only the shapes of addresses plain.
	if c := s[0]; '0' <= c && c <= '9' {
		return strings.Count(s, ".") >= 2 || strings.Contains(s, ":") && strings.Contains(s, ".") || duration(s)
	}
	return true
}

// duration reports whether s is digits, dots and letters with a letter
// that is no number's ("5s", "1m30s").
func duration(s string) bool {
	letter := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '.':
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			letter = letter || strings.IndexByte("eExXoObB", c) < 0
		default:
			return false
		}
	}
	return letter
}

// AppendQuoted appends s as a YAML double-quoted scalar: JSON's escapes,
// and every character YAML does not print escaped.
func AppendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < ' ' || r == 0x7f || 0x80 <= r && r <= 0x9f || r == 0xfeff || r == 0xfffe || r == 0xffff || r == utf8.RuneError:
			b = append(b, `\u`...)
			b = append(b, "0000"[len(strconv.FormatInt(int64(r), 16)):]...)
			b = strconv.AppendInt(b, int64(r), 16)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
