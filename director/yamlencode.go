package director

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-go/lvs/internal/yamlx"
)

// AppendYAML appends c to b as a configuration file in YAML, spelt as
// Load reads it and as c's JSON (the json tags and the types' MarshalJSON)
// would be, written in one pass over c: keys in field order, durations
// as "5s", enums and addresses by their text forms.
func (c *Config) AppendYAML(b []byte) ([]byte, error) {
	e := yamlEncoder{out: b, fields: map[reflect.Type][]encField{}, kinds: map[reflect.Type]encKind{}}
	if err := e.value(reflect.ValueOf(c), 0, false); err != nil {
		return b, err
	}
	return e.out, nil
}

type yamlEncoder struct {
	out    []byte
	fields map[reflect.Type][]encField
	kinds  map[reflect.Type]encKind
}

// encKind is how the encoder writes a type.
type encKind uint8

const (
	encByKind   encKind = iota // by its reflect.Kind
	encNative                  // a struct whose spelling the encoder knows
	encDuration                // "5s"
	encJSON                    // its MarshalJSON
	encJSONPtr                 // its pointer's MarshalJSON
	encText                    // its MarshalText
	encTextPtr                 // its pointer's MarshalText
)

func (e *yamlEncoder) kind(t reflect.Type) encKind {
	if k, ok := e.kinds[t]; ok {
		return k
	}
	k := encByKind
	switch pt := reflect.PointerTo(t); {
	case t == durationType:
		k = encDuration
	case yamlNativeStruct[t]:
		k = encNative
	case t.Implements(jsonMarshaler):
		k = encJSON
	case pt.Implements(jsonMarshaler):
		k = encJSONPtr
	case t.Implements(textMarshaler):
		k = encText
	case pt.Implements(textMarshaler):
		k = encTextPtr
	}
	e.kinds[t] = k
	return k
}

// encField is a struct field as encoding/json writes it.
type encField struct {
	name                string
	index               []int
	omitEmpty, omitZero bool
	// zeroer: 1 if the field's type has an IsZero method, 2 if its
	// pointer has.
	zeroer uint8
}

func (e *yamlEncoder) fieldsOf(t reflect.Type) []encField {
	if fs, ok := e.fields[t]; ok {
		return fs
	}
	d := decoder{structs: map[reflect.Type][]fieldInfo{}, kinds: map[reflect.Type]typeKind{}}
	var fs []encField
	for _, f := range d.fields(t) {
		_, opts, _ := strings.Cut(t.FieldByIndex(f.index).Tag.Get("json"), ",")
		ef := encField{name: f.name, index: f.index}
		switch ft := t.FieldByIndex(f.index).Type; {
		case ft.Implements(isZeroer):
			ef.zeroer = 1
		case reflect.PointerTo(ft).Implements(isZeroer):
			ef.zeroer = 2
		}
		for o := range strings.SplitSeq(opts, ",") {
			ef.omitEmpty = ef.omitEmpty || o == "omitempty"
			ef.omitZero = ef.omitZero || o == "omitzero"
		}
		fs = append(fs, ef)
	}
	e.fields[t] = fs
	return fs
}

// entry is one key of a mapping and its value.
type entry struct {
	key string
	v   reflect.Value
}

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	virtualService  = reflect.TypeFor[VirtualService]()
	timeoutsType    = reflect.TypeFor[Timeouts]()
	persistenceType = reflect.TypeFor[Persistence]()
	isZeroer        = reflect.TypeFor[interface{ IsZero() bool }]()
	// yamlNativeStruct are the types with a MarshalJSON whose spelling
	// the encoder writes itself (a check only while it has the fields
	// the encoder knows: with more, its MarshalJSON writes it).
	yamlNativeStruct = map[reflect.Type]bool{
		virtualService: true, timeoutsType: true, persistenceType: true,
		checkType: checkType.NumField() == knownCheckFields,
	}
)

func (e *yamlEncoder) indent(n int) {
	for range n {
		e.out = append(e.out, ' ')
	}
}

// scalar writes a scalar's text (already spelt) after "key:" or "-".
func (e *yamlEncoder) scalar(text string, quote, inline bool) {
	if inline {
		e.out = append(e.out, ' ')
	}
	if quote {
		e.out = yamlx.AppendString(e.out, text)
	} else {
		e.out = append(e.out, text...)
	}
	e.out = append(e.out, '\n')
}

