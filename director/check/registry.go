package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Kind is a kind of check as the registry holds it.
type Kind struct {
	// New returns a new zero Spec of the kind, which Decode fills from a
	// configuration's fields: a pointer to the kind's struct.
	New func() Spec
	// Port is what the kind does with its target's port.
	Port PortUse
}

// PortUse is what a kind of check does with its target's port.
type PortUse uint8

const (
	// PortNeeded: the kind connects to the target's port. The zero
	// value. A check of a firewall-mark service, whose real servers have
	// no port, needs a port of its own.
	PortNeeded PortUse = iota
	// PortOptional: the kind may use the port and works without one
	// (command: LVS_RS_PORT is 0).
	PortOptional
	// PortUnused: the kind uses no port (icmp); a check that sets one
	// is refused.
	PortUnused
)

var portUses = [...]string{PortNeeded: "needed", PortOptional: "optional", PortUnused: "unused"}

func (u PortUse) String() string {
	if int(u) < len(portUses) {
		return portUses[u]
	}
	return fmt.Sprintf("unknown(%d)", uint8(u))
}

// builtins are the built-in kinds, by type: a new kind is a file and a
// line here.
var builtins = map[string]Kind{
	"tcp":     {newSpec[TCP], PortNeeded},
	"http":    {newSpec[HTTP], PortNeeded},
	"https":   {newSpec[HTTPS], PortNeeded},
	"tls":     {newSpec[TLS], PortNeeded},
	"udp":     {newSpec[UDP], PortNeeded},
	"dns":     {newSpec[DNS], PortNeeded},
	"icmp":    {newSpec[ICMP], PortUnused},
	"smtp":    {newSpec[SMTP], PortNeeded},
	"command": {newSpec[Command], PortOptional},
	"file":    {newSpec[File], PortUnused},
}

// newSpec is a Kind's New for the struct T.
func newSpec[T any, P interface {
	*T
	Spec
}]() Spec {
	return P(new(T))
}

// registry holds the kinds programs add, besides the built-in ones.
type registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// registered is the registry of Register, Lookup, Types and Decode.
var registered = &registry{kinds: map[string]Kind{}}

// directorFields are the fields of a configuration's check block that
// are not the kind's: its type, and where, when and to what effect the
// director runs it. Decode skips them; a kind may not have a field so
// named.
var directorFields = []string{"type", "port", "interval", "timeout", "jitter", "rise", "fall", "retryDelay", "onFailure"}

// ErrDuplicate is matched by Register's error for a type already
// registered.
var ErrDuplicate = errors.New("check: type already registered")

// Register adds a kind of check under the type name, which
// configurations then write as the check's type. Call it before reading
// the configurations that use it; it is safe from several goroutines.
// Its errors: a type already registered, built-in or not (ErrDuplicate);
// a name that is not lower-case letters, digits, '-' and '_', or that is
// not the Type of k's specs; no New; a Spec that reads one of the fields
// the director reads (type, port, interval, timeout, jitter, rise, fall,
// retryDelay, onFailure), which its decoding could never see.
func Register(name string, k Kind) error { return registered.register(name, k) }

// Lookup returns the kind registered under the type name, built-in or
// added by Register.
func Lookup(name string) (Kind, bool) { return registered.lookup(name) }

// Types lists the registered types, built-in and added, sorted.
func Types() []string { return registered.types() }

