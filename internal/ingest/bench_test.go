package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// benchRows is the size of BenchmarkIngestCSV10M's CSV; IPOS_BENCH_ROWS
// overrides it for quick local runs.
func benchRows(b *testing.B) int64 {
	n := int64(10_000_000)
	if s := os.Getenv("IPOS_BENCH_ROWS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1000 {
			b.Fatalf("IPOS_BENCH_ROWS=%q: want a row count of at least 1000", s)
		}
		n = v
	}
	return n
}

// benchSelect generates the benchmark rows from range(n) t(i): about 50
// bytes a row, ids in input order, a day per 10,000 rows so the event
// time rises with the input. For the Snapshot diff (diff true) row i is
// removed when i%200 == 7, changed (value) when i%100 == 3 and n/200 rows
// are added after the last id: ~1% changed, 0.5% removed, 0.5% added.
func benchSelect(n int64, diff bool) string {
	value := "round((i * 7919 % 1000003) / 100.0, 2)"
	from := fmt.Sprintf("range(%d) t(i)", n)
	if diff {
		value = fmt.Sprintf("CASE WHEN i %% 100 = 3 THEN %s + 1 ELSE %s END", value, value)
		from = fmt.Sprintf("(SELECT i FROM range(%d) t(i) WHERE i %% 200 <> 7 OR i >= %d) t", n+n/200, n)
	}
	return fmt.Sprintf(`SELECT i AS id,
	['north', 'south', 'east', 'west', 'centre'][i %% 5 + 1] AS region,
	DATE '2020-01-01' + CAST(i // 10000 AS INTEGER) AS day,
	%s AS value,
	i %% 3 = 0 AS flag,
	'note ' || (i * 31 %% 100003) AS note
FROM %s`, value, from)
}

const benchManifest = `
kind: DatasetSnapshot
version: 1
content:
  name: %s
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: Csv
        header: true
        schema:
          fields:
            - { name: id, type: Int64 }
            - { name: region, type: String }
            - { name: day, type: Date }
            - { name: value, type: Float64 }
            - { name: flag, type: Bool }
            - { name: note, type: String }
      merge:
%s
    - kind: SetVocab
      eventTimeColumn: day
`

