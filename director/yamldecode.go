package director

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/internal/yamlx"
	"github.com/lvs-go/lvs/ipvs"
)

// decodeConfig decodes the document doc into c as the json tags name
// Config's fields, as strictly as encoding/json with unknown fields
// disallowed would (and Config.UnmarshalJSON does): an unknown field,
// keys that differ only in case (except under sysctls) and a key twice
// are errors; durations are "5s" or seconds; the types with text forms
// read them. Types with an UnmarshalJSON of their own that are not
// decoded here (a check, a VRRP instance, a BGP peer) are given their
// subtree as JSON. Errors are *ConfigError with Where and Line.
func decodeConfig(doc *yamlx.Doc, c *Config) error {
	if doc.Len() == 0 {
		return nil
	}
	d := &decoder{doc: doc, structs: map[reflect.Type][]fieldInfo{}, kinds: map[reflect.Type]typeKind{}}
	return d.value(0, reflect.ValueOf(c).Elem())
}

// decoder decodes a yamlx.Doc; path is where it is, rendered only for
// errors.
type decoder struct {
	doc     *yamlx.Doc
	path    []pathStep
	structs map[reflect.Type][]fieldInfo
	kinds   map[reflect.Type]typeKind
	// viaJSONs counts the subtrees given to viaJSON (the slow path; a
	// check block with the director's fields and its kind's should not
	// take it).
	viaJSONs int
	// specs are the check kinds' Specs decoded, by kind and fields.
	specs map[string]check.Spec
	// text is a buffer for UnmarshalText's argument, spec one for a
	// check's fields.
	text, spec []byte
	// general turns the plain paths off (plainRealServer): the tests
	// compare their results with the general way's.
	general bool
}

// typeKind is how the decoder reads a type.
type typeKind uint8

const (
	byKind   typeKind = iota // by its reflect.Kind
	byJSON                   // its own UnmarshalJSON
	byText                   // its UnmarshalText
	byNative                 // a hook of the decoder's
)

func (d *decoder) typeKind(t reflect.Type) typeKind {
	if k, ok := d.kinds[t]; ok {
		return k
	}
	k := byKind
	pt := reflect.PointerTo(t)
	switch {
	case t == durationType || t == serviceFlagsType || t == realServerType || t == checkType && t.NumField() == knownCheckFields:
		k = byNative
	case t.Kind() == reflect.Pointer:
	case pt.Implements(jsonUnmarshaler) && !native[t]:
		k = byJSON
	case pt.Implements(textUnmarshaler):
		k = byText
	}
	d.kinds[t] = k
	return k
}

// pathStep is a mapping key, or an index if key is empty.
type pathStep struct {
	key   string
	index int
}

func (d *decoder) push(key string, index int) { d.path = append(d.path, pathStep{key, index}) }
func (d *decoder) pop()                       { d.path = d.path[:len(d.path)-1] }

