package ipvs

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// attrReader walks netlink attributes like netlink.AttributeDecoder, but
// without allocating: values are sub-slices of the message, which must not
// be kept. Decoding replies is the hot path of listing a table of tens of
// thousands of services (netlink.AttributeDecoder costs several
// allocations per attribute; see BENCHMARKS.md).
type attrReader struct {
	b   []byte
	typ uint16
	val []byte
	err error
}

func newAttrReader(b []byte) *attrReader { return &attrReader{b: b} }

// Next moves to the next attribute; false at the end or on malformed input.
func (r *attrReader) Next() bool {
	if r.err != nil || len(r.b) < 4 {
		if r.err == nil && len(r.b) != 0 {
			r.err = fmt.Errorf("netlink attributes: %d trailing bytes", len(r.b))
		}
		return false
	}
	l := int(binary.NativeEndian.Uint16(r.b))
	if l < 4 || l > len(r.b) {
		r.err = fmt.Errorf("netlink attributes: length %d of %d bytes", l, len(r.b))
		return false
	}
	// Mask NLA_F_NESTED and NLA_F_NET_BYTEORDER.
	r.typ = binary.NativeEndian.Uint16(r.b[2:]) & 0x3fff
	r.val = r.b[4:l]
	if a := (l + 3) &^ 3; a < len(r.b) {
		r.b = r.b[a:]
	} else {
		r.b = nil
	}
	return true
}

func (r *attrReader) Type() uint16  { return r.typ }
func (r *attrReader) Bytes() []byte { return r.val }
func (r *attrReader) Err() error    { return r.err }

func (r *attrReader) size(n int) bool {
	if len(r.val) != n {
		if r.err == nil {
			r.err = fmt.Errorf("netlink attribute %d: %d bytes, want %d", r.typ, len(r.val), n)
		}
		return false
	}
	return true
}

func (r *attrReader) Uint8() uint8 {
	if !r.size(1) {
		return 0
	}
	return r.val[0]
}

func (r *attrReader) Uint16() uint16 {
	if !r.size(2) {
		return 0
	}
	return binary.NativeEndian.Uint16(r.val)
}

func (r *attrReader) Uint32() uint32 {
	if !r.size(4) {
		return 0
	}
	return binary.NativeEndian.Uint32(r.val)
}

func (r *attrReader) Uint64() uint64 {
	if !r.size(8) {
		return 0
	}
	return binary.NativeEndian.Uint64(r.val)
}

// String returns the value without its NUL terminator.
func (r *attrReader) String() string { return string(r.cstring()) }

// cstring is the value up to its NUL terminator.
func (r *attrReader) cstring() []byte {
	v := r.val
	for i, c := range v {
		if c == 0 {
			return v[:i]
		}
	}
	return v
}

// Scheduler reads a scheduler name, one of the known ones without
// allocating (every service of a listing carries one).
func (r *attrReader) Scheduler() Scheduler {
	v := r.cstring()
	for _, s := range schedulers {
		if string(s.s) == string(v) {
			return s.s
		}
	}
	return Scheduler(v)
}

// Nested reads the current attribute's value as attributes.
func (r *attrReader) Nested(fn func(*attrReader)) {
	n := attrReader{b: r.val}
	fn(&n)
	if n.err != nil && r.err == nil {
		r.err = n.err
	}
}

// attrWriter builds netlink attributes by appending to one buffer, with
// netlink.AttributeEncoder's methods but without its allocation per
// attribute: encoding is the hot path of loading a large table.
type attrWriter struct{ b []byte }

func newAttrWriter() *attrWriter { return &attrWriter{b: make([]byte, 0, 256)} }

// The writer appends to one buffer and allocates nothing of its own: a
// batch is encoded into one reused buffer.

// header appends an attribute header for n bytes of value.
func (w *attrWriter) header(typ uint16, n int) {
	w.b = binary.NativeEndian.AppendUint16(w.b, uint16(4+n))
	w.b = binary.NativeEndian.AppendUint16(w.b, typ)
}

// pad aligns the buffer to 4 bytes after a value.
func (w *attrWriter) pad() {
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *attrWriter) Uint8(typ uint16, v uint8) {
	w.header(typ, 1)
	w.b = append(w.b, v)
	w.pad()
}

func (w *attrWriter) Uint16(typ uint16, v uint16) {
	w.header(typ, 2)
	w.b = binary.NativeEndian.AppendUint16(w.b, v)
	w.pad()
}

// BE16 writes v in network byte order (ports).
func (w *attrWriter) BE16(typ uint16, v uint16) {
	w.header(typ, 2)
	w.b = binary.BigEndian.AppendUint16(w.b, v)
	w.pad()
}

func (w *attrWriter) Uint32(typ uint16, v uint32) {
	w.header(typ, 4)
	w.b = binary.NativeEndian.AppendUint32(w.b, v)
}

func (w *attrWriter) Bytes(typ uint16, v []byte) {
	w.header(typ, len(v))
	w.b = append(w.b, v...)
	w.pad()
}

// Addr writes a as the kernel's union nf_inet_addr: 16 bytes, an IPv4
// address in the first four.
func (w *attrWriter) Addr(typ uint16, a netip.Addr) {
	w.header(typ, 16)
	a = a.Unmap()
	if a.Is4() {
		v := a.As4()
		w.b = append(w.b, v[:]...)
		w.b = append(w.b, make([]byte, 12)...)
	} else {
		v := a.As16()
		w.b = append(w.b, v[:]...)
	}
}

// String writes s with a NUL terminator, as the kernel's NLA_NUL_STRING
// attributes want.
func (w *attrWriter) String(typ uint16, s string) {
	l := 4 + len(s) + 1
	w.b = binary.NativeEndian.AppendUint16(w.b, uint16(l))
	w.b = binary.NativeEndian.AppendUint16(w.b, typ)
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
	for ; l%4 != 0; l++ {
		w.b = append(w.b, 0)
	}
}

// Nested writes the attributes fn writes inside one attribute of type typ,
// flagged NLA_F_NESTED.
func (w *attrWriter) Nested(typ uint16, fn func(*attrWriter) error) {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	fn(w)
	binary.NativeEndian.PutUint16(w.b[start:], uint16(len(w.b)-start))
	binary.NativeEndian.PutUint16(w.b[start+2:], typ|0x8000)
}

// Encode returns the attributes written.
func (w *attrWriter) Encode() ([]byte, error) { return w.b, nil }

// nested returns the payload of the top-level attribute typ in a reply.
func nested(b []byte, typ uint16) ([]byte, error) {
	ad := newAttrReader(b)
	var out []byte
	for ad.Next() {
		if ad.Type() == typ {
			out = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("reply lacks attribute %d", typ)
	}
	return out, nil
}
