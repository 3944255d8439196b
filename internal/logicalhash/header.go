package logicalhash

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Type identifiers of the arrow-digest V0 layout, written as little-endian
// u16 at the start of every column's stream. They follow the numbering of
// Arrow's Schema.fbs type union.
const (
	typeInt       uint16 = 1
	typeFloat     uint16 = 2
	typeBinary    uint16 = 3
	typeUtf8      uint16 = 4
	typeBool      uint16 = 5
	typeDecimal   uint16 = 6
	typeDate      uint16 = 7
	typeTime      uint16 = 8
	typeTimestamp uint16 = 9
	typeList      uint16 = 11
	typeDuration  uint16 = 17
)

// Date unit identifiers (u16).
const (
	dateUnitDay         uint16 = 0
	dateUnitMillisecond uint16 = 1
)

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func timeUnitID(u arrow.TimeUnit) (uint16, error) {
	switch u {
	case arrow.Second:
		return 0, nil
	case arrow.Millisecond:
		return 1, nil
	case arrow.Microsecond:
		return 2, nil
	case arrow.Nanosecond:
		return 3, nil
	}
	return 0, fmt.Errorf("unknown time unit %v", u)
}

// appendType appends the type header of dt. Encoding-only differences
// (32- vs 64-bit offsets, views, fixed widths, dictionary encoding) are not
// part of the header, so they do not change the hash.
func appendType(b []byte, dt arrow.DataType) ([]byte, error) {
	intType := func(signed bool, bits uint64) []byte {
		b = le16(b, typeInt)
		if signed {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		return le64(b, bits)
	}
	switch t := dt.(type) {
	case *arrow.Int8Type:
		return intType(true, 8), nil
	case *arrow.Int16Type:
		return intType(true, 16), nil
	case *arrow.Int32Type:
		return intType(true, 32), nil
	case *arrow.Int64Type:
		return intType(true, 64), nil
	case *arrow.Uint8Type:
		return intType(false, 8), nil
	case *arrow.Uint16Type:
		return intType(false, 16), nil
	case *arrow.Uint32Type:
		return intType(false, 32), nil
	case *arrow.Uint64Type:
		return intType(false, 64), nil
	case *arrow.Float16Type:
		return le64(le16(b, typeFloat), 16), nil
	case *arrow.Float32Type:
		return le64(le16(b, typeFloat), 32), nil
	case *arrow.Float64Type:
		return le64(le16(b, typeFloat), 64), nil
	case *arrow.BooleanType:
		return le16(b, typeBool), nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return le16(b, typeUtf8), nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return le16(b, typeBinary), nil
	case *arrow.Decimal128Type:
		b = le64(le16(b, typeDecimal), 128)
		b = le64(b, uint64(int64(t.Precision)))
		return le64(b, uint64(int64(t.Scale))), nil
	case *arrow.Decimal256Type:
		b = le64(le16(b, typeDecimal), 256)
		b = le64(b, uint64(int64(t.Precision)))
		return le64(b, uint64(int64(t.Scale))), nil
	case *arrow.Date32Type:
		return le16(le64(le16(b, typeDate), 32), dateUnitDay), nil
	case *arrow.Date64Type:
		return le16(le64(le16(b, typeDate), 64), dateUnitMillisecond), nil
	case *arrow.Time32Type:
		u, err := timeUnitID(t.Unit)
		if err != nil {
			return nil, err
		}
		return le16(le64(le16(b, typeTime), 32), u), nil
	case *arrow.Time64Type:
		u, err := timeUnitID(t.Unit)
		if err != nil {
			return nil, err
		}
		return le16(le64(le16(b, typeTime), 64), u), nil
	case *arrow.TimestampType:
		u, err := timeUnitID(t.Unit)
		if err != nil {
			return nil, err
		}
		b = le16(le16(b, typeTimestamp), u)
		if t.TimeZone == "" {
			// arrow-digest marks an absent zone with one zero byte; a
			// present one is a u64 length and the UTF-8 name.
			return append(b, 0), nil
		}
		b = le64(b, uint64(len(t.TimeZone)))
		return append(b, t.TimeZone...), nil
	case *arrow.DurationType:
		// arrow-digest has no Duration layout (it panics); the unit is our
		// addition so that 5 s and 5 ms hash differently. See doc.go.
		u, err := timeUnitID(t.Unit)
		if err != nil {
			return nil, err
		}
		return le16(le16(b, typeDuration), u), nil
	case *arrow.ListType:
		return appendListType(b, t.Elem())
	case *arrow.LargeListType:
		return appendListType(b, t.Elem())
	case *arrow.FixedSizeListType:
		return appendListType(b, t.Elem())
	case *arrow.DictionaryType:
		switch t.ValueType.ID() {
		case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.STRUCT, arrow.DICTIONARY:
			return nil, fmt.Errorf("dictionary of %s is not supported", t.ValueType)
		}
		return appendType(b, t.ValueType)
	case *arrow.StructType:
		return nil, fmt.Errorf("struct is only supported as a column, not inside a list")
	}
	return nil, fmt.Errorf("type %s is not supported by arrow-digest V0", dt)
}

func appendListType(b []byte, elem arrow.DataType) ([]byte, error) {
	return appendType(le16(b, typeList), elem)
}