func (r *registry) register(name string, k Kind) error {
	if k.New == nil {
		return fmt.Errorf("check: register %q: no New", name)
	}
	spec := k.New()
	switch {
	case name == "" || strings.ContainsFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_'
	}):
		return fmt.Errorf("check: register %q: a type is lower-case letters, digits, - and _", name)
	case spec == nil || decodeStrict([]byte("{}"), spec) != nil:
		return fmt.Errorf("check: register %q: New returns %T, not a pointer to a spec to decode into", name, spec)
	case spec.Type() != name:
		return fmt.Errorf("check: register %q: its specs' Type is %q", name, spec.Type())
	case int(k.Port) >= len(portUses):
		return fmt.Errorf("check: register %q: port use %v", name, k.Port)
	}
	for _, f := range directorFields {
		if reads(k, f) {
			return fmt.Errorf("check: register %q: its spec has a field %s, which the director reads", name, f)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := builtins[name]; dup {
		return fmt.Errorf("%w: %q (built in)", ErrDuplicate, name)
	}
	if _, dup := r.kinds[name]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	r.kinds[name] = k
	return nil
}

func (r *registry) lookup(name string) (Kind, bool) {
	if k, ok := builtins[name]; ok {
		return k, true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

func (r *registry) types() []string {
	names := slices.Collect(maps.Keys(builtins))
	r.mu.RLock()
	names = slices.AppendSeq(names, maps.Keys(r.kinds))
	r.mu.RUnlock()
	slices.Sort(names)
	return names
}

// UnknownTypeError is a check whose type nobody registered.
type UnknownTypeError struct {
	Type  string
	Known []string // the registered types, sorted
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("unknown type %q (known: %s)", e.Type, strings.Join(e.Known, ", "))
}

// FieldError is a field of a check that its kind refuses: one it does
// not read, or a value it cannot take.
type FieldError struct {
	Type  string // the check's type
	Field string // as the configuration spells it
	// ReadBy, for a field Type does not read, are the types that read a
	// field so named, sorted.
	ReadBy []string
	// Err is why the value is refused; nil when Type does not read
	// Field.
	Err error
}

func (e *FieldError) Error() string {
	var ute *json.UnmarshalTypeError
	switch {
	case errors.As(e.Err, &ute):
		return e.Field + ": " + typeMismatch(ute)
	case e.Err != nil:
		return e.Field + ": " + e.Err.Error()
	case len(e.ReadBy) == 0:
		return fmt.Sprintf("unknown field %q (no type of check reads it)", e.Field)
	}
	return fmt.Sprintf("%s checks do not read %s (read by %s)", e.Type, e.Field, strings.Join(e.ReadBy, ", "))
}

func (e *FieldError) Unwrap() error { return e.Err }

// Decode returns a new Spec of the kind registered as typ, with fields
// decoded into it: a check block as JSON (YAML converted first), whose
// director fields (type, port, interval, timeout, jitter, rise, fall,
// retryDelay, onFailure) it skips. Every other field must be the kind's:
// the first that is not, or whose value the kind cannot take, is a
// *FieldError. An unregistered typ is an *UnknownTypeError. Decode does
// not validate what the kind reads (Compile does).
func Decode(typ string, fields []byte) (Spec, error) { return registered.decode(typ, fields) }

func (r *registry) decode(typ string, fields []byte) (Spec, error) {
	k, ok := r.lookup(typ)
	if !ok {
		return nil, &UnknownTypeError{Type: typ, Known: r.types()}
	}
	spec := k.New()
	obj, err := objectFields(fields)
	if err != nil {
		return nil, err
	}
	for _, f := range obj {
		if slices.ContainsFunc(directorFields, func(d string) bool { return strings.EqualFold(d, f.name) }) {
			continue
		}
		if !reads(k, f.name) {
			return nil, &FieldError{Type: typ, Field: f.name, ReadBy: r.readers(f.name)}
		}
		// One field at a time, so that an error names its field.
		one, err := json.Marshal(map[string]json.RawMessage{f.name: f.value})
		if err != nil {
			return nil, err
		}
		if err := decodeStrict(one, spec); err != nil {
			return nil, &FieldError{Type: typ, Field: f.name, Err: err}
		}
	}
	return spec, nil
}

// field is one field of a JSON object.
type field struct {
	name  string
	value json.RawMessage
}

// objectFields lists the fields of the JSON object b, in order; null or
// nothing is an object without fields.
func objectFields(b []byte) ([]field, error) {
	if t := bytes.TrimSpace(b); len(t) == 0 || string(t) == "{}" {
		// Nothing, or no fields (a kind without settings of its own: most
		// checks of a big file): no decoder needed.
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	switch {
	case err != nil:
		return nil, err
	case tok == nil:
		return nil, nil
	case tok != json.Delim('{'):
		return nil, fmt.Errorf("a check is a mapping of fields, not %s", b)
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{name, v})
	}
	return out, nil
}

// reads says whether the kind k has a field called name: decoding it
// alone, null, into a new spec succeeds only then.
func reads(k Kind, name string) bool {
	b, err := json.Marshal(map[string]any{name: nil})
	return err == nil && decodeStrict(b, k.New()) == nil
}

// readers lists the registered types that read a field called name.
func (r *registry) readers(name string) []string {
	var out []string
	for _, typ := range r.types() {
		if k, ok := r.lookup(typ); ok && reads(k, name) {
			out = append(out, typ)
		}
	}
	return out
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// typeMismatch says what is wrong with a value of the wrong type in a
// configuration's words: "want a whole number from 0 to 65535, got text".
func typeMismatch(e *json.UnmarshalTypeError) string {
	got := e.Value
	switch {
	case got == "string":
		got = "text"
	case got == "array":
		got = "a list"
	case got == "object":
		got = "a mapping"
	case got == "bool":
		got = "true or false"
	case got == "number":
		got = "a number"
	case strings.HasPrefix(got, "number "):
		got = strings.TrimPrefix(got, "number ")
	}
	want := "something else"
	if t := e.Type; t != nil {
		switch t.Kind() {
		case reflect.String:
			want = "text"
		case reflect.Bool:
			want = "true or false"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.Map, reflect.Struct:
			want = "a mapping"
		case reflect.Int, reflect.Int64:
			want = "a whole number"
		case reflect.Int8, reflect.Int16, reflect.Int32:
			want = fmt.Sprintf("a whole number from %d to %d", -1<<(t.Bits()-1), 1<<(t.Bits()-1)-1)
		case reflect.Uint, reflect.Uint64:
			want = "a whole number, 0 or more"
		case reflect.Uint8, reflect.Uint16, reflect.Uint32:
			want = fmt.Sprintf("a whole number from 0 to %d", 1<<t.Bits()-1)
		case reflect.Float32, reflect.Float64:
			want = "a number"
		}
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}
