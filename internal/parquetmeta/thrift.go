package parquetmeta

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Thrift compact protocol types.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

var errThrift = errors.New("malformed Thrift compact data")

// value is one decoded Thrift value. Which fields are set depends on typ.
type value struct {
	typ    byte
	i      int64   // bool (1/0), byte, i16, i32, i64, double bits
	b      []byte  // binary
	fields []field // struct
	elem   byte    // list/set element type; map key type
	velem  byte    // map value type
	items  []value // list/set elements; map keys and values interleaved
}

type field struct {
	id int16
	v  value
}

type reader struct {
	buf   []byte
	pos   int
	depth int
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, fmt.Errorf("%w: truncated", errThrift)
	}
	c := r.buf[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad varint", errThrift)
	}
	r.pos += n
	return v, nil
}

func (r *reader) zigzag() (int64, error) {
	u, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

func (r *reader) read(typ byte) (value, error) {
	v := value{typ: typ}
	var err error
	switch typ {
	case tTrue, tFalse:
		// Only inside collections: a byte, 1 for true.
		c, err := r.byte()
		if err != nil {
			return v, err
		}
		v.typ, v.i = tTrue, boolInt(c == tTrue)
	case tByte:
		c, err := r.byte()
		v.i = int64(int8(c))
		return v, err
	case tI16, tI32, tI64:
		v.i, err = r.zigzag()
	case tDouble:
		if r.pos+8 > len(r.buf) {
			return v, fmt.Errorf("%w: truncated double", errThrift)
		}
		v.i = int64(binary.LittleEndian.Uint64(r.buf[r.pos:]))
		r.pos += 8
	case tBinary:
		n, err := r.uvarint()
		if err != nil {
			return v, err
		}
		if n > uint64(len(r.buf)-r.pos) {
			return v, fmt.Errorf("%w: binary longer than the data", errThrift)
		}
		v.b = r.buf[r.pos : r.pos+int(n)]
		r.pos += int(n)
	case tList, tSet:
		h, err := r.byte()
		if err != nil {
			return v, err
		}
		n := uint64(h >> 4)
		v.elem = h & 0x0f
		if n == 15 {
			if n, err = r.uvarint(); err != nil {
				return v, err
			}
		}
		if n > uint64(len(r.buf)-r.pos) {
			return v, fmt.Errorf("%w: list longer than the data", errThrift)
		}
		for i := uint64(0); i < n; i++ {
			item, err := r.nested(v.elem)
			if err != nil {
				return v, err
			}
			v.items = append(v.items, item)
		}
	case tMap:
		n, err := r.uvarint()
		if err != nil {
			return v, err
		}
		if n == 0 {
			return v, nil
		}
		if n > uint64(len(r.buf)-r.pos) {
			return v, fmt.Errorf("%w: map longer than the data", errThrift)
		}
		kv, err := r.byte()
		if err != nil {
			return v, err
		}
		v.elem, v.velem = kv>>4, kv&0x0f
		for i := uint64(0); i < n; i++ {
			k, err := r.nested(v.elem)
			if err != nil {
				return v, err
			}
			val, err := r.nested(v.velem)
			if err != nil {
				return v, err
			}
			v.items = append(v.items, k, val)
		}
	case tStruct:
		v.fields, err = r.structFields()
	default:
		return v, fmt.Errorf("%w: unknown type %d", errThrift, typ)
	}
	return v, err
}

func (r *reader) nested(typ byte) (value, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 64 {
		return value{}, fmt.Errorf("%w: nested too deep", errThrift)
	}
	return r.read(typ)
}

func (r *reader) structFields() ([]field, error) {
	var fields []field
	var last int16
	for {
		h, err := r.byte()
		if err != nil {
			return nil, err
		}
		typ := h & 0x0f
		if typ == tStop {
			return fields, nil
		}
		id := last + int16(h>>4)
		if h>>4 == 0 {
			z, err := r.zigzag()
			if err != nil {
				return nil, err
			}
			id = int16(z)
		}
		last = id
		var v value
		if typ == tTrue || typ == tFalse {
			v = value{typ: tTrue, i: boolInt(typ == tTrue)}
		} else if v, err = r.nested(typ); err != nil {
			return nil, err
		}
		fields = append(fields, field{id: id, v: v})
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

type writer struct{ buf []byte }

func (w *writer) uvarint(u uint64) { w.buf = binary.AppendUvarint(w.buf, u) }
func (w *writer) zigzag(i int64)   { w.uvarint(uint64((i << 1) ^ (i >> 63))) }

func (w *writer) write(v value) {
	switch v.typ {
	case tTrue:
		// Inside collections a boolean is a byte: 1 true, 2 false.
		if v.i == 1 {
			w.buf = append(w.buf, tTrue)
		} else {
			w.buf = append(w.buf, tFalse)
		}
	case tByte:
		w.buf = append(w.buf, byte(v.i))
	case tI16, tI32, tI64:
		w.zigzag(v.i)
	case tDouble:
		w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(v.i))
	case tBinary:
		w.uvarint(uint64(len(v.b)))
		w.buf = append(w.buf, v.b...)
	case tList, tSet:
		n := len(v.items)
		if n < 15 {
			w.buf = append(w.buf, byte(n)<<4|v.elem)
		} else {
			w.buf = append(w.buf, 0xf0|v.elem)
			w.uvarint(uint64(n))
		}
		for _, it := range v.items {
			w.write(it)
		}
	case tMap:
		w.uvarint(uint64(len(v.items) / 2))
		if len(v.items) > 0 {
			w.buf = append(w.buf, v.elem<<4|v.velem)
		}
		for _, it := range v.items {
			w.write(it)
		}
	case tStruct:
		w.structFields(v.fields)
	}
}

func (w *writer) structFields(fields []field) {
	var last int16
	for _, f := range fields {
		typ := f.v.typ
		if typ == tTrue {
			typ = tFalse
			if f.v.i == 1 {
				typ = tTrue
			}
		}
		if d := int(f.id) - int(last); d > 0 && d <= 15 {
			w.buf = append(w.buf, byte(d)<<4|typ)
		} else {
			w.buf = append(w.buf, typ)
			w.zigzag(int64(f.id))
		}
		last = f.id
		if typ == tTrue || typ == tFalse {
			continue // the value is in the header
		}
		w.write(f.v)
	}
	w.buf = append(w.buf, tStop)
}

func (v *value) get(id int16) *value {
	for i := range v.fields {
		if v.fields[i].id == id {
			return &v.fields[i].v
		}
	}
	return nil
}

// set replaces or inserts field id, keeping fields in id order.
func (v *value) set(id int16, x value) {
	for i := range v.fields {
		if v.fields[i].id == id {
			v.fields[i].v = x
			return
		}
		if v.fields[i].id > id {
			v.fields = append(v.fields[:i], append([]field{{id, x}}, v.fields[i:]...)...)
			return
		}
	}
	v.fields = append(v.fields, field{id, x})
}
