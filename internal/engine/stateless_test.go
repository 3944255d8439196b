package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func TestStateless(t *testing.T) {
	e := openTest(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "in.csv")
	os.WriteFile(csv, []byte("offset,op,system_time,event_time,city,n\n0,0,2020-01-01T00:00:00Z,2020-01-01T00:00:00Z,kyiv,3\n"), 0o644)
	pq := filepath.Join(dir, "in.parquet")
	csvToParquet(t, e, csv, pq, DefaultVocab())
	in := TransformInput{Name: "cities", Files: []string{pq}}
	for q, want := range map[string]bool{
		"SELECT city, n FROM cities":                                  true,
		"SELECT city, n * 2 AS m FROM cities WHERE n > 1":             true,
		"SELECT upper(city) AS c, event_time FROM cities WHERE n > 1": true,
		"SELECT city, sum(n) AS s FROM cities GROUP BY city":          false,
		"SELECT DISTINCT city FROM cities":                            false,
		"SELECT city FROM cities ORDER BY city":                       false,
		"SELECT city FROM cities LIMIT 1":                             false,
		"SELECT city, row_number() OVER () AS r FROM cities":          false,
		"SELECT a.city FROM cities a JOIN cities b USING (city)":      false,
		"SELECT 1 AS x": false,
		"SELECT city FROM cities UNION ALL SELECT 'x' AS city": false,
	} {
		got, err := e.Stateless(context.Background(), in, odf.TransformSQL{Engine: "duckdb", Query: ptr(q)})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got != want {
			t.Errorf("%s: stateless = %v, want %v", q, got, want)
		}
	}
}

// TestIncrementalEqualsRecompute runs stateless queries both ways over the
// same history, with appends, retractions and corrections, and requires the
// same bytes.
func TestIncrementalEqualsRecompute(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	slices := []string{
		"offset,op,system_time,event_time,city,n\n0,0,2020-01-01T00:00:00Z,2020-01-01T00:00:00Z,kyiv,3\n1,0,2020-01-01T00:00:00Z,2020-01-01T00:00:00Z,rivne,12\n2,0,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z,lviv,20\n",
		"offset,op,system_time,event_time,city,n\n3,1,2020-01-03T00:00:00Z,2020-01-01T00:00:00Z,rivne,12\n4,2,2020-01-03T00:00:00Z,2020-01-02T00:00:00Z,lviv,20\n5,3,2020-01-03T00:00:00Z,2020-01-03T00:00:00Z,lviv,25\n6,0,2020-01-03T00:00:00Z,2020-01-03T00:00:00Z,odesa,30\n7,0,2020-01-03T00:00:00Z,2020-01-03T00:00:00Z,odesa,30\n",
		"offset,op,system_time,event_time,city,n\n8,1,2020-01-04T00:00:00Z,2020-01-03T00:00:00Z,odesa,30\n9,0,2020-01-04T00:00:00Z,2020-01-04T00:00:00Z,kharkiv,40\n",
	}
	var files []string
	for i, s := range slices {
		p := filepath.Join(dir, "s"+string(rune('0'+i))+".csv")
		os.WriteFile(p, []byte(s), 0o644)
		out := strings.TrimSuffix(p, ".csv") + ".parquet"
		csvToParquet(t, e, p, out, DefaultVocab())
		files = append(files, out)
	}
	for _, q := range []string{
		"SELECT event_time, city, n FROM cities WHERE n >= 10",
		"SELECT city, n * 2 AS twice FROM cities WHERE n >= 10",
	} {
		t.Run(q, func(t *testing.T) {
			// Run 1 recomputes; runs 2 and 3 go incremental in one
			// history and recompute in the other.
			var prevInc, prevFull []string
			next := uint64(0)
			for run := range slices {
				sys := time.Date(2020, 2, 1+run, 0, 0, 0, 0, time.UTC)
				wm := time.Date(2020, 1, 1+run, 0, 0, 0, 0, time.UTC)
				base := TransformRequest{Transform: odf.TransformSQL{Engine: "duckdb", Query: ptr(q)}, SystemTime: sys, EventTime: &wm, NextOffset: next}
				full := base
				full.Inputs = []TransformInput{{Name: "cities", Files: files[:run+1]}}
				full.Prev, full.Out = prevFull, filepath.Join(dir, "full.parquet")
				rf, err := e.Transform(ctx, full)
				if err != nil {
					t.Fatal(err)
				}
				inc := base
				inc.Inputs = []TransformInput{{Name: "cities", Files: files[:run+1], New: files[run : run+1]}}
				if run == 0 {
					inc.Inputs[0].New = nil
				}
				inc.Prev, inc.Out = prevInc, filepath.Join(dir, "inc.parquet")
				ri, err := e.Transform(ctx, inc)
				if err != nil {
					t.Fatal(err)
				}
				if rf.Rows != ri.Rows {
					t.Fatalf("run %d: %d rows recomputed, %d incremental", run, rf.Rows, ri.Rows)
				}
				if rf.Rows == 0 {
					continue
				}
				a, _ := os.ReadFile(full.Out)
				b, _ := os.ReadFile(inc.Out)
				if string(a) != string(b) {
					t.Fatalf("run %d: incremental output differs\n--- recomputed\n%s\n--- incremental\n%s", run, dumpParquet(t, e, full.Out), dumpParquet(t, e, inc.Out))
				}
				keepF := filepath.Join(dir, "keep-full-"+string(rune('0'+run))+".parquet")
				keepI := filepath.Join(dir, "keep-inc-"+string(rune('0'+run))+".parquet")
				os.Rename(full.Out, keepF)
				os.Rename(inc.Out, keepI)
				prevFull, prevInc = append(prevFull, keepF), append(prevInc, keepI)
				next += uint64(rf.Rows)
			}
		})
	}
}