// where renders the path as ConfigError.Where spells it.
func (d *decoder) where() string {
	var b strings.Builder
	for _, s := range d.path {
		if s.key == "" {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// fail is a *ConfigError at the current path about the node at i.
func (d *decoder) fail(i int32, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Where: d.where(), Line: int(d.doc.Node(i).Line), Reason: fmt.Sprintf(format, args...), Err: err}
}

// caseDuplicates refuses, in every mapping under i, a key twice and two
// keys that differ only in case (encoding/json would read both into one
// field and drop one silently); sysctls' keys are the kernel's names,
// where case counts. The decoder checks each mapping it reads itself
// (keysOnce); this is for a subtree given to viaJSON.
func (d *decoder) caseDuplicates(i int32) error {
	n := d.doc.Node(i)
	switch n.Kind {
	case yamlx.Sequence:
		idx := 0
		for c := n.First; c != yamlx.None; c = d.doc.Node(c).Next {
			d.push("", idx)
			if err := d.caseDuplicates(c); err != nil {
				return err
			}
			d.pop()
			idx++
		}
	case yamlx.Mapping:
		if err := d.keysOnce(i); err != nil {
			return err
		}
		for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
			key := d.doc.Node(k)
			d.push(key.Value, 0)
			if err := d.caseDuplicates(key.Next); err != nil {
				return err
			}
			d.pop()
		}
	}
	return nil
}

// keysOnce refuses, in the mapping at i (a node at the current path), a
// key twice and, but under sysctls, two keys that differ only in case.
func (d *decoder) keysOnce(i int32) error {
	n := d.doc.Node(i)
	sysctls := len(d.path) == 1 && d.path[0].key == "sysctls"
	for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
		key := d.doc.Node(k)
		for p := n.First; p != k; p = d.doc.Node(d.doc.Node(p).Next).Next {
			prev := d.doc.Node(p).Value
			if prev == key.Value {
				return d.fail(k, nil, "mapping key %q already defined at line %d", prev, d.doc.Node(p).Line)
			}
			if !sysctls && foldEqual(prev, key.Value) {
				a, b := min(prev, key.Value), max(prev, key.Value)
				return d.fail(k, nil, "keys %q and %q differ only in case, and name one field: keep one", a, b)
			}
		}
	}
	return nil
}

// foldEqual reports whether a and b name one field for encoding/json.
func foldEqual(a, b string) bool {
	if a == b {
		return true
	}
	// Two keys whose first bytes are ASCII and differ but for case are
	// not equal folded either (an ASCII letter folds with ASCII ones, or
	// with a rune that is not ASCII): most keys compared differ there.
	if len(a) > 0 && len(b) > 0 && a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf && lowerASCII(a[0]) != lowerASCII(b[0]) {
		return false
	}
	ascii := true
	for i := 0; i < len(a) && ascii; i++ {
		ascii = a[i] < utf8.RuneSelf
	}
	for i := 0; i < len(b) && ascii; i++ {
		ascii = b[i] < utf8.RuneSelf
	}
	if ascii {
		return len(a) == len(b) && strings.EqualFold(a, b)
	}
	return string(foldName(a)) == string(foldName(b))
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// fieldInfo is a struct field as encoding/json sees it, and how the
// decoder reads its type.
type fieldInfo struct {
	name  string
	index []int
	kind  typeKind
}

// fields are t's JSON fields, embedded structs' promoted.
func (d *decoder) fields(t reflect.Type) []fieldInfo {
	if fs, ok := d.structs[t]; ok {
		return fs
	}
	var fs []fieldInfo
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fs = append(fs, fieldInfo{name, idx, d.typeKind(f.Type)})
		}
	}
	walk(t, nil)
	d.structs[t] = fs
	return fs
}

