package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestMergeScripts runs testdata/merge/*.txtar. Each archive's comment
// holds "key: value" lines:
//
//	strategy: Append | Ledger | Snapshot | ChangelogStream | UpsertStream
//	primaryKey: a, b        compareColumns: c
//	schema: ddl of new.csv  (e.g. "city STRING, population BIGINT")
//	systemTime, sourceEventTime: RFC 3339
//	nextOffset: N           eventTimeColumn: name
//
// Files: prev*.csv (previous slices with system columns, in order),
// new.csv (the batch), want.csv (expected rows, header included) or
// want.err (a substring of the expected error).
func TestMergeScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/merge/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no merge scripts: %v", err)
	}
	e := openTest(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txtar"), func(t *testing.T) {
			runMergeScript(t, e, f)
		})
	}
}

// readScript parses a txtar test script and the "key: value" lines of its
// comment.
func readScript(t *testing.T, path string) (*txtar.Archive, map[string]string) {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return ar, kv
}

func openTest(t testing.TB) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Threads = 2
	e, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runMergeScript(t *testing.T, e *Engine, path string) {
	ctx := context.Background()
	ar, kv := readScript(t, path)
	dir := t.TempDir()
	content := map[string]string{}
	var prevCSV []string
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		content[f.Name] = string(f.Data)
		if strings.HasPrefix(f.Name, "prev") {
			prevCSV = append(prevCSV, p)
		}
	}
	vocab := DefaultVocab()
	if v := kv["eventTimeColumn"]; v != "" {
		vocab.EventTime = v
	}
	var prev []string
	for i, p := range prevCSV {
		out := filepath.Join(dir, fmt.Sprintf("prev%d.parquet", i))
		q := fmt.Sprintf(`COPY (SELECT * REPLACE (CAST("offset" AS BIGINT) AS "offset", CAST(op AS INTEGER) AS op,
			CAST(system_time AS TIMESTAMPTZ) AS system_time, CAST(%s AS TIMESTAMPTZ) AS %s)
			FROM read_csv(%s, header=true, auto_detect=true)) TO %s (FORMAT parquet)`,
			quoteIdent(vocab.EventTime), quoteIdent(vocab.EventTime), quoteLit(p), quoteLit(out))
		if err := e.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		prev = append(prev, out)
	}
	newTable := e.tempName("t_new")
	read := odf.ReadStepCsv{Header: ptr(true)}
	if s := kv["schema"]; s != "" {
		read.DDLSchema = []string{s}
	} else {
		read.InferSchema = ptr(true)
	}
	if err := e.ReadFiles(ctx, newTable, read, []string{filepath.Join(dir, "new.csv")}); err != nil {
		t.Fatal(err)
	}
	defer e.drop(newTable)

	pk, cmp := splitList(kv["primaryKey"]), splitList(kv["compareColumns"])
	var strategy odf.MergeStrategy
	switch kv["strategy"] {
	case "Append":
		strategy = odf.MergeStrategyAppend{}
	case "Ledger":
		strategy = odf.MergeStrategyLedger{PrimaryKey: pk}
	case "Snapshot":
		strategy = odf.MergeStrategySnapshot{PrimaryKey: pk, CompareColumns: cmp}
	case "ChangelogStream":
		strategy = odf.MergeStrategyChangelogStream{PrimaryKey: pk}
	case "UpsertStream":
		strategy = odf.MergeStrategyUpsertStream{PrimaryKey: pk}
	default:
		t.Fatalf("unknown strategy %q", kv["strategy"])
	}
	parseTime := func(k string) *time.Time {
		v := kv[k]
		if v == "" {
			return nil
		}
		tm, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return &tm
	}
	sys := parseTime("systemTime")
	if sys == nil {
		sys = ptr(time.Date(2010, 1, 1, 12, 0, 0, 0, time.UTC))
	}
	var next uint64
	if v := kv["nextOffset"]; v != "" {
		next, _ = strconv.ParseUint(v, 10, 64)
	}
	out := filepath.Join(dir, "out.parquet")
	res, err := e.Merge(ctx, MergeRequest{
		New: newTable, Prev: prev, Strategy: strategy, Vocab: vocab,
		SystemTime: *sys, SourceEventTime: parseTime("sourceEventTime"), NextOffset: next, Out: out,
	})
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
		t.Errorf("Rows = %d, want %d", res.Rows, len(wantLines)-1)
	}
	if res.Rows == 0 {
		if _, err := os.Stat(out); err == nil {
			t.Errorf("a file was written for an empty result")
		}
		return
	}
	got := dumpParquet(t, e, out)
	if got != want {
		t.Errorf("rows differ\n--- got\n%s\n--- want\n%s", got, want)
	}
	if v := kv["maxEventTime"]; v != "" {
		if res.MaxEventTime == nil || res.MaxEventTime.Format(time.RFC3339) != v {
			t.Errorf("MaxEventTime = %v, want %s", res.MaxEventTime, v)
		}
	}
	if len(res.Schema.Fields) < 4 || res.Schema.Fields[0].Name != vocab.Offset || res.Schema.Fields[3].Name != vocab.EventTime {
		t.Errorf("schema = %+v", res.Schema)
	}
}

// dumpParquet renders a Parquet file as CSV: header, then rows in file
// order; timestamps as RFC 3339 UTC, NULL as empty.
func dumpParquet(t testing.TB, e *Engine, path string) string {
	t.Helper()
	ctx := context.Background()
	cols, err := e.describe(ctx, fmt.Sprintf("SELECT * FROM read_parquet(%s)", quoteLit(path)))
	if err != nil {
		t.Fatal(err)
	}
	var sel, names []string
	for _, c := range cols {
		names = append(names, c.Name)
		expr := quoteIdent(c.Name)
		if isTimestamp(c.Type) {
			expr = fmt.Sprintf("strftime(%s, '%%Y-%%m-%%dT%%H:%%M:%%S.%%gZ')", expr)
		}
		sel = append(sel, fmt.Sprintf("coalesce(CAST(%s AS VARCHAR), '')", expr))
	}
	res, err := e.Query(ctx, fmt.Sprintf("SELECT concat_ws(',', %s) FROM read_parquet(%s)", strings.Join(sel, ", "), quoteLit(path)))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{strings.Join(names, ",")}
	for _, r := range res.Rows {
		lines = append(lines, strings.ReplaceAll(r[0].(string), ".000Z", "Z"))
	}
	return strings.Join(lines, "\n")
}

func ptr[T any](v T) *T { return &v }
