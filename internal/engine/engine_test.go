package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func writeFile(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tableRows(t *testing.T, e *Engine, table string) string {
	t.Helper()
	res, err := e.Query(context.Background(), fmt.Sprintf("SELECT * FROM %s", quoteIdent(table)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(strings.Join(res.Columns, ",") + "\n")
	for _, r := range res.Rows {
		parts := make([]string, len(r))
		for i, v := range r {
			switch v := v.(type) {
			case time.Time:
				parts[i] = v.UTC().Format(time.RFC3339)
			case nil:
				parts[i] = ""
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		b.WriteString(strings.Join(parts, ",") + "\n")
	}
	return b.String()
}

func TestReadFiles(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	schema := &odf.DataSchema{Fields: []odf.DataField{
		{Name: "date", Type: odf.DataTypeDate{}},
		{Name: "city", Type: odf.DataTypeString{}},
		{Name: "population", Type: odf.DataTypeOption{Inner: odf.DataTypeInt64{}}},
	}}
	csv := writeFile(t, dir, "a.csv", "date;city;population\n2020-01-01;'A;x';1\n2020-01-02;B;NA\n")
	ndjson := writeFile(t, dir, "a.ndjson", `{"date":"2020-01-01","city":"A;x","population":1}`+"\n"+`{"date":"2020-01-02","city":"B","population":null}`+"\n")
	jsonSub := writeFile(t, dir, "a.json", `{"data":{"rows":[{"date":"2020-01-01","city":"A;x","population":1},{"date":"2020-01-02","city":"B"}]}}`)
	jsonArr := writeFile(t, dir, "b.json", `[{"date":"2020-01-01","city":"A;x","population":1},{"date":"2020-01-02","city":"B","population":null}]`)
	geo := writeFile(t, dir, "a.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"name":"p1","n":1},"geometry":{"type":"Point","coordinates":[1,2]}},
{"type":"Feature","properties":{"name":"p2","n":2},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}`)
	ndgeo := writeFile(t, dir, "a.ndgeojson", `{"type":"Feature","properties":{"name":"p1","n":1},"geometry":{"type":"Point","coordinates":[1,2]}}`+"\n")
	want := "date,city,population\n2020-01-01T00:00:00Z,A;x,1\n2020-01-02T00:00:00Z,B,\n"
	cases := []struct {
		name  string
		step  odf.ReadStep
		files []string
		want  string
	}{
		{"csv-schema", odf.ReadStepCsv{Header: ptr(true), Separator: ptr(";"), Quote: ptr("'"), NullValue: ptr("NA"), Schema: schema}, []string{csv}, want},
		{"csv-ddl", odf.ReadStepCsv{Header: ptr(true), Separator: ptr(";"), Quote: ptr("'"), NullValue: ptr("NA"),
			DDLSchema: []string{"date DATE", "city STRING", "population: BIGINT"}}, []string{csv}, want},
		{"csv-dateformat", odf.ReadStepCsv{Header: ptr(true), DateFormat: ptr("dd/MM/yyyy"), DDLSchema: []string{"d DATE"}},
			[]string{writeFile(t, dir, "d.csv", "d\n31/12/2020\n")}, "d\n2020-12-31T00:00:00Z\n"},
		{"csv-all-varchar", odf.ReadStepCsv{Header: ptr(true)}, []string{writeFile(t, dir, "v.csv", "a,b\n1,x\n")}, "a,b\n1,x\n"},
		{"ndjson", odf.ReadStepNdJSON{Schema: schema}, []string{ndjson}, want},
		{"json-array", odf.ReadStepJSON{Schema: schema}, []string{jsonArr}, want},
		{"json-subpath", odf.ReadStepJSON{SubPath: ptr("data.rows"), Schema: schema}, []string{jsonSub}, want},
		{"geojson", odf.ReadStepGeoJSON{}, []string{geo}, "name,n,geometry\np1,1,{\"type\":\"Point\",\"coordinates\":[1,2]}\np2,2,{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}\n"},
		{"ndgeojson", odf.ReadStepNdGeoJSON{}, []string{ndgeo}, "name,n,geometry\np1,1,{\"type\":\"Point\",\"coordinates\":[1,2]}\n"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			table := fmt.Sprintf("r%d", i)
			if err := e.ReadFiles(ctx, table, c.step, c.files); err != nil {
				t.Fatal(err)
			}
			if got := tableRows(t, e, table); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
	t.Run("parquet", func(t *testing.T) {
		p := filepath.Join(dir, "p.parquet")
		if err := e.exec(ctx, fmt.Sprintf("COPY (SELECT * FROM r0) TO %s (FORMAT parquet)", quoteLit(p))); err != nil {
			t.Fatal(err)
		}
		if err := e.ReadFiles(ctx, "rp", odf.ReadStepParquet{}, []string{p}); err != nil {
			t.Fatal(err)
		}
		if got := tableRows(t, e, "rp"); got != want {
			t.Errorf("got\n%s", got)
		}
	})
	t.Run("shapefile", func(t *testing.T) {
		err := e.ReadFiles(ctx, "rs", odf.ReadStepEsriShapefile{}, []string{csv})
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestReadBadValue(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	schema := &odf.DataSchema{Fields: []odf.DataField{
		{Name: "id", Type: odf.DataTypeInt32{}},
		{Name: "day", Type: odf.DataTypeDate{}},
	}}
	csv := writeFile(t, dir, "bad.csv", "id,day\n1,2020-01-01\n2,not-a-date\n")
	nd := writeFile(t, dir, "bad.ndjson", `{"id":1,"day":"2020-01-01"}`+"\n"+`{"id":"x","day":"2020-01-01"}`+"\n")
	arr := writeFile(t, dir, "bad.json", `[{"id":1,"day":"2020-01-01"},{"id":2,"day":"nope"}]`)
	cases := []struct {
		name string
		step odf.ReadStep
		file string
		want []string
	}{
		{"csv", odf.ReadStepCsv{Header: ptr(true), Schema: schema}, csv, []string{csv + ":3", `column "day"`}},
		{"ndjson", odf.ReadStepNdJSON{Schema: schema}, nd, []string{nd + ":2", `column "id"`}},
		{"json", odf.ReadStepJSON{Schema: schema}, arr, []string{arr, `column "day"`, "record 2"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.ReadFiles(ctx, fmt.Sprintf("bad%d", i), c.step, []string{c.file})
			if err == nil {
				t.Fatal("no error")
			}
			var re *ReadError
			if !errors.As(err, &re) {
				t.Errorf("not a ReadError: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPreprocess(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	if err := e.exec(ctx, "CREATE TABLE raw AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) t(id, name)"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT id * 10 AS id, upper(name) AS name FROM input WHERE id > 1"
	if err := e.Preprocess(ctx, "raw", "p1", odf.TransformSQL{Engine: "duckdb", Query: &q}); err != nil {
		t.Fatal(err)
	}
	if got, want := tableRows(t, e, "p1"), "id,name\n20,B\n30,C\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	steps := []odf.SqlQueryStep{
		{Alias: ptr("big"), Query: "SELECT * FROM input WHERE id >= 2"},
		{Query: "SELECT count(*) AS n FROM big;"},
	}
	if err := e.Preprocess(ctx, "raw", "p2", odf.TransformSQL{Engine: "datafusion", Queries: steps}); err != nil {
		t.Fatal(err)
	}
	if got, want := tableRows(t, e, "p2"), "n\n2\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if err := e.Preprocess(ctx, "raw", "p3", odf.TransformSQL{Engine: "flink", Query: &q}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("flink: err = %v", err)
	}
}

// TestMergeDeterministic merges the same CSV, read in parallel, with
// Append and with Snapshot over a previous slice, several times and with
// 1, 2 and 4 DuckDB threads: every run must write the same bytes, in row
// groups of exactly parquetRowGroupSize rows (the last one shorter).
func TestMergeDeterministic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n = 300000 // three row groups
	csv := filepath.Join(dir, "big.csv")
	prev := filepath.Join(dir, "prev.parquet")
	{
		e := openTest(t)
		gen := `SELECT i AS id, 'name-' || (i %% 977) AS name, (i * 7919) %% 1000003 + %d AS v,
			TIMESTAMP '2020-01-01' + INTERVAL (i %% 1000) SECOND AS event_time FROM range(%d) t(i)`
		if err := e.exec(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT csv, HEADER true)", fmt.Sprintf(gen, 0, n), quoteLit(csv))); err != nil {
			t.Fatal(err)
		}
		// The previous state: a tenth of the values differ.
		if err := e.exec(ctx, fmt.Sprintf(`COPY (SELECT CAST(id AS BIGINT) AS "offset", 0 AS op, TIMESTAMPTZ '2023-01-01' AS system_time,
			CAST(event_time AS TIMESTAMPTZ) AS event_time, id, name, CASE WHEN id %% 10 = 0 THEN v + 1 ELSE v END AS v FROM (%s))
			TO %s (FORMAT parquet)`, fmt.Sprintf(gen, 0, n), quoteLit(prev))); err != nil {
			t.Fatal(err)
		}
	}
	step := odf.ReadStepCsv{Header: ptr(true), DDLSchema: []string{"id BIGINT, name STRING, v BIGINT, event_time TIMESTAMP"}}
	cases := []struct {
		name     string
		strategy odf.MergeStrategy
		prev     []string
		rows     int64
	}{
		{"append", odf.MergeStrategyAppend{}, nil, n},
		{"snapshot", odf.MergeStrategySnapshot{PrimaryKey: []string{"id"}}, []string{prev}, 2 * n / 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first []byte
			for run, threads := range []int{2, 1, 4, 2, 2} {
				cfg := DefaultConfig()
				cfg.Threads = threads
				e, err := Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				if err := e.ReadFiles(ctx, "big", step, []string{csv}); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, fmt.Sprintf("%s%d.parquet", c.name, run))
				res, err := e.Merge(ctx, MergeRequest{New: "big", Prev: c.prev, Strategy: c.strategy, Vocab: DefaultVocab(),
					SystemTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NextOffset: n, Out: out})
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != c.rows {
					t.Fatalf("rows = %d, want %d", res.Rows, c.rows)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if run == 0 {
					first = got
					groups, err := e.Query(ctx, fmt.Sprintf("SELECT row_group_num_rows FROM parquet_metadata(%s) WHERE column_id = 0 ORDER BY row_group_id", quoteLit(out)))
					if err != nil {
						t.Fatal(err)
					}
					for i, r := range groups.Rows {
						want := int64(parquetRowGroupSize)
						if i == len(groups.Rows)-1 {
							want = c.rows - int64(i)*parquetRowGroupSize
						}
						if r[0].(int64) != want {
							t.Errorf("row group %d has %d rows, want %d", i, r[0], want)
						}
					}
					if c.rows > parquetRowGroupSize && len(groups.Rows) < 2 {
						t.Errorf("%d row groups, want several", len(groups.Rows))
					}
					// Offsets are contiguous and in file order.
					var bad int64
					q := fmt.Sprintf(`SELECT count(*) FILTER (WHERE "offset" <> %d + file_row_number) FROM read_parquet(%s, file_row_number=true)`, n, quoteLit(out))
					if err := e.scalar(ctx, q, &bad); err != nil || bad != 0 {
						t.Errorf("offsets out of order: %d rows (%v)", bad, err)
					}
				} else if !bytes.Equal(first, got) {
					t.Errorf("run %d (%d threads) wrote different bytes than run 0 (2 threads)", run, threads)
				}
				e.Close()
			}
		})
	}
	// The schema reported matches ODF's system columns.
	e := openTest(t)
	res, _ := e.Query(ctx, fmt.Sprintf("SELECT name, type, logical_type FROM parquet_schema(%s) WHERE name IN ('offset', 'op', 'event_time')", quoteLit(filepath.Join(dir, "append0.parquet"))))
	if len(res.Rows) != 3 {
		t.Errorf("parquet schema: %v", res.Rows)
	}
}

// TestUTCMillis checks the fast timestamp normalisation against
// date_trunc('millisecond', CAST(x AS TIMESTAMPTZ)) for every timestamp
// type, before and after 1970, with sub-millisecond parts and nulls.
func TestUTCMillis(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	values := []string{"1969-12-31 23:59:59.9985005", "1969-12-31 23:59:59.998", "1900-05-05 10:00:00.123999999",
		"2020-01-01 00:00:00.0015009", "2024-02-29 23:59:59.999999", "1970-01-01 00:00:00", "1800-03-15 12:00:00.0005"}
	types := []string{"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMPTZ", "DATE", "VARCHAR"}
	for _, typ := range types {
		for _, v := range append(values, "") {
			x := "CAST(NULL AS " + typ + ")"
			if v != "" {
				x = fmt.Sprintf("CAST(CAST(TIMESTAMP_NS %s AS TIMESTAMP) AS %s)", quoteLit(v), typ)
				if typ == "TIMESTAMP_NS" {
					x = "TIMESTAMP_NS " + quoteLit(v)
				}
				if typ == "VARCHAR" {
					x = quoteLit(v + "+02")
				}
			}
			q := fmt.Sprintf("SELECT CAST(%s AS VARCHAR), CAST(date_trunc('millisecond', CAST(x AS TIMESTAMPTZ)) AS VARCHAR) FROM (SELECT %s AS x)", utcMillis("x", typ), x)
			var got, want *string
			if err := e.conn.QueryRowContext(ctx, q).Scan(&got, &want); err != nil {
				t.Fatalf("%s %s: %v", typ, v, err)
			}
			if (got == nil) != (want == nil) || got != nil && *got != *want {
				t.Errorf("%s %q: utcMillis = %v, date_trunc = %v", typ, v, deref(got), deref(want))
			}
		}
	}
}

func TestCancel(t *testing.T) {
	e := openTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Query(ctx, "SELECT count(*) FROM range(10000000000) a, range(1000) b WHERE (a.range * b.range) % 7 = 3")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	// The engine is usable afterwards.
	if _, err := e.Query(context.Background(), "SELECT 1"); err != nil {
		t.Error(err)
	}
}

func TestTypes(t *testing.T) {
	ms := odf.TimeUnitMillisecond
	cases := []odf.DataType{
		odf.DataTypeInt64{}, odf.DataTypeString{}, odf.DataTypeDecimal{Precision: 10, Scale: 2},
		odf.DataTypeTimestamp{Unit: &ms}, odf.DataTypeList{ItemType: odf.DataTypeOption{Inner: odf.DataTypeInt32{}}},
		odf.DataTypeStruct{Fields: []odf.DataField{{Name: "a b", Type: odf.DataTypeOption{Inner: odf.DataTypeBool{}}}}},
	}
	for _, c := range cases {
		d, err := duckType(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := odfType(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s: round trip %#v != %#v", d, back, c)
		}
	}
	cols, err := ddlColumns([]string{"date TIMESTAMP", "city STRING, population INT", "a: DECIMAL(10,2)"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cols); got != "[{date TIMESTAMP} {city VARCHAR} {population INTEGER} {a DECIMAL(10,2)}]" {
		t.Errorf("ddl = %s", got)
	}
	if _, err := ddlColumns([]string{"a INT; DROP TABLE x"}); err == nil {
		t.Error("ddl injection accepted")
	}
}