// benchEnv is a fresh workspace and engine, as one `ipos` process has.
type benchEnv struct {
	ctx context.Context
	w   *workspace.Workspace
	eng *engine.Engine
	in  *Ingester
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	w, err := workspace.Init(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	clock := t0
	in := New(eng, Options{
		BaseDir:    w.Root,
		ScratchDir: filepath.Join(w.Dir(), "tmp"),
		Now:        func() time.Time { clock = clock.Add(time.Minute); return clock },
	})
	return &benchEnv{ctx: ctx, w: w, eng: eng, in: in}
}

func (e *benchEnv) add(b *testing.B, name, merge string) *dataset.Dataset {
	b.Helper()
	snaps, err := odf.ParseSnapshots("bench.yaml", []byte(fmt.Sprintf(benchManifest, name, merge)))
	if err != nil {
		b.Fatal(err)
	}
	made, err := e.w.AddDatasets(e.ctx, snaps, t0)
	if err != nil {
		b.Fatal(err)
	}
	return made[0]
}

// push times one Push of file, in wall and CPU seconds, and checks the
// rows committed.
func (e *benchEnv) push(b *testing.B, d *dataset.Dataset, file string, wantRows int64) (time.Duration, float64) {
	b.Helper()
	start, cpu := time.Now(), cpuSeconds()
	r, err := e.in.Push(e.ctx, d, "", []string{file}, filepath.Base(file))
	took, cpu := time.Since(start), cpuSeconds()-cpu
	if err != nil {
		b.Fatal(err)
	}
	if r == nil || r.Rows != wantRows {
		b.Fatalf("push %s: %+v, want %d rows", filepath.Base(file), r, wantRows)
	}
	return took, cpu
}

// BenchmarkIngestCSV10M ingests a 10M-row CSV (IPOS_BENCH_ROWS) and
// reports the times against a raw DuckDB CSV→Parquet COPY of the same file
// measured in the same run: Append (target ≤1.5× raw, hashing and commit
// included) and Snapshot, both the first push (all +A) and a second push
// with ~2% of rows differing (target ≤3×). The targets are wall-time
// ratios; the same ratios in process CPU time (…-cpu/raw) are reported
// too, as they move less when other work shares the machine.
func BenchmarkIngestCSV10M(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	dir := b.TempDir()
	csv := filepath.Join(dir, "rows.csv")
	csv2 := filepath.Join(dir, "rows2.csv")
	gen, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, f := range []struct {
		path string
		diff bool
	}{{csv, false}, {csv2, true}} {
		q := fmt.Sprintf("COPY (%s) TO '%s' (FORMAT csv, HEADER true)", benchSelect(n, f.diff), f.path)
		if _, err := gen.Query(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	gen.Close()
	st, err := os.Stat(csv)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d rows, %.0f MB in %.1fs", n, float64(st.Size())/1e6, time.Since(start).Seconds())

	for range b.N {
		// Baseline: DuckDB alone, CSV to Parquet, in a fresh engine.
		var rawCPU float64
		raw := func() time.Duration {
			eng, err := engine.Open(ctx, engine.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			out := filepath.Join(dir, "raw.parquet")
			start, cpu := time.Now(), cpuSeconds()
			q := fmt.Sprintf("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet)", csv, out)
			if _, err := eng.Query(ctx, q); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			rawCPU = cpuSeconds() - cpu
			os.Remove(out)
			return took
		}()

		e := newBenchEnv(b)
		app, appCPU := e.push(b, e.add(b, "append", "        kind: Append"), csv, n)
		e.eng.Close()

		e = newBenchEnv(b)
		d := e.add(b, "snapshot", "        kind: Snapshot\n        primaryKey: [id]")
		snapFirst, snapFirstCPU := e.push(b, d, csv, n)
		// Changed rows give -C and +C, removed -R, added +A.
		changed, removed, added := (n+96)/100, (n+192)/200, n/200
		snapDiff, snapDiffCPU := e.push(b, d, csv2, 2*changed+removed+added)
		e.eng.Close()

		s := func(d time.Duration) float64 { return d.Seconds() }
		b.ReportMetric(s(raw), "raw-s")
		b.ReportMetric(s(app), "append-s")
		b.ReportMetric(s(snapFirst), "snapshot-first-s")
		b.ReportMetric(s(snapDiff), "snapshot-diff-s")
		b.ReportMetric(s(app)/s(raw), "append/raw")
		b.ReportMetric(s(snapFirst)/s(raw), "snapshot-first/raw")
		b.ReportMetric(s(snapDiff)/s(raw), "snapshot-diff/raw")
		b.ReportMetric(appCPU/rawCPU, "append-cpu/raw")
		b.ReportMetric(snapFirstCPU/rawCPU, "snapshot-first-cpu/raw")
		b.ReportMetric(snapDiffCPU/rawCPU, "snapshot-diff-cpu/raw")
		b.Logf("cpu: raw=%.2fs append=%.2fs (%.2fx) snapshot-first=%.2fs (%.2fx) snapshot-diff=%.2fs (%.2fx)",
			rawCPU, appCPU, appCPU/rawCPU, snapFirstCPU, snapFirstCPU/rawCPU, snapDiffCPU, snapDiffCPU/rawCPU)
		b.Logf("rows=%d raw=%.2fs append=%.2fs (%.2fx, target 1.5x) snapshot-first=%.2fs (%.2fx) snapshot-diff=%.2fs (%.2fx, target 3x)",
			n, s(raw), s(app), s(app)/s(raw), s(snapFirst), s(snapFirst)/s(raw), s(snapDiff), s(snapDiff)/s(raw))
	}
}
