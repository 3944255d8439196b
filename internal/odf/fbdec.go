package odf

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrDecode is wrapped by every error from decoding a malformed block.
var ErrDecode = errors.New("malformed metadata block")

// maxDepth caps table nesting. The schema nests about ten deep; only
// DataType is recursive (List, Map, Option, Struct).
const maxDepth = 64

// Manifest is the envelope around every stored block.
type Manifest struct {
	Kind    int64
	Version int32
	Content []byte
}

// DecodeManifest reads the Manifest envelope.
func DecodeManifest(data []byte) (Manifest, error) {
	r := &reader{buf: data, budget: len(data)}
	root, err := r.root()
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if p, ok, err := root.field(0, 8); err != nil {
		return m, err
	} else if ok {
		m.Kind = int64(binary.LittleEndian.Uint64(data[p:]))
	}
	if p, ok, err := root.field(1, 4); err != nil {
		return m, err
	} else if ok {
		m.Version = int32(binary.LittleEndian.Uint32(data[p:]))
	}
	p, ok, err := root.field(2, 4)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, fmt.Errorf("%w: manifest has no content", ErrDecode)
	}
	if m.Content, err = r.vector(p, 1); err != nil {
		return m, fmt.Errorf("manifest content: %w", err)
	}
	return m, nil
}

// DecodeBlock decodes a stored block (manifest version 2 or 3) and returns
// it with its manifest version.
func DecodeBlock(data []byte) (*MetadataBlock, int32, error) {
	m, err := DecodeManifest(data)
	if err != nil {
		return nil, 0, err
	}
	if m.Kind != CodeODFMetadataBlock {
		return nil, 0, fmt.Errorf("%w: manifest kind is %#x, not a metadata block (%#x)", ErrDecode, m.Kind, CodeODFMetadataBlock)
	}
	switch m.Version {
	case ManifestVersionSequenceNumbers, ManifestVersionStructAlignment:
	default:
		return nil, 0, fmt.Errorf("%w: unsupported manifest version %d (read 2 and 3)", ErrDecode, m.Version)
	}
	r := &reader{buf: m.Content, budget: len(m.Content)}
	root, err := r.root()
	if err != nil {
		return nil, 0, err
	}
	var b MetadataBlock
	if err := r.table(root, reflect.ValueOf(&b).Elem(), 0); err != nil {
		return nil, 0, err
	}
	if b.Event == nil {
		return nil, 0, fmt.Errorf("%w: block has no event", ErrDecode)
	}
	return &b, m.Version, nil
}

// reader decodes a FlatBuffer with every offset checked. budget bounds the
// number of objects decoded, so that a small hostile buffer whose offsets
// point many times at the same table cannot make decoding explode.
type reader struct {
	buf    []byte
	budget int
}

type tableRef struct {
	r      *reader
	pos    int // absolute position of the table
	vt     int // absolute position of its vtable
	vtSize int
}

func (r *reader) errf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
}

func (r *reader) u32(p int) (uint32, error) {
	if p < 0 || p+4 > len(r.buf) {
		return 0, r.errf("offset %d out of bounds (%d bytes)", p, len(r.buf))
	}
	return binary.LittleEndian.Uint32(r.buf[p:]), nil
}

func (r *reader) root() (tableRef, error) {
	off, err := r.u32(0)
	if err != nil {
		return tableRef{}, err
	}
	return r.tableAt(int(off))
}

func (r *reader) spend() error {
	r.budget--
	if r.budget < 0 {
		return r.errf("too many objects for the buffer's size")
	}
	return nil
}

func (r *reader) tableAt(pos int) (tableRef, error) {
	if err := r.spend(); err != nil {
		return tableRef{}, err
	}
	soff, err := r.u32(pos)
	if err != nil {
		return tableRef{}, err
	}
	vt := pos - int(int32(soff))
	if vt < 0 || vt+4 > len(r.buf) {
		return tableRef{}, r.errf("vtable at %d out of bounds", vt)
	}
	vtSize := int(binary.LittleEndian.Uint16(r.buf[vt:]))
	objSize := int(binary.LittleEndian.Uint16(r.buf[vt+2:]))
	if vtSize < 4 || vtSize%2 != 0 || vt+vtSize > len(r.buf) || pos+objSize > len(r.buf) {
		return tableRef{}, r.errf("vtable at %d is malformed", vt)
	}
	return tableRef{r: r, pos: pos, vt: vt, vtSize: vtSize}, nil
}