// field finds key among fs: its exact name, or one that differs in case.
func field(fs []fieldInfo, key string) (fieldInfo, bool) {
	for _, f := range fs {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fs {
		if foldEqual(f.name, key) {
			return f, true
		}
	}
	return fieldInfo{}, false
}

var (
	durationType     = reflect.TypeFor[time.Duration]()
	serviceFlagsType = reflect.TypeFor[ipvs.ServiceFlags]()
	realServerType   = reflect.TypeFor[RealServer]()
	checkType        = reflect.TypeFor[Check]()
	jsonUnmarshaler  = reflect.TypeFor[json.Unmarshaler]()
)

// knownCheckFields is the number of Check's fields that the decoder and
// the encoder read and write themselves; a Check with more is read and
// written by its UnmarshalJSON and MarshalJSON.
const knownCheckFields = 9

// native are the types with an UnmarshalJSON that the decoder reads
// itself, as their UnmarshalJSON does.
var native = map[reflect.Type]bool{
	reflect.TypeFor[Config]():         true,
	reflect.TypeFor[VirtualService](): true,
	realServerType:                    true,
	reflect.TypeFor[Persistence]():    true,
	reflect.TypeFor[Timeouts]():       true,
}

// value decodes the node at i into v.
func (d *decoder) value(i int32, v reflect.Value) error {
	return d.valueAs(i, v, d.typeKind(v.Type()))
}

// valueAs decodes the node at i into v, whose type is read as k says.
func (d *decoder) valueAs(i int32, v reflect.Value, k typeKind) error {
	n := d.doc.Node(i)
	t := v.Type()
	if n.Kind == yamlx.Scalar && n.Tag == yamlx.Null {
		// As encoding/json reads null.
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	switch k {
	case byNative:
		switch t {
		case durationType:
			return d.duration(i, v)
		case serviceFlagsType:
			return d.serviceFlags(i, v)
		case realServerType:
			return d.realServer(i, v)
		case checkType:
			return d.check(i, v)
		}
	case byJSON:
		return d.viaJSON(i, v)
	case byText:
		if n.Kind != yamlx.Scalar {
			return d.fail(i, nil, "want a string, not a %s", kindName(n.Kind))
		}
		var err error
		switch p := v.Addr().Interface().(type) {
		case *netip.AddrPort: // as its UnmarshalText, without a copy
			*p = netip.AddrPort{}
			if n.Value != "" {
				*p, err = netip.ParseAddrPort(n.Value)
			}
		case *netip.Addr:
			*p = netip.Addr{}
			if n.Value != "" {
				*p, err = netip.ParseAddr(n.Value)
			}
		case encoding.TextUnmarshaler:
			err = d.unmarshalText(p, n.Value)
		}
		if err != nil {
			return d.fail(i, err, "%s", err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.value(i, v.Elem())
	case reflect.Struct:
		return d.structValue(i, v)
	case reflect.Slice:
		if n.Kind != yamlx.Sequence {
			return d.fail(i, nil, "want a list, not a %s", kindName(n.Kind))
		}
		cnt := d.doc.Count(i)
		s := reflect.MakeSlice(t, cnt, cnt)
		ek := d.typeKind(t.Elem())
		idx := 0
		for c := n.First; c != yamlx.None; c = d.doc.Node(c).Next {
			d.push("", idx)
			if err := d.valueAs(c, s.Index(idx), ek); err != nil {
				return err
			}
			d.pop()
			idx++
		}
		v.Set(s)
		return nil
	case reflect.Map:
		return d.mapValue(i, v)
	case reflect.String:
		if n.Kind != yamlx.Scalar {
			return d.fail(i, nil, "want a string, not a %s", kindName(n.Kind))
		}
		v.SetString(strings.Clone(n.Value))
		return nil
	case reflect.Bool:
		b, ok := boolValue(n)
		if !ok {
			return d.fail(i, nil, "want true or false, not %s", describe(n))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.intValue(i, v)
	case reflect.Float32, reflect.Float64:
		f, ok := floatValue(n)
		if !ok || v.OverflowFloat(f) {
			return d.fail(i, nil, "want a number, not %s", describe(n))
		}
		v.SetFloat(f)
		return nil
	}
	return d.viaJSON(i, v)
}

func (d *decoder) structValue(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	if n.Kind != yamlx.Mapping {
		return d.fail(i, nil, "want a mapping of fields, not %s", describe(n))
	}
	if err := d.keysOnce(i); err != nil {
		return err
	}
	fs := d.fields(v.Type())
	for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
		key := d.doc.Node(k)
		d.push(key.Value, 0)
		f, ok := field(fs, key.Value)
		if !ok {
			return d.fail(k, nil, "unknown field %q", key.Value)
		}
		fv := v
		for j, x := range f.index {
			if j > 0 && fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(fv.Type().Elem()))
				}
				fv = fv.Elem()
			}
			fv = fv.Field(x)
		}
		if err := d.valueAs(key.Next, fv, f.kind); err != nil {
			return err
		}
		d.pop()
	}
	return nil
}

func (d *decoder) mapValue(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	t := v.Type()
	if n.Kind != yamlx.Mapping {
		return d.fail(i, nil, "want a mapping, not %s", describe(n))
	}
	if err := d.keysOnce(i); err != nil {
		return err
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	kt := t.Key()
	for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
		key := d.doc.Node(k)
		d.push(key.Value, 0)
		kv := reflect.New(kt).Elem()
		switch {
		case reflect.PointerTo(kt).Implements(textUnmarshaler):
			if err := kv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(key.Value)); err != nil {
				return d.fail(k, err, "%s", err.Error())
			}
		case kt.Kind() == reflect.String:
			kv.SetString(strings.Clone(key.Value))
		default:
			return d.viaJSON(i, v)
		}
		ev := reflect.New(t.Elem()).Elem()
		if err := d.value(key.Next, ev); err != nil {
			return err
		}
		v.SetMapIndex(kv, ev)
		d.pop()
	}
	return nil
}

