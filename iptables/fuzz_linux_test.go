package iptables

import (
	"reflect"
	"testing"

	"github.com/google/nftables/expr"
)

// mutate applies edits to a deep copy of exprs: each three bytes (op,
// index, value) change a comparison's data, a payload's offset or length,
// a meta key, or drop or duplicate an expression, the ways a rule written
// by hand or by another tool differs from the package's own.
func mutate(exprs []expr.Any, edits []byte) []expr.Any {
	out := make([]expr.Any, 0, len(exprs))
	for _, e := range exprs {
		switch v := e.(type) {
		case *expr.Cmp:
			c := *v
			c.Data = append([]byte(nil), v.Data...)
			out = append(out, &c)
		case *expr.Payload:
			p := *v
			out = append(out, &p)
		case *expr.Meta:
			m := *v
			out = append(out, &m)
		default:
			out = append(out, e)
		}
	}
	for ; len(edits) >= 3 && len(out) > 0; edits = edits[3:] {
		op, i, val := edits[0]%7, int(edits[1])%len(out), edits[2]
		switch e := out[i].(type) {
		case *expr.Cmp:
			switch {
			case op == 0 && len(e.Data) > 0:
				e.Data[int(val)%len(e.Data)] ^= val | 1
			case op == 1:
				e.Data = e.Data[:int(val)%(len(e.Data)+1)]
			case op == 2:
				e.Op = expr.CmpOp(val % 6)
			}
		case *expr.Payload:
			switch op {
			case 0:
				e.Offset = uint32(val)
			case 1:
				e.Len = uint32(val % 20)
			case 2:
				e.Base = expr.PayloadBase(val % 3)
			}
		case *expr.Meta:
			if op < 3 {
				e.Key = expr.MetaKey(val % 32)
			}
		}
		switch op {
		case 5:
			out = append(out[:i], out[i+1:]...)
		case 6:
			out = append(out[:i+1], out[i:]...)
		}
	}
	return out
}

// FuzzDecodeNFT: whatever the expressions in the owned chains, decoding
// them never panics, and what decodes is a valid rule whose own
// expressions decode back to it. Seeds: the package's rules, edited.
func FuzzDecodeNFT(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0, 3, 9})
	f.Add(uint8(2), []byte{5, 1, 0, 1, 2, 16})
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		n := int(which) % (len(nftCases) + len(snatNFTCases))
		if n < len(nftCases) {
			enc := encodeNFT(nftCases[n].rule.canonical())
			ports := func(*expr.Lookup) ([]PortRange, bool) {
				if enc.set == nil {
					return nil, false
				}
				return setPorts(enc.elems, enc.set.Interval)
			}
			r, ok := decodeNFT(mutate(enc.exprs, edits), ports)
			if !ok {
				return
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("decoded an invalid rule %+v: %v", r, err)
			}
			again := encodeNFT(r)
			back, ok := decodeNFT(again.exprs, func(*expr.Lookup) ([]PortRange, bool) {
				if again.set == nil {
					return nil, false
				}
				return setPorts(again.elems, again.set.Interval)
			})
			if !ok || !reflect.DeepEqual(back, r) {
				t.Fatalf("rule %+v re-encoded decodes as %+v, %v", r, back, ok)
			}
			return
		}
		enc := encodeSNAT(snatNFTCases[n-len(nftCases)].rule)
		r, ok := decodeSNAT(mutate(enc.exprs, edits))
		if !ok {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded an invalid SNAT rule %+v: %v", r, err)
		}
		if back, ok := decodeSNAT(encodeSNAT(r).exprs); !ok || back != r {
			t.Fatalf("SNAT rule %+v re-encoded decodes as %+v, %v", r, back, ok)
		}
	})
}
