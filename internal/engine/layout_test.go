package engine

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/ipos-dev/ipos/internal/odf"
)

// TestParquetLayoutLikeKamu checks the physical schema of a written slice
// against what kamu writes: offset INT64, op INT32, and the system and
// event times (and a user timestamp) as INT64 TIMESTAMP(MILLIS,
// isAdjustedToUTC=true), in that order, values in epoch milliseconds.
func TestParquetLayoutLikeKamu(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	f := writeFile(t, dir, "in.csv", "when,city,seen\n2026-01-02,kyiv,2026-01-02T03:04:05.678Z\n")
	ms := odf.TimeUnitMillisecond
	utc := "UTC"
	if err := e.ReadFiles(ctx, "in", odf.ReadStepCsv{Header: ptr(true), Schema: &odf.DataSchema{Fields: []odf.DataField{
		{Name: "when", Type: odf.DataTypeDate{}},
		{Name: "city", Type: odf.DataTypeString{}},
		{Name: "seen", Type: odf.DataTypeTimestamp{Unit: &ms, Timezone: &utc}},
	}}}, []string{f}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.parquet")
	sys := time.Date(2026, 11, 1, 12, 0, 0, 123_456_789, time.UTC)
	v := DefaultVocab()
	v.EventTime = "when"
	if _, err := e.Merge(ctx, MergeRequest{New: "in", Strategy: odf.MergeStrategyAppend{}, Vocab: v, SystemTime: sys, Out: out}); err != nil {
		t.Fatal(err)
	}
	r, err := file.OpenParquetFile(out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := []struct{ name, physical, logical string }{
		{"offset", "INT64", "Int(bitWidth=64, isSigned=true)"},
		{"op", "INT32", "Int(bitWidth=32, isSigned=true)"},
		{"system_time", "INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)"},
		{"when", "INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)"},
		{"city", "BYTE_ARRAY", "String"},
		{"seen", "INT64", "Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)"},
	}
	s := r.MetaData().Schema
	if s.NumColumns() != len(want) {
		t.Fatalf("%d columns", s.NumColumns())
	}
	for i, w := range want {
		c := s.Column(i)
		if c.Name() != w.name || c.PhysicalType().String() != w.physical || c.LogicalType().String() != w.logical {
			t.Errorf("column %d: %s %s %s, want %s %s %s", i, c.Name(), c.PhysicalType(), c.LogicalType(), w.name, w.physical, w.logical)
		}
	}
	res, err := e.Query(ctx, "SELECT epoch_ms(system_time), epoch_ms(\"when\"), epoch_ms(seen) FROM read_parquet('"+out+"')")
	if err != nil {
		t.Fatal(err)
	}
	got := res.Rows[0]
	if got[0].(int64) != sys.Truncate(time.Millisecond).UnixMilli() ||
		got[1].(int64) != time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC).UnixMilli() ||
		got[2].(int64) != time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC).UnixMilli() {
		t.Fatalf("values %v", got)
	}
}