func (d *decoder) intValue(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	var iv yamlx.IntValue
	ok := n.Kind == yamlx.Scalar && n.Tag == yamlx.Int
	if ok {
		iv, ok = yamlx.ParseInt(n.Value)
	} else if f, isFloat := floatValue(n); isFloat && n.Tag == yamlx.Float && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		iv, ok = yamlx.IntValue{Abs: uint64(math.Abs(f)), Neg: f < 0}, true
	}
	if !ok {
		return d.fail(i, nil, "want a whole number, not %s", describe(n))
	}
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if iv.Neg && iv.Abs != 0 || v.OverflowUint(iv.Abs) {
			return d.fail(i, nil, "%s is out of range for %s", n.Value, v.Type().Kind())
		}
		v.SetUint(iv.Abs)
	default:
		if !iv.Neg && iv.Abs > math.MaxInt64 || iv.Neg && iv.Abs > 1<<63 {
			return d.fail(i, nil, "%s is out of range for %s", n.Value, v.Type().Kind())
		}
		x := int64(iv.Abs)
		if iv.Neg {
			x = -x
		}
		if v.OverflowInt(x) {
			return d.fail(i, nil, "%s is out of range for %s", n.Value, v.Type().Kind())
		}
		v.SetInt(x)
	}
	return nil
}

// duration reads "5s" or a number of seconds, as jsonDuration does.
func (d *decoder) duration(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	if n.Kind == yamlx.Scalar {
		switch n.Tag {
		case yamlx.Str:
			var jd jsonDuration
			if err := jd.UnmarshalText([]byte(n.Value)); err != nil {
				return d.fail(i, err, "%s", err.Error())
			}
			v.SetInt(int64(jd))
			return nil
		case yamlx.Int, yamlx.Float:
			if f, ok := floatValue(n); ok && math.Abs(f) <= math.MaxInt64/float64(time.Second) {
				v.SetInt(int64(f * float64(time.Second)))
				return nil
			}
		}
	}
	return d.fail(i, nil, "duration: want \"5s\" or seconds, got %s", describe(n))
}

// serviceFlags reads flags as a list of names or one string, as flagList
// does.
func (d *decoder) serviceFlags(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	var names []string
	switch n.Kind {
	case yamlx.Scalar:
		names = []string{n.Value}
	case yamlx.Sequence:
		for c := n.First; c != yamlx.None; c = d.doc.Node(c).Next {
			if d.doc.Node(c).Kind != yamlx.Scalar {
				return d.fail(i, nil, "flags: want a list of names or a string")
			}
			names = append(names, d.doc.Node(c).Value)
		}
	default:
		return d.fail(i, nil, "flags: want a list of names or a string")
	}
	var f ipvs.ServiceFlags
	for _, name := range names {
		var one ipvs.ServiceFlags
		if err := one.UnmarshalText([]byte(name)); err != nil {
			return d.fail(i, err, "%s", err.Error())
		}
		f |= one
	}
	v.SetUint(uint64(f))
	return nil
}

