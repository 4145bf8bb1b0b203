package director

import (
	"encoding"
	"errors"
	"reflect"
	"regexp"
	"strconv"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/yamlx"
)

// withLine gives err, a configuration error from compiling the document
// b, the line of b it is about: the YAML parser's own line, or the node
// ConfigError.Where names. Other errors are returned as they are.
func withLine(b []byte, err error) error {
	ce, ok := err.(*ConfigError)
	if !ok || ce.Line != 0 {
		return err
	}
	if m := yamlLine.FindStringSubmatch(ce.Reason); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
		return ce
	}
	if ce.Where == "" {
		return ce
	}
	doc, perr := yamlx.Parse(b)
	if perr != nil || doc.Len() == 0 {
		return ce
	}
	ce.Line = int(doc.Node(nodeAt(doc, 0, ce.Where)).Line)
	return ce
}

// yamlLine finds the YAML parser's "line N" in an error's text.
var yamlLine = regexp.MustCompile(`\byaml: line (\d+):`)

// wherePart is one step of a ConfigError.Where: a field, an index, or a
// service's name in parentheses (skipped).
var wherePart = regexp.MustCompile(`([A-Za-z]+)|\[(\d+)\]|\s*\([^)]*\)`)

// nodeAt finds the node where, "services[1] (web).realServers[0]", names,
// or the deepest one on its way that the file has (a field the file
// leaves out is about its parent's line).
func nodeAt(doc *yamlx.Doc, n int32, where string) int32 {
	for _, m := range wherePart.FindAllStringSubmatch(where, -1) {
		next := n
		switch {
		case m[1] != "":
			next = doc.MapValue(n, m[1])
		case m[2] != "":
			i, _ := strconv.Atoi(m[2])
			if doc.Node(n).Kind != yamlx.Sequence {
				return n
			}
			next = doc.Node(n).First
			for ; i > 0 && next != yamlx.None; i-- {
				next = doc.Node(next).Next
			}
		}
		if next == yamlx.None {
			return n
		}
		n = next
	}
	return n
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// unknownField finds the first mapping key under n that the type t (a
// Config or part of one) has no JSON field for, or the first field a
// check refuses (with the check's error), and where it is; yamlx.None if
// none.
func (d *decoder) unknownField(n int32, t reflect.Type, where string) (int32, string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return yamlx.None, "", nil
	}
	node := d.doc.Node(n)
	switch {
	case t == reflect.TypeFor[Check]():
		return d.checkFieldError(n, where)
	case t.Kind() == reflect.Slice && node.Kind == yamlx.Sequence:
		i := 0
		for c := node.First; c != yamlx.None; c = d.doc.Node(c).Next {
			if f, w, err := d.unknownField(c, t.Elem(), where+"["+strconv.Itoa(i)+"]"); f != yamlx.None {
				return f, w, err
			}
			i++
		}
	case t.Kind() == reflect.Struct && node.Kind == yamlx.Mapping:
		fields := map[string]reflect.Type{}
		for _, f := range d.fields(t) {
			fields[f.name] = t.FieldByIndex(f.index).Type
		}
		for k := node.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
			key := d.doc.Node(k).Value
			sub := key
			if where != "" {
				sub = where + "." + key
			}
			ft, ok := fields[key]
			if !ok {
				return k, sub, nil
			}
			if f, w, err := d.unknownField(d.doc.Node(k).Next, ft, sub); f != yamlx.None {
				return f, w, err
			}
		}
	}
	return yamlx.None, "", nil
}

// checkFieldError decodes the check block n as Parse does and, if that
// fails, returns the key of the field it refused (or n, for a check
// without a type), where it is, and the check's error.
func (d *decoder) checkFieldError(n int32, where string) (int32, string, error) {
	var c Check
	err := c.UnmarshalJSON(d.appendJSON(nil, n, checkType))
	if err == nil {
		return yamlx.None, "", nil
	}
	field := ""
	var fe *check.FieldError
	var te *check.UnknownTypeError
	switch {
	case errors.As(err, &fe):
		field = fe.Field
	case errors.As(err, &te):
		field = "type"
	}
	if node := d.doc.Node(n); node.Kind == yamlx.Mapping {
		for k := node.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
			if d.doc.Node(k).Value == field {
				return k, where + "." + field, err
			}
		}
	}
	return n, where, err
}
