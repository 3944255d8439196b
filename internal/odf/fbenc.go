package odf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	flatbuffers "github.com/google/flatbuffers/go"
)

// Manifest versions. Version 3 aligns the Timestamp struct to 4 bytes;
// version 2 blocks were written with it unaligned (kamu issue 1084). Both
// are read; only version 3 is written.
const (
	ManifestVersionSequenceNumbers = 2
	ManifestVersionStructAlignment = 3
	ManifestVersion                = ManifestVersionStructAlignment
)

// ErrEncode is wrapped by errors from encoding a block that the model
// cannot express (a required union left nil …).
var ErrEncode = errors.New("cannot encode block")

// EncodeBlock serialises a block as a Manifest-wrapped FlatBuffer, manifest
// version 3, byte-identical to what kamu writes for the same block.
func EncodeBlock(b *MetadataBlock) ([]byte, error) {
	return encodeBlockVersion(b, ManifestVersion)
}

func encodeBlockVersion(b *MetadataBlock, version int32) ([]byte, error) {
	e := &encoder{b: flatbuffers.NewBuilder(512), unalignedTimestamps: version < ManifestVersionStructAlignment}
	root, err := e.table(reflect.ValueOf(b).Elem())
	if err != nil {
		return nil, err
	}
	e.b.Finish(root)
	return wrapManifest(e.b.FinishedBytes(), CodeODFMetadataBlock, version), nil
}

// wrapManifest wraps a finished FlatBuffer in table Manifest
// {kind: int64, version: int32, content: [ubyte]}.
func wrapManifest(content []byte, kind int64, version int32) []byte {
	b := flatbuffers.NewBuilder(len(content) + 64)
	c := b.CreateByteVector(content)
	b.StartObject(3)
	b.PrependInt64Slot(0, kind, 0)
	b.PrependInt32Slot(1, version, 0)
	b.PrependUOffsetTSlot(2, c, 0)
	b.Finish(b.EndObject())
	return b.FinishedBytes()
}

type encoder struct {
	b                   *flatbuffers.Builder
	unalignedTimestamps bool
}

// table writes a struct as a FlatBuffers table the way kamu's serialiser
// does: first every child object (strings, vectors, sub-tables) depth-first
// in field order, then the fields themselves in field order.
func (e *encoder) table(v reflect.Value) (flatbuffers.UOffsetT, error) {
	t := v.Type()
	fields := modelFields[t]
	offsets := make([]flatbuffers.UOffsetT, len(fields))
	for i, f := range fields {
		off, err := e.child(v.Field(f.index), f)
		if err != nil {
			return 0, fmt.Errorf("%s.%s: %w", t.Name(), f.name, err)
		}
		offsets[i] = off
	}
	e.b.StartObject(slotCount(t))
	for i, f := range fields {
		if err := e.field(v.Field(f.index), f, offsets[i]); err != nil {
			return 0, fmt.Errorf("%s.%s: %w", t.Name(), f.name, err)
		}
	}
	return e.b.EndObject(), nil
}

// child writes the out-of-line part of a field, if it has one, and returns
// its offset (0 when the field is absent or inline).
func (e *encoder) child(v reflect.Value, f fieldInfo) (flatbuffers.UOffsetT, error) {
	t := v.Type()
	switch {
	case t == timeType || t == reflect.PointerTo(timeType):
		return 0, nil
	case t == datasetIDType:
		id := v.Interface().(DatasetID)
		return e.b.CreateByteVector(id.Bytes()), nil
	case t == multihashType || t == bytesType:
		if v.IsNil() && f.opt {
			return 0, nil
		}
		return e.b.CreateByteVector(v.Bytes()), nil
	case t == extraType:
		if v.IsNil() && f.opt {
			return 0, nil
		}
		return e.extra(v.Interface().(ExtraAttributes))
	}
	switch t.Kind() {
	case reflect.String:
		return e.b.CreateString(v.String()), nil
	case reflect.Pointer:
		if v.IsNil() {
			return 0, nil
		}
		switch t.Elem().Kind() {
		case reflect.String:
			return e.b.CreateString(v.Elem().String()), nil
		case reflect.Struct:
			return e.table(v.Elem())
		}
		return 0, nil // optional scalar: inline
	case reflect.Struct:
		return e.table(v)
	case reflect.Interface:
		if v.IsNil() {
			return 0, nil
		}
		return e.table(v.Elem())
	case reflect.Slice:
		if v.IsNil() && f.opt {
			return 0, nil
		}
		return e.vector(v)
	}
	return 0, nil
}

func (e *encoder) vector(v reflect.Value) (flatbuffers.UOffsetT, error) {
	n := v.Len()
	elem := v.Type().Elem()
	offs := make([]flatbuffers.UOffsetT, n)
	for i := 0; i < n; i++ {
		var err error
		switch {
		case elem.Kind() == reflect.String:
			offs[i] = e.b.CreateString(v.Index(i).String())
		case elem.Kind() == reflect.Struct:
			offs[i], err = e.table(v.Index(i))
		case isUnion(elem):
			offs[i], err = e.wrapper(v.Index(i))
		default:
			err = fmt.Errorf("%w: unsupported vector of %s", ErrEncode, elem)
		}
		if err != nil {
			return 0, fmt.Errorf("[%d]: %w", i, err)
		}
	}
	e.b.StartVector(4, n, 4)
	for i := n - 1; i >= 0; i-- {
		e.b.PrependUOffsetT(offs[i])
	}
	return e.b.EndVector(n), nil
}