// value writes v at indentation ind; inline means the line is started
// ("key:" or "-").
func (e *yamlEncoder) value(v reflect.Value, ind int, inline bool) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			e.scalar("null", false, inline)
			return nil
		}
		v = v.Elem()
	}
	switch e.kind(v.Type()) {
	case encDuration:
		e.scalar(time.Duration(v.Int()).String(), false, inline)
		return nil
	case encNative:
		ents, err := e.entries(v)
		if err != nil {
			return err
		}
		return e.mapping(ents, ind, inline)
	case encJSON, encJSONPtr:
		j, err := marshalJSON(v)
		if err != nil {
			return err
		}
		e.out, err = yamlx.AppendJSON(e.out, j, ind, inline)
		return err
	case encText, encTextPtr:
		m, ok := v.Interface().(encoding.TextMarshaler)
		if !ok {
			if !v.CanAddr() {
				return e.viaJSON(v, ind, inline)
			}
			m = v.Addr().Interface().(encoding.TextMarshaler)
		}
		text, err := m.MarshalText()
		if err != nil {
			return err
		}
		e.scalar(string(text), true, inline)
		return nil
	}
	t := v.Type()
	switch v.Kind() {
	case reflect.Struct:
		ents, err := e.entries(v)
		if err != nil {
			return err
		}
		return e.mapping(ents, ind, inline)
	case reflect.Map:
		if v.IsNil() {
			e.scalar("null", false, inline)
			return nil
		}
		keys := v.MapKeys()
		ents := make([]entry, 0, len(keys))
		for _, k := range keys {
			if k.Kind() != reflect.String {
				return e.viaJSON(v, ind, inline)
			}
			ents = append(ents, entry{k.String(), v.MapIndex(k)})
		}
		slices.SortFunc(ents, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		return e.mapping(ents, ind, inline)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			e.scalar("null", false, inline)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return e.viaJSON(v, ind, inline)
		}
		if v.Len() == 0 {
			e.scalar("[]", false, inline)
			return nil
		}
		if inline {
			e.out = append(e.out, '\n')
		}
		for i := range v.Len() {
			e.indent(ind)
			e.out = append(e.out, '-')
			if err := e.item(v.Index(i), ind+2); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		e.scalar(v.String(), true, inline)
		return nil
	case reflect.Bool:
		e.scalar(strconv.FormatBool(v.Bool()), false, inline)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.scalar(strconv.FormatInt(v.Int(), 10), false, inline)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.scalar(strconv.FormatUint(v.Uint(), 10), false, inline)
		return nil
	}
	return e.viaJSON(v, ind, inline)
}

// marshalJSON calls v's MarshalJSON, or its pointer's.
func marshalJSON(v reflect.Value) ([]byte, error) {
	if m, ok := v.Interface().(json.Marshaler); ok {
		return m.MarshalJSON()
	}
	if v.CanAddr() {
		return v.Addr().Interface().(json.Marshaler).MarshalJSON()
	}
	return json.Marshal(v.Interface())
}

// viaJSON writes v as encoding/json spells it.
func (e *yamlEncoder) viaJSON(v reflect.Value, ind int, inline bool) error {
	j, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	e.out, err = yamlx.AppendJSON(e.out, j, ind, inline)
	return err
}

// item writes a list's item after its "-": a mapping's first key on the
// same line.
func (e *yamlEncoder) item(v reflect.Value, ind int) error {
	e.out = append(e.out, ' ')
	start := len(e.out)
	if err := e.value(v, ind, false); err != nil {
		return err
	}
	// A mapping or list written from its own line: move its first line
	// up after the "-" (dropping its indentation); a scalar is on it.
	if ind > 0 && len(e.out) >= start+ind && allSpaces(e.out[start:start+ind]) {
		e.out = append(e.out[:start], e.out[start+ind:]...)
	}
	return nil
}

