package parquetmeta

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// Field ids of parquet.thrift used here.
const (
	fileMetaSchema       = 2 // FileMetaData.schema: list<SchemaElement>
	schemaConvertedType  = 6 // SchemaElement.converted_type: ConvertedType
	schemaLogicalType    = 10
	logicalTimestamp     = 8 // LogicalType.TIMESTAMP: TimestampType
	timestampAdjustedUTC = 1 // TimestampType.isAdjustedToUTC
	timestampUnit        = 2 // TimestampType.unit: TimeUnit {1 MILLIS, 2 MICROS, 3 NANOS}

	convertedTimestampMillis = 9
	convertedTimestampMicros = 10
)

var magic = []byte("PAR1")

// AdjustTimestampsToUTC marks every timestamp column of the Parquet file
// at path as adjusted to UTC, with the matching legacy converted type
// (TIMESTAMP_MILLIS, TIMESTAMP_MICROS) so that older readers agree. Only
// the footer changes; the file is replaced through a temporary file and a
// rename. It reports how many columns it changed.
func AdjustTimestampsToUTC(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	meta, start, err := footer(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	r := &reader{buf: meta}
	fm, err := r.read(tStruct)
	if err != nil {
		return 0, fmt.Errorf("%s: footer: %w", path, err)
	}
	if r.pos != len(meta) {
		return 0, fmt.Errorf("%s: footer: %d bytes left after FileMetaData", path, len(meta)-r.pos)
	}
	schema := fm.get(fileMetaSchema)
	if schema == nil || schema.typ != tList {
		return 0, fmt.Errorf("%s: footer has no schema", path)
	}
	changed := 0
	for i := range schema.items {
		el := &schema.items[i]
		lt := el.get(schemaLogicalType)
		if lt == nil {
			continue
		}
		ts := lt.get(logicalTimestamp)
		if ts == nil {
			continue
		}
		adj := ts.get(timestampAdjustedUTC)
		unit := ts.get(timestampUnit)
		if adj == nil || unit == nil || adj.i == 1 {
			continue
		}
		ts.set(timestampAdjustedUTC, value{typ: tTrue, i: 1})
		switch {
		case unit.get(1) != nil:
			el.set(schemaConvertedType, value{typ: tI32, i: convertedTimestampMillis})
		case unit.get(2) != nil:
			el.set(schemaConvertedType, value{typ: tI32, i: convertedTimestampMicros})
		}
		changed++
	}
	if changed == 0 {
		return 0, nil
	}
	w := &writer{buf: make([]byte, 0, len(meta)+16)}
	w.write(fm)
	out := make([]byte, 0, start+len(w.buf)+8)
	out = append(out, data[:start]...)
	out = append(out, w.buf...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(w.buf)))
	out = append(out, magic...)
	return changed, replaceFile(path, out)
}

// footer returns the FileMetaData bytes and where they start.
func footer(data []byte) ([]byte, int, error) {
	if len(data) < 12 || !bytes.Equal(data[:4], magic) || !bytes.Equal(data[len(data)-4:], magic) {
		return nil, 0, fmt.Errorf("not a Parquet file")
	}
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	start := len(data) - 8 - n
	if n <= 0 || start < 4 {
		return nil, 0, fmt.Errorf("Parquet footer length %d is out of range", n)
	}
	return data[start : len(data)-8], start, nil
}

func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-parquet-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