// wrapper writes one element of a vector of unions as the wrapper table
// the schema defines for it ({value: Union}).
func (e *encoder) wrapper(v reflect.Value) (flatbuffers.UOffsetT, error) {
	if v.IsNil() {
		return 0, fmt.Errorf("%w: nil element in a vector of %s", ErrEncode, v.Type())
	}
	tag, ok := unions[v.Type()].tagOf(v.Elem().Type())
	if !ok {
		return 0, fmt.Errorf("%w: %s is not a member of %s", ErrEncode, v.Elem().Type(), v.Type())
	}
	val, err := e.table(v.Elem())
	if err != nil {
		return 0, err
	}
	e.b.StartObject(2)
	e.b.PrependByteSlot(0, tag, 0)
	e.b.PrependUOffsetTSlot(1, val, 0)
	return e.b.EndObject(), nil
}

// extra writes ExtraAttributes as table {entries: string} holding compact
// JSON with sorted keys and no HTML escaping, as serde_json writes it.
func (e *encoder) extra(x ExtraAttributes) (flatbuffers.UOffsetT, error) {
	js, err := extraJSON(x)
	if err != nil {
		return 0, err
	}
	s := e.b.CreateByteString(js)
	e.b.StartObject(1)
	e.b.PrependUOffsetTSlot(0, s, 0)
	return e.b.EndObject(), nil
}

func extraJSON(x ExtraAttributes) ([]byte, error) {
	if x == nil {
		x = ExtraAttributes{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(x)); err != nil {
		return nil, fmt.Errorf("%w: extra attributes: %v", ErrEncode, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// field adds one field to the table under construction.
func (e *encoder) field(v reflect.Value, f fieldInfo, off flatbuffers.UOffsetT) error {
	t := v.Type()
	b := e.b
	switch {
	case t == timeType:
		e.timestamp(v.Interface().(time.Time))
		b.Slot(f.slot)
		return nil
	case t == reflect.PointerTo(timeType):
		if !v.IsNil() {
			e.timestamp(*v.Interface().(*time.Time))
			b.Slot(f.slot)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		tag, ok := unions[t].tagOf(v.Elem().Type())
		if !ok {
			return fmt.Errorf("%w: %s is not a member of %s", ErrEncode, v.Elem().Type(), t)
		}
		b.PrependByteSlot(f.slot, tag, 0)
		b.PrependUOffsetTSlot(f.slot+1, off, 0)
		return nil
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if k := t.Elem().Kind(); k == reflect.String || k == reflect.Struct {
			b.PrependUOffsetTSlot(f.slot, off, 0)
			return nil
		}
		// An optional scalar is written whenever it is set, even when it
		// equals the type's zero.
		e.scalar(v.Elem())
		b.Slot(f.slot)
		return nil
	case reflect.Bool, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		if !v.IsZero() {
			e.scalar(v)
			b.Slot(f.slot)
		}
		return nil
	}
	if off != 0 {
		b.PrependUOffsetTSlot(f.slot, off, 0)
	}
	return nil
}

func (e *encoder) scalar(v reflect.Value) {
	b := e.b
	switch v.Kind() {
	case reflect.Bool:
		b.PrependBool(v.Bool())
	case reflect.Int16:
		b.PrependInt16(int16(v.Int()))
	case reflect.Int32:
		b.PrependInt32(int32(v.Int()))
	case reflect.Int64:
		b.PrependInt64(v.Int())
	case reflect.Uint8:
		b.PrependByte(byte(v.Uint()))
	case reflect.Uint32:
		b.PrependUint32(uint32(v.Uint()))
	case reflect.Uint64:
		b.PrependUint64(v.Uint())
	}
}

// timestamp writes struct Timestamp {year: int32; ordinal: uint16;
// seconds_from_midnight: uint32; nanoseconds: uint32}: 16 bytes with two
// padding bytes after ordinal, aligned to 4 (version 3) or, as kamu wrote
// version 2, not aligned at all.
func (e *encoder) timestamp(t time.Time) {
	t = t.UTC()
	year := int32(t.Year())
	ordinal := uint16(t.YearDay())
	secs := uint32(t.Hour()*3600 + t.Minute()*60 + t.Second())
	nanos := uint32(t.Nanosecond())
	b := e.b
	if e.unalignedTimestamps {
		b.Prep(1, 16)
		b.PlaceUint32(nanos)
		b.PlaceUint32(secs)
		b.PlaceUint16(0)
		b.PlaceUint16(ordinal)
		b.PlaceInt32(year)
		return
	}
	b.Prep(4, 16)
	b.PrependUint32(nanos)
	b.PrependUint32(secs)
	b.Pad(2)
	b.PrependUint16(ordinal)
	b.PrependInt32(year)
}
