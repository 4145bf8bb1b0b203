package director

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/yamlx"
)

// check reads a check block as Check.UnmarshalJSON does: the director's
// fields here, the kind's by check.Decode (given only those, as JSON). A
// block it cannot read this way is read by Check.UnmarshalJSON, for its
// errors.
func (d *decoder) check(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	if n.Kind != yamlx.Mapping {
		return d.viaJSON(i, v)
	}
	if err := d.keysOnce(i); err != nil {
		return err
	}
	out := v.Addr().Interface().(*Check) // v is a field: decoded in place
	*out = Check{}
	typ := ""
	spec := append(d.spec[:0], '{')
	defer func() { d.spec = spec[:0] }()
	for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
		key, val := d.doc.Node(k).Value, d.doc.Node(k).Next
		name := ""
		if slices.Contains(checkFields, key) {
			name = key
		} else {
			for _, f := range checkFields {
				if foldEqual(f, key) {
					name = f
				}
			}
		}
		var ok bool
		vn := d.doc.Node(val)
		switch name {
		case "":
			if vn.Kind != yamlx.Scalar {
				d.push(key, 0)
				if err := d.caseDuplicates(val); err != nil {
					return err
				}
				d.pop()
			}
			if len(spec) > 1 {
				spec = append(spec, ',')
			}
			spec = appendJSONString(spec, key)
			spec = append(spec, ':')
			spec = d.appendJSON(spec, val, nil)
			continue
		case "type":
			typ, ok = vn.Value, vn.Kind == yamlx.Scalar && vn.Tag == yamlx.Str
		case "port":
			ok = d.quiet(val, reflect.ValueOf(&out.Port).Elem())
		case "interval":
			ok = d.quiet(val, reflect.ValueOf(&out.Interval).Elem())
		case "timeout":
			ok = d.quiet(val, reflect.ValueOf(&out.Timeout).Elem())
		case "jitter":
			ok = d.quiet(val, reflect.ValueOf(&out.Jitter).Elem())
		case "rise":
			ok = d.quiet(val, reflect.ValueOf(&out.Rise).Elem())
		case "fall":
			ok = d.quiet(val, reflect.ValueOf(&out.Fall).Elem())
		case "retryDelay":
			ok = d.quiet(val, reflect.ValueOf(&out.RetryDelay).Elem())
		case "onFailure":
			ok = d.quiet(val, reflect.ValueOf(&out.OnFailure).Elem())
		}
		if !ok || vn.Kind == yamlx.Scalar && vn.Tag == yamlx.Null {
			return d.viaJSON(i, v)
		}
	}
	spec = append(spec, '}')
	// Identical blocks share one Spec (never changed once decoded): an
	// imported file checks thousands of real servers the same way. The
	// key is the spec with the kind after it (looked up without a copy).
	specLen := len(spec)
	spec = append(append(spec, 0), typ...)
	s, ok := d.specs[string(spec)]
	if !ok {
		var err error
		if s, err = check.Decode(typ, bytes.Clone(spec[:specLen])); err != nil {
			return d.viaJSON(i, v)
		}
		if d.specs == nil {
			d.specs = map[string]check.Spec{}
		}
		d.specs[string(spec)] = s
	}
	out.Spec = s
	return nil
}

// quiet decodes the scalar at i into v, reporting whether it could.
func (d *decoder) quiet(i int32, v reflect.Value) bool {
	return d.doc.Node(i).Kind == yamlx.Scalar && d.value(i, v) == nil
}

// viaJSON gives the subtree at i, as JSON, to v's UnmarshalJSON (or
// encoding/json's decoding, strict).
func (d *decoder) viaJSON(i int32, v reflect.Value) error {
	d.viaJSONs++
	if err := d.caseDuplicates(i); err != nil {
		return err
	}
	b := d.appendJSON(nil, i, v.Type())
	var err error
	if u, ok := v.Addr().Interface().(json.Unmarshaler); ok {
		err = u.UnmarshalJSON(b)
	} else {
		err = decodeStrict(b, v.Addr().Interface())
	}
	if err == nil {
		return nil
	}
	where := d.where()
	if k, w, ferr := d.unknownField(i, v.Type(), where); k != yamlx.None {
		ce := &ConfigError{Where: w, Line: int(d.doc.Node(k).Line), Reason: err.Error(), Err: err}
		if ferr != nil {
			// The check's error, without the field Where names.
			ce.Reason, ce.Err = strings.TrimPrefix(ferr.Error(), w[strings.LastIndex(w, ".")+1:]+": "), ferr
		}
		return ce
	}
	return &ConfigError{Where: where, Line: int(d.doc.Node(i).Line), Reason: err.Error(), Err: err}
}

// appendJSON appends the subtree at i as JSON, its scalars written as the
// type t it is decoded into takes them (a number as a string where t is a
// string, "yes" as true where it is a bool), as yaml-to-JSON converters
// do; t is nil where unknown.
func (d *decoder) appendJSON(b []byte, i int32, t reflect.Type) []byte {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n := d.doc.Node(i)
	switch n.Kind {
	case yamlx.Mapping:
		var fs []fieldInfo
		if t != nil && t.Kind() == reflect.Struct {
			fs = d.fields(t)
		}
		b = append(b, '{')
		for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
			if k != n.First {
				b = append(b, ',')
			}
			key := d.doc.Node(k).Value
			b = appendJSONString(b, key)
			b = append(b, ':')
			var ft reflect.Type
			switch {
			case t != nil && t.Kind() == reflect.Map:
				ft = t.Elem()
			case fs != nil:
				if f, ok := field(fs, key); ok {
					ft = t.FieldByIndex(f.index).Type
				}
			}
			b = d.appendJSON(b, d.doc.Node(k).Next, ft)
		}
		return append(b, '}')
	case yamlx.Sequence:
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		b = append(b, '[')
		for c := n.First; c != yamlx.None; c = d.doc.Node(c).Next {
			if c != n.First {
				b = append(b, ',')
			}
			b = d.appendJSON(b, c, et)
		}
		return append(b, ']')
	}
	if n.Tag == yamlx.Null {
		return append(b, "null"...)
	}
	if t != nil && t != durationType {
		pt := reflect.PointerTo(t)
		switch {
		case pt.Implements(jsonUnmarshaler):
		case t.Kind() == reflect.String || pt.Implements(textUnmarshaler):
			return appendJSONString(b, n.Value)
		case t.Kind() == reflect.Bool:
			if v, ok := boolValue(n); ok {
				return strconv.AppendBool(b, v)
			}
		}
	}
	switch n.Tag {
	case yamlx.Bool:
		v, _ := boolValue(n)
		return strconv.AppendBool(b, v)
	case yamlx.Int:
		if iv, ok := yamlx.ParseInt(n.Value); ok {
			if iv.Neg {
				b = append(b, '-')
			}
			return strconv.AppendUint(b, iv.Abs, 10)
		}
	case yamlx.Float:
		if f, ok := floatValue(n); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return strconv.AppendFloat(b, f, 'g', -1, 64)
		}
	}
	return appendJSONString(b, n.Value)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < ' ':
			b = fmt.Appendf(b, `\u%04x`, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
