package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// BenchmarkIngestCSV1M reads a 1M-row CSV and merges it with Append,
// and reports the time of a raw DuckDB CSV→Parquet COPY of the same file
// as the baseline (metric raw-copy-ms) so the ratio is measured in one run.
func BenchmarkIngestCSV1M(b *testing.B) {
	e := openTest(b)
	ctx := context.Background()
	dir := b.TempDir()
	csv := filepath.Join(dir, "big.csv")
	var sb strings.Builder
	sb.WriteString("event_time,id,name,value\n")
	for i := 0; i < 1_000_000; i++ {
		fmt.Fprintf(&sb, "2020-01-%02d %02d:%02d:%02d,%d,name-%d,%d.%02d\n", 1+i%28, i%24, i%60, (i/60)%60, i, i%1000, i%100000, i%100)
	}
	if err := os.WriteFile(csv, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	step := odf.ReadStepCsv{Header: ptr(true), DDLSchema: []string{"event_time TIMESTAMP, id BIGINT, name STRING, value DOUBLE"}}
	var raw time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		table := fmt.Sprintf("in%d", i)
		if err := e.ReadFiles(ctx, table, step, []string{csv}); err != nil {
			b.Fatal(err)
		}
		res, err := e.Merge(ctx, MergeRequest{New: table, Strategy: odf.MergeStrategyAppend{}, Vocab: DefaultVocab(),
			SystemTime: time.Now(), Out: filepath.Join(dir, fmt.Sprintf("out%d.parquet", i))})
		if err != nil || res.Rows != 1_000_000 {
			b.Fatal(err, res.Rows)
		}
		e.drop(table)
		b.StopTimer()
		start := time.Now()
		if err := e.exec(ctx, fmt.Sprintf("COPY (SELECT * FROM read_csv(%s)) TO %s (FORMAT parquet)", quoteLit(csv), quoteLit(filepath.Join(dir, "raw.parquet")))); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(raw.Milliseconds())/float64(b.N), "raw-copy-ms")
}