// field returns the absolute position of a field's inline data of the
// given size, or false when the field is absent.
func (t tableRef) field(slot, size int) (int, bool, error) {
	e := 4 + 2*slot
	if e+2 > t.vtSize {
		return 0, false, nil
	}
	rel := int(binary.LittleEndian.Uint16(t.r.buf[t.vt+e:]))
	if rel == 0 {
		return 0, false, nil
	}
	p := t.pos + rel
	if p+size > len(t.r.buf) {
		return 0, false, t.r.errf("field %d of table at %d out of bounds", slot, t.pos)
	}
	return p, true, nil
}

// indirect follows the uoffset stored at p.
func (r *reader) indirect(p int) (int, error) {
	off, err := r.u32(p)
	if err != nil {
		return 0, err
	}
	q := p + int(off)
	if q >= len(r.buf) || q < p {
		return 0, r.errf("offset at %d points out of bounds", p)
	}
	return q, nil
}

// vector returns the bytes of the vector referenced by the uoffset at p,
// whose elements are elemSize bytes each.
func (r *reader) vector(p, elemSize int) ([]byte, error) {
	q, err := r.indirect(p)
	if err != nil {
		return nil, err
	}
	n, err := r.u32(q)
	if err != nil {
		return nil, err
	}
	start := q + 4
	if uint64(n)*uint64(elemSize) > uint64(len(r.buf)-start) {
		return nil, r.errf("vector at %d claims %d elements, more than the buffer holds", q, n)
	}
	return r.buf[start : start+int(n)*elemSize], nil
}

func (r *reader) str(p int) (string, error) {
	b, err := r.vector(p, 1)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", r.errf("string at %d is not UTF-8", p)
	}
	return string(b), nil
}

// table decodes the table t into the struct v.
func (r *reader) table(t tableRef, v reflect.Value, depth int) error {
	if depth > maxDepth {
		return r.errf("tables nested deeper than %d", maxDepth)
	}
	typ := v.Type()
	for _, f := range modelFields[typ] {
		if err := r.field(t, v.Field(f.index), f, depth); err != nil {
			return fmt.Errorf("%s.%s: %w", typ.Name(), f.name, err)
		}
	}
	return nil
}

func (r *reader) field(t tableRef, v reflect.Value, f fieldInfo, depth int) error {
	typ := v.Type()
	switch {
	case typ == timeType || typ == reflect.PointerTo(timeType):
		p, ok, err := t.field(f.slot, 16)
		if err != nil || !ok {
			return err
		}
		ts, err := r.timestamp(p)
		if err != nil {
			return err
		}
		if typ == timeType {
			v.Set(reflect.ValueOf(ts))
		} else {
			v.Set(reflect.ValueOf(&ts))
		}
		return nil
	case typ.Kind() == reflect.Interface:
		p, ok, err := t.field(f.slot, 1)
		if err != nil || !ok {
			return err
		}
		tag := r.buf[p]
		if tag == 0 {
			return nil
		}
		vp, ok, err := t.field(f.slot+1, 4)
		if err != nil {
			return err
		}
		if !ok {
			return r.errf("union type %d set without a value", tag)
		}
		return r.union(vp, tag, v, depth)
	}

	size := 4
	if k := scalarKind(typ); k != reflect.Invalid {
		size = int(reflect.Zero(scalarType(typ)).Type().Size())
	}
	p, ok, err := t.field(f.slot, size)
	if err != nil || !ok {
		return err
	}

	switch {
	case typ == datasetIDType:
		b, err := r.vector(p, 1)
		if err != nil {
			return err
		}
		id, err := ParseDatasetIDBytes(b)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrDecode, err)
		}
		v.Set(reflect.ValueOf(id))
	case typ == multihashType || typ == bytesType:
		b, err := r.vector(p, 1)
		if err != nil {
			return err
		}
		v.SetBytes(append(make([]byte, 0, len(b)), b...))
	case typ == extraType:
		q, err := r.indirect(p)
		if err != nil {
			return err
		}
		et, err := r.tableAt(q)
		if err != nil {
			return err
		}
		sp, ok, err := et.field(0, 4)
		if err != nil {
			return err
		}
		x := ExtraAttributes{}
		if ok {
			s, err := r.str(sp)
			if err != nil {
				return err
			}
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if err := dec.Decode(&x); err != nil {
				return r.errf("extra attributes are not a JSON object: %v", err)
			}
		}
		v.Set(reflect.ValueOf(x))
	case typ.Kind() == reflect.String:
		s, err := r.str(p)
		if err != nil {
			return err
		}
		v.SetString(s)
	case typ.Kind() == reflect.Pointer && typ.Elem().Kind() == reflect.String:
		s, err := r.str(p)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(&s))
	case typ.Kind() == reflect.Pointer && typ.Elem().Kind() == reflect.Struct:
		q, err := r.indirect(p)
		if err != nil {
			return err
		}
		sub, err := r.tableAt(q)
		if err != nil {
			return err
		}
		nv := reflect.New(typ.Elem())
		if err := r.table(sub, nv.Elem(), depth+1); err != nil {
			return err
		}
		v.Set(nv)
	case typ.Kind() == reflect.Pointer:
		nv := reflect.New(typ.Elem())
		r.scalar(p, nv.Elem())
		v.Set(nv)
	case typ.Kind() == reflect.Struct:
		q, err := r.indirect(p)
		if err != nil {
			return err
		}
		sub, err := r.tableAt(q)
		if err != nil {
			return err
		}
		return r.table(sub, v, depth+1)
	case typ.Kind() == reflect.Slice:
		return r.slice(p, v, depth)
	default:
		r.scalar(p, v)
	}
	return nil
}

