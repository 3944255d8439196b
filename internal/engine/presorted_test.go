package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// TestPresortedSameBytes merges Append batches whose event times already
// rise with the input (the repack path) and batches that are out of order
// by one row (the sort path), with 1 to 3 DuckDB threads, and checks that
// each file is byte for byte what the sort writes.
func TestPresortedSameBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 300_000 // three row groups, and parts of uneven size
	gen := `SELECT i AS id, 'name-' || (i %% 977) AS name, CASE WHEN i %% 7 = 0 THEN NULL ELSE i * 3 END AS v,
		TIMESTAMP '2020-01-01' + INTERVAL (%s) SECOND AS event_time FROM range(%d) t(i)`
	files := map[string]string{
		"ordered":  "i // 10",
		"one-late": fmt.Sprintf("CASE WHEN i = %d THEN 0 ELSE i // 10 END", n-5),
		"ties":     "0",
	}
	{
		e := openTest(t)
		for name, et := range files {
			if err := e.exec(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT csv, HEADER true)", fmt.Sprintf(gen, et, n), quoteLit(filepath.Join(dir, name+".csv")))); err != nil {
				t.Fatal(err)
			}
		}
	}
	step := odf.ReadStepCsv{Header: ptr(true), DDLSchema: []string{"id BIGINT, name STRING, v BIGINT, event_time TIMESTAMP"}}
	merge := func(csv string, threads int, sortAlways bool) []byte {
		cfg := DefaultConfig()
		cfg.Threads = threads
		e, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		e.alwaysSort = sortAlways
		if err := e.ReadFiles(ctx, "batch", step, []string{csv}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("out-%d-%v.parquet", threads, sortAlways))
		res, err := e.Merge(ctx, MergeRequest{New: "batch", Strategy: odf.MergeStrategyAppend{}, Vocab: DefaultVocab(),
			SystemTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NextOffset: 7, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != n {
			t.Fatalf("rows = %d, want %d", res.Rows, n)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing is left behind: no part tables, the thread count restored.
		var left int64
		if err := e.scalar(ctx, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '__ipos_%'", &left); err != nil || left != 0 {
			t.Errorf("%d internal tables left (%v)", left, err)
		}
		var th int64
		if err := e.scalar(ctx, "SELECT current_setting('threads')", &th); err != nil || th != int64(threads) {
			t.Errorf("threads = %d after merge, want %d (%v)", th, threads, err)
		}
		return got
	}
	for name := range files {
		csv := filepath.Join(dir, name+".csv")
		want := merge(csv, 2, true)
		for _, threads := range []int{1, 2, 3} {
			if got := merge(csv, threads, false); !bytes.Equal(got, want) {
				t.Errorf("%s, %d threads: the file differs from the sorted one", name, threads)
			}
		}
	}
}

// TestPresorted checks the order test itself: rising and tied event times
// are in order, one row that goes back in time is not.
func TestPresorted(t *testing.T) {
	ctx := context.Background()
	e := openTest(t)
	for _, c := range []struct {
		rows string
		want bool
	}{
		{"(1, TIMESTAMP '2020-01-01'), (2, TIMESTAMP '2020-01-01'), (3, TIMESTAMP '2020-01-02')", true},
		{"(1, TIMESTAMP '2020-01-02'), (2, TIMESTAMP '2020-01-01')", false},
		{"(1, NULL), (2, TIMESTAMP '1969-12-31')", false}, // a null falls back to the system time
		{"(1, TIMESTAMP '1969-12-31'), (2, NULL)", true},
	} {
		if err := e.exec(ctx, "CREATE OR REPLACE TABLE b AS SELECT * FROM (VALUES "+c.rows+") v(id, event_time)"); err != nil {
			t.Fatal(err)
		}
		m := &mergeCtx{e: e, req: MergeRequest{New: "b", SystemTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, v: DefaultVocab(), hasET: true}
		m.data = []column{{Name: "id", Type: "INTEGER"}}
		if err := m.stage(ctx, false, []column{{Name: "id", Type: "INTEGER"}, {Name: "event_time", Type: "TIMESTAMP"}}); err != nil {
			t.Fatal(err)
		}
		_, got, err := m.presorted(ctx)
		if err != nil || got != c.want {
			t.Errorf("%s: presorted = %v (%v), want %v", c.rows, got, err, c.want)
		}
		e.dropView(m.newT)
	}
}
