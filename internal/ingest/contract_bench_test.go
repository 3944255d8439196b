package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/resource"
)

// benchContract is a ten-rule contract over benchSelect's columns.
const benchContract = `apiVersion: ipos.dev/v1alpha1
kind: Contract
metadata: {name: bench}
spec:
  dataset: append
  version: 1.0.0
  columns:
    - {name: id, logicalType: integer, primaryKey: true}
    - {name: region, logicalType: string, allowedValues: [north, south, east, west, centre]}
    - {name: day, logicalType: date, required: true}
    - {name: value, logicalType: number, minimum: 0, maximum: 10001}
    - {name: note, logicalType: string, pattern: "^note [0-9]+$"}
    - {name: flag, logicalType: boolean}
  quality:
    - {metric: nullValues, column: flag, unit: percent, mustBeLessThan: 1}
    - {metric: rowCount, mustBeGreaterThan: 0}
    - {name: no negative values, query: "SELECT count(*) FROM {object} WHERE value < 0", mustBe: 0}
  sla: {latency: 36500d, element: day}
`

// BenchmarkContractCheck10M ingests a 10M-row CSV (IPOS_BENCH_ROWS) with
// Append, then checks the slice against a ten-rule contract (required
// and unique id, allowed regions, required day, value range, note
// pattern, null flags, row count, an SQL rule, freshness) and reports
// the check's time against the ingest's (target < 0.5).
func BenchmarkContractCheck10M(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	dir := b.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	gen, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen.Query(ctx, fmt.Sprintf("COPY (%s) TO '%s' (FORMAT csv, HEADER true)", benchSelect(n, false), csv)); err != nil {
		b.Fatal(err)
	}
	gen.Close()
	objs, err := resource.DefaultRegistry().Parse("bench.yaml", []byte(benchContract))
	if err != nil {
		b.Fatal(err)
	}
	spec := objs[0].Spec.(*resource.ContractSpec)
	plan, err := contract.Compile("bench", spec, contract.SystemColumns(engine.DefaultVocab()))
	if err != nil {
		b.Fatal(err)
	}
	rules := 0
	for _, c := range plan.Checks {
		if c.Metric != "schema" {
			rules++
		}
	}
	for range b.N {
		e := newBenchEnv(b)
		d := e.add(b, "append", "        kind: Append")
		ingest, _ := e.push(b, d, csv, n)
		e.eng.Close()
		files, err := d.DataFiles(ctx)
		if err != nil || len(files) != 1 {
			b.Fatalf("data files %v: %v", files, err)
		}
		start := time.Now()
		rep, err := engine.CheckContract(ctx, engine.DefaultConfig(), engine.ContractRequest{
			Plans: []*contract.Plan{plan}, Slice: files, Now: time.Now(), Samples: 5, Dataset: "append",
		})
		check := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if v := rep.Violations(""); len(v) > 0 || rep.SliceRows != n {
			b.Fatalf("%d rows checked, violations: %v", rep.SliceRows, v)
		}
		ratio := check.Seconds() / ingest.Seconds()
		b.ReportMetric(ingest.Seconds(), "ingest-s")
		b.ReportMetric(check.Seconds(), "check-s")
		b.ReportMetric(ratio, "check/ingest")
		b.Logf("rows=%d rules=%d ingest=%.2fs contract check=%.2fs; contract check / ingest = %.2f (target < 0.5)", n, rules, ingest.Seconds(), check.Seconds(), ratio)
		fmt.Fprintf(os.Stderr, "contract check / ingest = %.2f\n", ratio)
	}
}