func (r *reader) slice(p int, v reflect.Value, depth int) error {
	elems, err := r.vector(p, 4)
	if err != nil {
		return err
	}
	n := len(elems) / 4
	base, err := r.indirect(p)
	if err != nil {
		return err
	}
	base += 4
	out := reflect.MakeSlice(v.Type(), n, n)
	elem := v.Type().Elem()
	for i := 0; i < n; i++ {
		if err := r.spend(); err != nil {
			return err
		}
		ep := base + 4*i
		switch {
		case elem.Kind() == reflect.String:
			s, err := r.str(ep)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			out.Index(i).SetString(s)
		case elem.Kind() == reflect.Struct:
			q, err := r.indirect(ep)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			sub, err := r.tableAt(q)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			if err := r.table(sub, out.Index(i), depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		case isUnion(elem):
			q, err := r.indirect(ep)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			w, err := r.tableAt(q)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			tp, ok, err := w.field(0, 1)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			vp, okv, err := w.field(1, 4)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			if !ok || !okv || r.buf[tp] == 0 {
				return r.errf("[%d]: empty union in a vector", i)
			}
			if err := r.union(vp, r.buf[tp], out.Index(i), depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		default:
			return r.errf("unsupported vector of %s", elem)
		}
	}
	v.Set(out)
	return nil
}

// union decodes the union value referenced at p with type tag into v, an
// interface value.
func (r *reader) union(p int, tag byte, v reflect.Value, depth int) error {
	u := unions[v.Type()]
	if int(tag) > len(u.members) {
		return r.errf("%s has no member %d", u.name, tag)
	}
	m := u.members[tag-1]
	q, err := r.indirect(p)
	if err != nil {
		return err
	}
	sub, err := r.tableAt(q)
	if err != nil {
		return err
	}
	nv := reflect.New(m.typ).Elem()
	if err := r.table(sub, nv, depth+1); err != nil {
		return fmt.Errorf("%s: %w", m.name, err)
	}
	v.Set(nv)
	return nil
}

func scalarKind(t reflect.Type) reflect.Kind {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return t.Kind()
	}
	return reflect.Invalid
}

func scalarType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

func (r *reader) scalar(p int, v reflect.Value) {
	b := r.buf[p:]
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(b[0] != 0)
	case reflect.Int16:
		v.SetInt(int64(int16(binary.LittleEndian.Uint16(b))))
	case reflect.Int32:
		v.SetInt(int64(int32(binary.LittleEndian.Uint32(b))))
	case reflect.Int64:
		v.SetInt(int64(binary.LittleEndian.Uint64(b)))
	case reflect.Uint8:
		v.SetUint(uint64(b[0]))
	case reflect.Uint32:
		v.SetUint(uint64(binary.LittleEndian.Uint32(b)))
	case reflect.Uint64:
		v.SetUint(binary.LittleEndian.Uint64(b))
	}
}

// timestamp reads struct Timestamp at p. Byte-wise reads make the
// unaligned version-2 layout read the same way.
func (r *reader) timestamp(p int) (time.Time, error) {
	b := r.buf[p:]
	year := int(int32(binary.LittleEndian.Uint32(b)))
	ordinal := int(binary.LittleEndian.Uint16(b[4:]))
	secs := int64(binary.LittleEndian.Uint32(b[8:]))
	nanos := int64(binary.LittleEndian.Uint32(b[12:]))
	if ordinal < 1 || ordinal > 366 || secs >= 86400 || nanos >= 1e9 {
		return time.Time{}, r.errf("timestamp at %d is not a valid date and time", p)
	}
	return time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC).
		AddDate(0, 0, ordinal-1).
		Add(time.Duration(secs)*time.Second + time.Duration(nanos)), nil
}
