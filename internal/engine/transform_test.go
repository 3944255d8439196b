package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// TestTransformScripts runs testdata/transform/*.txtar: derivative
// transforms as data. The comment holds "key: value" lines (systemTime,
// eventTime: the fallback event time, nextOffset, eventTimeColumn). Files:
// query.sql; input-NAME-N.csv, the slices of input NAME in order, with
// system columns; prev-N.csv, the derivative's own slices; want.csv
// (expected rows, header included) or want.err (a substring of the error).
func TestTransformScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transform/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transform scripts: %v", err)
	}
	e := openTest(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			runTransformScript(t, e, f)
		})
	}
}

// csvToParquet writes a slice given as CSV with system columns as Parquet.
func csvToParquet(t *testing.T, e *Engine, csv, out string, v Vocab) {
	t.Helper()
	q := fmt.Sprintf(`COPY (SELECT * REPLACE (CAST(%s AS BIGINT) AS %s, CAST(%s AS INTEGER) AS %s,
		CAST(%s AS TIMESTAMPTZ) AS %s, CAST(%s AS TIMESTAMPTZ) AS %s)
		FROM read_csv(%s, header=true, auto_detect=true)) TO %s (FORMAT parquet)`,
		quoteIdent(v.Offset), quoteIdent(v.Offset), quoteIdent(v.Op), quoteIdent(v.Op),
		quoteIdent(v.SystemTime), quoteIdent(v.SystemTime), quoteIdent(v.EventTime), quoteIdent(v.EventTime),
		quoteLit(csv), quoteLit(out))
	if err := e.exec(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

func runTransformScript(t *testing.T, e *Engine, path string) {
	ctx := context.Background()
	ar, kv := readScript(t, path)
	dir := t.TempDir()
	content := map[string]string{}
	inputs := map[string][]string{}
	var prev []string
	vocab := DefaultVocab()
	if v := kv["eventTimeColumn"]; v != "" {
		vocab.EventTime = v
	}
	names := make([]string, 0, len(ar.Files))
	for _, f := range ar.Files {
		names = append(names, f.Name)
		content[f.Name] = string(f.Data)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		out := strings.TrimSuffix(p, ".csv") + ".parquet"
		switch {
		case strings.HasPrefix(name, "input-"):
			input := strings.SplitN(strings.TrimPrefix(name, "input-"), "-", 2)[0]
			csvToParquet(t, e, p, out, DefaultVocab())
			inputs[input] = append(inputs[input], out)
		case strings.HasPrefix(name, "prev-"):
			csvToParquet(t, e, p, out, vocab)
			prev = append(prev, out)
		}
	}
	req := TransformRequest{
		Transform:  odf.TransformSQL{Engine: "duckdb", Query: ptr(content["query.sql"])},
		Prev:       prev,
		Vocab:      vocab,
		SystemTime: time.Date(2010, 1, 1, 12, 0, 0, 0, time.UTC),
		Out:        filepath.Join(dir, "out.parquet"),
	}
	inputNames := make([]string, 0, len(inputs))
	for n := range inputs {
		inputNames = append(inputNames, n)
	}
	sort.Strings(inputNames)
	for _, n := range inputNames {
		req.Inputs = append(req.Inputs, TransformInput{Name: n, Files: inputs[n]})
	}
	if v := kv["eventTime"]; v != "" {
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		req.EventTime = &tm
	}
	if v := kv["nextOffset"]; v != "" {
		req.NextOffset, _ = strconv.ParseUint(v, 10, 64)
	}
	res, err := e.Transform(ctx, req)
	if wantErr, ok := content["want.err"]; ok {
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(wantErr)) {
			t.Fatalf("error = %v, want one containing %q", err, strings.TrimSpace(wantErr))
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(content["want.csv"])
	wantLines := strings.Split(want, "\n")
	if res.Rows != int64(len(wantLines)-1) {
		t.Fatalf("Rows = %d, want %d", res.Rows, len(wantLines)-1)
	}
	if res.Rows == 0 {
		return
	}
	if got := dumpParquet(t, e, req.Out); got != want {
		t.Errorf("rows differ\n--- got\n%s\n--- want\n%s", got, want)
	}
	// The same request writes the same bytes.
	first, _ := os.ReadFile(req.Out)
	req.Out = filepath.Join(dir, "again.parquet")
	if _, err := e.Transform(ctx, req); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(req.Out); string(again) != string(first) {
		t.Error("a second run wrote different bytes")
	}
}