func allSpaces(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

// mapping writes ents as a mapping's keys at ind.
func (e *yamlEncoder) mapping(ents []entry, ind int, inline bool) error {
	if len(ents) == 0 {
		e.scalar("{}", false, inline)
		return nil
	}
	if inline {
		e.out = append(e.out, '\n')
	}
	for _, en := range ents {
		e.indent(ind)
		e.out = yamlx.AppendString(e.out, en.key)
		e.out = append(e.out, ':')
		sub := ind + 2
		if e.isList(en.v) {
			sub = ind
		}
		if err := e.value(en.v, sub, true); err != nil {
			return err
		}
	}
	return nil
}

// isList reports whether v is written as a YAML list with items.
func (e *yamlEncoder) isList(v reflect.Value) bool {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	switch e.kind(v.Type()) {
	case encNative, encDuration, encText, encTextPtr:
		return false
	case encJSON, encJSONPtr:
		j, err := marshalJSON(v)
		return err == nil && len(j) > 2 && j[0] == '['
	}
	t := v.Type()
	return (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Len() > 0 && t.Elem().Kind() != reflect.Uint8
}

// entries are the fields of the struct v that its JSON has, in order, as
// encoding/json chooses them (omitempty, omitzero, embedded structs), with
// the spellings the types' MarshalJSON give: a service's flags as names,
// a check as one block.
func (e *yamlEncoder) entries(v reflect.Value) ([]entry, error) {
	t := v.Type()
	if t == checkType {
		return e.checkEntries(v.Addr().Interface().(*Check))
	}
	var out []entry
	for _, f := range e.fieldsOf(t) {
		fv, ok := fieldByIndex(v, f.index)
		if !ok || f.omitEmpty && emptyValue(fv) || f.omitZero && zeroValue(fv, f.zeroer) {
			continue
		}
		if t == virtualService && f.name == "flags" {
			vs := v.Addr().Interface().(*VirtualService)
			names := vs.Flags.Names(vs.Scheduler)
			if len(names) == 0 {
				continue
			}
			fv = reflect.ValueOf(names)
		}
		out = append(out, entry{f.name, fv})
	}
	return out, nil
}

// checkEntries are a check block's keys as Check.MarshalJSON writes
// them: type and port, the kind's fields, then the director's others.
func (e *yamlEncoder) checkEntries(c *Check) ([]entry, error) {
	var out []entry
	if c.Spec != nil {
		out = append(out, entry{"type", reflect.ValueOf(c.Spec.Type())})
	}
	if c.Port != 0 {
		out = append(out, entry{"port", reflect.ValueOf(c.Port)})
	}
	if c.Spec != nil {
		sv := reflect.ValueOf(c.Spec)
		for sv.Kind() == reflect.Pointer && !sv.IsNil() {
			sv = sv.Elem()
		}
		if sv.Kind() != reflect.Struct || sv.Type().Implements(jsonMarshaler) || reflect.PointerTo(sv.Type()).Implements(jsonMarshaler) {
			return nil, fmt.Errorf("the %s check's fields are not a plain struct", c.Spec.Type())
		}
		spec, err := e.entries(sv)
		if err != nil {
			return nil, err
		}
		out = append(out, spec...)
	}
	for _, d := range []struct {
		key string
		v   any
		set bool
	}{
		{"interval", c.Interval, c.Interval != 0}, {"timeout", c.Timeout, c.Timeout != 0}, {"jitter", c.Jitter, c.Jitter != 0},
		{"rise", c.Rise, c.Rise != 0}, {"fall", c.Fall, c.Fall != 0}, {"retryDelay", c.RetryDelay, c.RetryDelay != 0},
		{"onFailure", c.OnFailure, c.OnFailure != 0},
	} {
		if d.set {
			out = append(out, entry{d.key, reflect.ValueOf(d.v)})
		}
	}
	return out, nil
}

// fieldByIndex is v's field at index, false through a nil embedded
// pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// emptyValue reports whether omitempty leaves v out.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// zeroValue reports whether omitzero leaves v out: its IsZero method's
// word if it has one, else the zero value.
func zeroValue(v reflect.Value, zeroer uint8) bool {
	switch {
	case zeroer == 1:
		return v.Kind() == reflect.Pointer && v.IsNil() || v.Interface().(interface{ IsZero() bool }).IsZero()
	case zeroer == 2 && v.CanAddr():
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}
