package parquetmeta

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeNaive writes a Parquet file whose timestamp columns are not
// adjusted to UTC, as DuckDB writes TIMESTAMP_MS.
func writeNaive(t *testing.T) (string, []int64) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
		{Name: "system_time", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var ms []int64
	for i := 0; i < 1000; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		v := base.Add(time.Duration(i) * time.Second).UnixMilli()
		ms = append(ms, v)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(v * 1000))
		b.Field(3).(*array.StringBuilder).Append("row")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "x.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, ms
}

func TestAdjustTimestampsToUTC(t *testing.T) {
	path, ms := writeNaive(t)
	before, _ := os.ReadFile(path)
	n, err := AdjustTimestampsToUTC(path)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("changed %d columns, want 2", n)
	}
	after, _ := os.ReadFile(path)
	// The data pages are untouched: everything before the footer is equal.
	_, start, _ := footer(before)
	if !bytes.Equal(before[:start], after[:start]) {
		t.Fatal("bytes before the footer changed")
	}
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range []int{1, 2} {
		col := r.MetaData().Schema.Column(c)
		lt, ok := col.LogicalType().(interface{ IsAdjustedToUTC() bool })
		if !ok || !lt.IsAdjustedToUTC() {
			t.Fatalf("%s: %s", col.Name(), col.LogicalType())
		}
	}
	if ct := r.MetaData().Schema.Column(1).ConvertedType().String(); ct != "TIMESTAMP_MILLIS" {
		t.Fatalf("converted type %s", ct)
	}
	// Arrow reads the values back as UTC milliseconds, unchanged.
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	typ := tbl.Schema().Field(1).Type.(*arrow.TimestampType)
	if typ.Unit != arrow.Millisecond || typ.TimeZone != "UTC" {
		t.Fatalf("system_time reads as %s", typ)
	}
	col := tbl.Column(1).Data().Chunk(0).(*array.Timestamp)
	for i, want := range ms {
		if int64(col.Value(i)) != want {
			t.Fatalf("row %d: %d, want %d", i, col.Value(i), want)
		}
	}
	// A second run finds nothing to change and leaves the file alone.
	if n, err := AdjustTimestampsToUTC(path); err != nil || n != 0 {
		t.Fatalf("second run: %d %v", n, err)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(again, after) {
		t.Fatal("second run changed the file")
	}
}

func TestRoundTripIsExact(t *testing.T) {
	// Decoding and re-encoding an unchanged footer gives the same bytes.
	path, _ := writeNaive(t)
	data, _ := os.ReadFile(path)
	meta, _, err := footer(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{buf: meta}
	v, err := r.read(tStruct)
	if err != nil {
		t.Fatal(err)
	}
	w := &writer{}
	w.write(v)
	if !bytes.Equal(w.buf, meta) {
		t.Fatalf("re-encoded footer differs (%d vs %d bytes)", len(w.buf), len(meta))
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"empty":    {},
		"not":      []byte("hello world, not parquet"),
		"shortlen": append(append([]byte("PAR1"), make([]byte, 8)...), []byte("\xff\xff\xff\x7fPAR1")...),
		"garbage":  append(append([]byte("PAR1xxxx"), []byte{0xff, 0xff, 0xff, 0xff}...), append([]byte{4, 0, 0, 0}, []byte("PAR1")...)...),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o644)
		if _, err := AdjustTimestampsToUTC(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzFooter(f *testing.F) {
	f.Add([]byte{0x15, 0x02, 0x19, 0x1c, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, meta []byte) {
		r := &reader{buf: meta}
		v, err := r.read(tStruct)
		if err != nil {
			return
		}
		w := &writer{}
		w.write(v)
		r2 := &reader{buf: w.buf}
		if _, err := r2.read(tStruct); err != nil {
			t.Fatalf("re-encoded footer does not decode: %v", err)
		}
	})
}

// footer returns the FileMetaData bytes of a whole file and where they
// start.
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
