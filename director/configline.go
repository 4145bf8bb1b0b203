package director

import (
	"encoding"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/lvs-go/lvs/director/check"
	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// withLine gives err, a configuration error from parsing b, the line of b
// it is about, where it can be found: the YAML parser's own line, the
// first field no Config type has (what strict decoding refused), or the
// node ConfigError.Where names. Other errors are returned as they are.
func withLine(b []byte, err error) error {
	ce, ok := err.(*ConfigError)
	if !ok || ce.Line != 0 {
		return err
	}
	if m := yamlLine.FindStringSubmatch(ce.Reason); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
		return ce
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return ce
	}
	root := doc.Content[0]
	if ce.Where == "" {
		if n, where, err := unknownField(root, reflect.TypeFor[Config](), ""); n != nil {
			ce.Line, ce.Where = n.Line, where
			if err != nil {
				// The check's error, without the field Where names.
				ce.Reason, ce.Err = strings.TrimPrefix(err.Error(), where[strings.LastIndex(where, ".")+1:]+": "), err
			}
		}
		return ce
	}
	if n := nodeAt(root, ce.Where); n != nil {
		ce.Line = n.Line
	}
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
func nodeAt(n *yaml.Node, where string) *yaml.Node {
	for _, m := range wherePart.FindAllStringSubmatch(where, -1) {
		next := n
		switch {
		case m[1] != "":
			next = mapValue(n, m[1])
		case m[2] != "":
			i, _ := strconv.Atoi(m[2])
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return n
			}
			next = n.Content[i]
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// mapValue is the value of key in the mapping n, nil if none.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// unknownField finds the first mapping key under n that the type t (a
// Config or part of one) has no JSON field for, or the first field a
// check refuses (with the check's error), and where it is.
func unknownField(n *yaml.Node, t reflect.Type, where string) (*yaml.Node, string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil, "", nil
	}
	switch {
	case t == reflect.TypeFor[Check]():
		return checkFieldError(n, where)
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if f, w, err := unknownField(c, t.Elem(), where+"["+strconv.Itoa(i)+"]"); f != nil {
				return f, w, err
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" && f.IsExported() {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			sub := k.Value
			if where != "" {
				sub = where + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				return k, sub, nil
			}
			if f, w, err := unknownField(n.Content[i+1], ft, sub); f != nil {
				return f, w, err
			}
		}
	}
	return nil, "", nil
}

// checkFieldError decodes the check block n as Parse does and, if that
// fails, returns the key of the field it refused (or n, for a check
// without a type), where it is, and the check's error.
func checkFieldError(n *yaml.Node, where string) (*yaml.Node, string, error) {
	y, err := yaml.Marshal(n)
	if err != nil {
		return nil, "", nil
	}
	j, err := sigsyaml.YAMLToJSON(y)
	if err != nil {
		return nil, "", nil
	}
	var c Check
	err = c.UnmarshalJSON(j)
	if err == nil {
		return nil, "", nil
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
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == field {
				return k, where + "." + field, err
			}
		}
	}
	return n, where, err
}