// realServer reads a real server as RealServer.UnmarshalJSON does: weight
// 1 when the file has none, and a forwarding method it must name.
func (d *decoder) realServer(i int32, v reflect.Value) error {
	n := d.doc.Node(i)
	rs := v.Addr().Interface().(*RealServer) // v is a list's element, addressable
	if n.Kind == yamlx.Mapping && !d.general && d.plainRealServer(i, rs) {
		return nil
	}
	if n.Kind == yamlx.Mapping {
		forward := false
		for k := n.First; k != yamlx.None; k = d.doc.Node(d.doc.Node(k).Next).Next {
			if val := d.doc.Node(d.doc.Node(k).Next); foldEqual(d.doc.Node(k).Value, "forward") && (val.Kind != yamlx.Scalar || val.Tag != yamlx.Null) {
				forward = true
			}
		}
		if !forward {
			return d.fail(i, nil, "real server: forward is required (nat, dr, tunnel or local)")
		}
	}
	*rs = RealServer{Weight: 1}
	return d.structValue(i, v)
}

// plainRealServer decodes the mapping at i into rs without reflection if
// it is what nearly every file has, each key once and spelt as its field:
// address, forward (required) and weight, each a plain scalar that reads.
// Otherwise it reports false, and realServer decodes the mapping the
// general way, for its errors.
func (d *decoder) plainRealServer(i int32, rs *RealServer) bool {
	*rs = RealServer{Weight: 1}
	var seen [3]bool
	for k := d.doc.Node(i).First; k != yamlx.None; {
		key := d.doc.Node(k)
		val := d.doc.Node(key.Next)
		k = val.Next
		if val.Kind != yamlx.Scalar || val.Tag == yamlx.Null {
			return false
		}
		var f int
		switch key.Value {
		case "address":
			if val.Value == "" {
				return false
			}
			a, err := netip.ParseAddrPort(val.Value)
			if err != nil {
				return false
			}
			rs.Address = a
		case "forward":
			f = 1
			if d.unmarshalText(&rs.Forward, val.Value) != nil {
				return false
			}
		case "weight":
			f = 2
			if val.Tag != yamlx.Int {
				return false
			}
			w, ok := yamlx.ParseInt(val.Value)
			if !ok || w.Neg || w.Abs > math.MaxInt32 {
				return false
			}
			rs.Weight = int(w.Abs)
		default:
			return false
		}
		if seen[f] {
			return false
		}
		seen[f] = true
	}
	return seen[1]
}

// unmarshalText gives s to u's UnmarshalText in the decoder's buffer, not
// a copy of its own (UnmarshalText copies what it keeps).
func (d *decoder) unmarshalText(u encoding.TextUnmarshaler, s string) error {
	d.text = append(d.text[:0], s...)
	return u.UnmarshalText(d.text)
}

// boolValue reads a YAML 1.2 boolean, or YAML 1.1's yes, no, on, off.
func boolValue(n *yamlx.Node) (bool, bool) {
	if n.Kind != yamlx.Scalar {
		return false, false
	}
	switch n.Value {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
		return true, true
	case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N":
		return false, true
	}
	return false, false
}

// floatValue reads an integer or a float.
func floatValue(n *yamlx.Node) (float64, bool) {
	if n.Kind != yamlx.Scalar {
		return 0, false
	}
	switch n.Tag {
	case yamlx.Int:
		iv, ok := yamlx.ParseInt(n.Value)
		f := float64(iv.Abs)
		if iv.Neg {
			f = -f
		}
		return f, ok
	case yamlx.Float:
		switch strings.ToLower(n.Value) {
		case ".inf", "+.inf":
			return math.Inf(1), true
		case "-.inf":
			return math.Inf(-1), true
		case ".nan":
			return math.NaN(), true
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return f, err == nil
	}
	return 0, false
}

func kindName(k yamlx.Kind) string {
	switch k {
	case yamlx.Mapping:
		return "mapping"
	case yamlx.Sequence:
		return "list"
	}
	return "scalar"
}

// describe names a node for an error: a scalar quoted, or its kind.
func describe(n *yamlx.Node) string {
	if n.Kind == yamlx.Scalar {
		return strconv.Quote(n.Value)
	}
	return "a " + kindName(n.Kind)
}
