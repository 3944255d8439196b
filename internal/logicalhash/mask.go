package logicalhash

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// mask is a validity bitmap seen from row 0 of the array being hashed.
// A nil *mask means "no bitmap": every row is valid.
type mask struct {
	bits  []byte
	off   int
	nulls int
}

func (m *mask) valid(i int) bool {
	return m == nil || bitutil.BitIsSet(m.bits, m.off+i)
}

// ownMask returns a's validity bitmap, or nil when a has no nulls. Arrow's
// Rust implementation drops bitmaps without nulls when it builds an array,
// and combine below depends on that, so we do the same.
func ownMask(a arrow.Array) *mask {
	n := a.NullN()
	if n == 0 {
		return nil
	}
	return &mask{bits: a.NullBitmapBytes(), off: a.Data().Offset(), nulls: n}
}

// combine merges an ancestor's bitmap with a child's the way arrow-digest
// does it:
//
//   - if only one side is present and it has nulls, that side wins;
//   - if both are present and both have nulls, the result is their bitwise
//     OR (a row is valid when it is valid in EITHER), and the result is
//     kept even if it ends up without nulls;
//   - in every other case the result is "no bitmap" (all valid).
//
// The OR (rather than the AND a reader might expect) is how arrow-digest
// behaves; we reproduce it so that our hashes equal kamu's.
func combine(parent, own *mask, n int) *mask {
	switch {
	case parent == nil && own != nil && own.nulls != 0:
		return own
	case parent != nil && own == nil && parent.nulls != 0:
		return parent
	case parent != nil && own != nil && parent.nulls != 0 && own.nulls != 0:
		out := &mask{bits: make([]byte, bitutil.BytesForBits(int64(n)))}
		for i := range n {
			if parent.valid(i) || own.valid(i) {
				bitutil.SetBit(out.bits, i)
			} else {
				out.nulls++
			}
		}
		return out
	}
	return nil
}
