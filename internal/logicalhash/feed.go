package logicalhash

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// nullMarker is written in place of every null value.
const nullMarker = 0

// feed writes the rows of a leaf array a into h. parent is the validity
// inherited from enclosing structs (nil if none).
func feed(h *hasher, a arrow.Array, parent *mask) error {
	n := a.Len()
	m := combine(parent, ownMask(a), n)
	if m == nil {
		if raw, ok := fixedBytes(a); ok {
			// No nulls: the value buffer is hashed in one go.
			h.write(raw)
			return nil
		}
	}
	val, err := valueWriter(h, a)
	if err != nil {
		return err
	}
	for i := range n {
		if m.valid(i) {
			if err := val(i); err != nil {
				return err
			}
		} else {
			h.u8(nullMarker)
		}
	}
	return nil
}

// fixedWidth returns the byte width of types hashed as their raw
// little-endian value buffer.
func fixedWidth(dt arrow.DataType) (int, bool) {
	switch dt.ID() {
	case arrow.INT8, arrow.UINT8:
		return 1, true
	case arrow.INT16, arrow.UINT16, arrow.FLOAT16:
		return 2, true
	case arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32:
		return 4, true
	case arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64,
		arrow.TIMESTAMP, arrow.DURATION:
		return 8, true
	case arrow.DECIMAL128:
		return 16, true
	case arrow.DECIMAL256:
		return 32, true
	}
	return 0, false
}

// fixedBytes returns the value bytes of a's rows if a is a fixed-width
// array.
func fixedBytes(a arrow.Array) ([]byte, bool) {
	w, ok := fixedWidth(a.DataType())
	if !ok {
		return nil, false
	}
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil {
		return nil, a.Len() == 0
	}
	start := d.Offset() * w
	return bufs[1].Bytes()[start : start+d.Len()*w], true
}

// valueWriter returns a function that writes the value of row i of a,
// which the caller has established is valid.
func valueWriter(h *hasher, a arrow.Array) (func(i int) error, error) {
	switch a := a.(type) {
	case *array.Boolean:
		// false is 1, true is 2, so neither collides with the null marker.
		return func(i int) error {
			if a.Value(i) {
				h.u8(2)
			} else {
				h.u8(1)
			}
			return nil
		}, nil
	case *array.String:
		return func(i int) error { s := a.Value(i); h.u64(uint64(len(s))); h.writeString(s); return nil }, nil
	case *array.LargeString:
		return func(i int) error { s := a.Value(i); h.u64(uint64(len(s))); h.writeString(s); return nil }, nil
	case *array.StringView:
		return func(i int) error { s := a.Value(i); h.u64(uint64(len(s))); h.writeString(s); return nil }, nil
	case *array.Binary:
		return func(i int) error { v := a.Value(i); h.u64(uint64(len(v))); h.write(v); return nil }, nil
	case *array.LargeBinary:
		return func(i int) error { v := a.Value(i); h.u64(uint64(len(v))); h.write(v); return nil }, nil
	case *array.BinaryView:
		return func(i int) error { v := a.Value(i); h.u64(uint64(len(v))); h.write(v); return nil }, nil
	case *array.FixedSizeBinary:
		return func(i int) error { v := a.Value(i); h.u64(uint64(len(v))); h.write(v); return nil }, nil
	case *array.Dictionary:
		dict := a.Dictionary()
		inner, err := valueWriter(h, dict)
		if err != nil {
			return nil, err
		}
		// Rows are hashed as the values they stand for; a valid index that
		// points at a null dictionary entry is a null.
		return func(i int) error {
			j := a.GetValueIndex(i)
			if dict.IsNull(j) {
				h.u8(nullMarker)
				return nil
			}
			return inner(j)
		}, nil
	case array.ListLike:
		// List, LargeList and FixedSizeList: the element count as u64, then
		// the elements with their own validity and no type header.
		values := a.ListValues()
		return func(i int) error {
			start, end := a.ValueOffsets(i)
			h.u64(uint64(end - start))
			sub := array.NewSlice(values, start, end)
			defer sub.Release()
			return feed(h, sub, nil)
		}, nil
	}
	if raw, ok := fixedBytes(a); ok {
		w, _ := fixedWidth(a.DataType())
		return func(i int) error { h.write(raw[i*w : (i+1)*w]); return nil }, nil
	}
	return nil, fmt.Errorf("cannot hash array of type %s", a.DataType())
}
