package parquetmeta

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
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
// the footer is read and rewritten, in place: the file is cut where the
// footer began and the new footer written there, so the data pages are
// neither read nor copied. It is meant for a file the caller has just
// written and not yet published; a crash midway leaves a broken file, not a
// wrong one. It reports how many columns it changed.
func AdjustTimestampsToUTC(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	meta, start, err := readFooter(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	out, changed, err := adjust(meta)
	if err != nil {
		return 0, fmt.Errorf("%s: footer: %w", path, err)
	}
	if changed == 0 {
		return 0, nil
	}
	tail := binary.LittleEndian.AppendUint32(out, uint32(len(out)))
	tail = append(tail, magic...)
	if err := f.Truncate(start); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(tail, start); err != nil {
		return 0, err
	}
	return changed, f.Close()
}

// adjust rewrites a FileMetaData, returning the new bytes and how many
// timestamp columns it marked.
func adjust(meta []byte) ([]byte, int, error) {
	r := &reader{buf: meta}
	fm, err := r.read(tStruct)
	if err != nil {
		return nil, 0, err
	}
	if r.pos != len(meta) {
		return nil, 0, fmt.Errorf("%d bytes left after FileMetaData", len(meta)-r.pos)
	}
	schema := fm.get(fileMetaSchema)
	if schema == nil || schema.typ != tList {
		return nil, 0, fmt.Errorf("no schema")
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
	w := &writer{buf: make([]byte, 0, len(meta)+16)}
	w.write(fm)
	return w.buf, changed, nil
}

// readFooter reads the FileMetaData of an open Parquet file and returns it
// with the offset where it starts.
func readFooter(f *os.File) ([]byte, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	if size < 12 {
		return nil, 0, fmt.Errorf("not a Parquet file")
	}
	head := make([]byte, 4)
	end := make([]byte, 8)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, 0, err
	}
	if _, err := f.ReadAt(end, size-8); err != nil {
		return nil, 0, err
	}
	if !bytes.Equal(head, magic) || !bytes.Equal(end[4:], magic) {
		return nil, 0, fmt.Errorf("not a Parquet file")
	}
	n := int64(binary.LittleEndian.Uint32(end))
	start := size - 8 - n
	if n <= 0 || start < 4 {
		return nil, 0, fmt.Errorf("Parquet footer length %d is out of range", n)
	}
	meta := make([]byte, n)
	if _, err := f.ReadAt(meta, start); err != nil {
		return nil, 0, err
	}
	return meta, start, nil
}
