package ipvs

import (
	"encoding/binary"
	"fmt"
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
func (r *attrReader) String() string {
	v := r.val
	for i, c := range v {
		if c == 0 {
			v = v[:i]
			break
		}
	}
	return string(v)
}

// Nested reads the current attribute's value as attributes.
func (r *attrReader) Nested(fn func(*attrReader)) {
	n := attrReader{b: r.val}
	fn(&n)
	if n.err != nil && r.err == nil {
		r.err = n.err
	}
}
