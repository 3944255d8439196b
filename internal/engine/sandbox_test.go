package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
)

// sandboxed returns a locked engine with a view "covid.cases" over one
// Parquet file; a second file in the same folder and a CSV file next to
// it are not allowed.
func sandboxed(t *testing.T) (e *Engine, dir, allowed, other string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.csv"), []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Open(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	allowed = filepath.Join(data, "a.parquet")
	other = filepath.Join(data, "b.parquet")
	for _, q := range []string{
		"COPY (SELECT 1 AS x, 'a' AS y) TO " + quoteLit(allowed) + " (FORMAT parquet)",
		"COPY (SELECT 2 AS x, 'b' AS y) TO " + quoteLit(other) + " (FORMAT parquet)",
	} {
		if err := e.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.CreateParquetView(ctx, "covid.cases", []string{allowed}); err != nil {
		t.Fatal(err)
	}
	if err := e.Lockdown(ctx, nil, []string{allowed}); err != nil {
		t.Fatal(err)
	}
	return e, dir, allowed, other
}

func TestSandboxAllows(t *testing.T) {
	e, _, _, _ := sandboxed(t)
	ctx := context.Background()
	for _, q := range []string{
		`SELECT * FROM "covid.cases"`,
		`SELECT count(*) FROM "covid.cases" JOIN (VALUES (1)) v(x) USING (x)`,
		`DESCRIBE "covid.cases"`,
		`SHOW TABLES`,
		`SUMMARIZE "covid.cases"`,
		`EXPLAIN SELECT * FROM "covid.cases"`,
		`WITH t AS (SELECT 1 AS a) SELECT * FROM t`,
		`SELECT * FROM query('SELECT 1')`,
		`SELECT current_setting('enable_external_access')`,
	} {
		if _, err := e.QueryStatement(ctx, q); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	res, err := e.QueryStatement(ctx, `SELECT x, y FROM "covid.cases"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][1] != "a" {
		t.Errorf("rows = %v", res.Rows)
	}
}

// TestSandboxEscapes tries every way out we know of. Each must fail and
// say what was refused; none may leave a file behind.
func TestSandboxEscapes(t *testing.T) {
	e, dir, _, other := sandboxed(t)
	ctx := context.Background()
	out := filepath.Join(dir, "out")
	secret := filepath.Join(dir, "secret.csv")
	for _, tc := range []struct{ q, want string }{
		{`SELECT * FROM read_csv('/etc/passwd')`, `Cannot access file "/etc/passwd"`},
		{`SELECT * FROM read_csv(` + quoteLit(secret) + `)`, `Cannot access file`},
		{`SELECT * FROM read_text('/etc/passwd')`, `Cannot access file`},
		{`SELECT * FROM read_blob('/etc/passwd')`, `Cannot access file`},
		{`SELECT * FROM read_json('/etc/passwd')`, `Cannot access file`},
		{`SELECT * FROM sniff_csv('/etc/passwd')`, `Cannot access file`},
		{`SELECT * FROM '/etc/passwd'`, `does not exist`},
		{`SELECT * FROM read_parquet(` + quoteLit(other) + `)`, `Cannot access file`},
		{`SELECT * FROM parquet_metadata(` + quoteLit(other) + `)`, `Cannot access file`},
		{`SELECT * FROM glob(` + quoteLit(filepath.Join(dir, "data", "*")) + `)`, `Cannot access file`},
		{`SELECT * FROM read_parquet(` + quoteLit(filepath.Join(dir, "data", "*.parquet")) + `)`, `Cannot access file`},
		{`SELECT * FROM read_csv(` + quoteLit(filepath.Join(dir, "data", "..", "secret.csv")) + `)`, `Cannot access file`},
		{`COPY (SELECT 1) TO ` + quoteLit(out+".csv"), `Cannot access file`},
		{`COPY "covid.cases" TO ` + quoteLit(out+".parquet") + ` (FORMAT parquet)`, `Cannot access file`},
		{`EXPORT DATABASE ` + quoteLit(out), `Cannot access directory`},
		{`ATTACH ` + quoteLit(out+".db") + ` AS x`, `ATTACH statements are not allowed`},
		{`DETACH memory`, `DETACH statements are not allowed`},
		{`INSTALL httpfs`, `INSTALL/LOAD statements are not allowed`},
		{`LOAD httpfs`, `INSTALL/LOAD statements are not allowed`},
		{`SET enable_external_access=true`, `SET/RESET statements are not allowed`},
		{`SET allowed_paths=['/etc/passwd']`, `SET/RESET statements are not allowed`},
		{`RESET lock_configuration`, `SET/RESET statements are not allowed`},
		{`SET threads=1`, `SET/RESET statements are not allowed`},
		{`SET VARIABLE x = 1`, `SET/RESET statements are not allowed`},
		{`USE system`, `SET/RESET statements are not allowed`},
		{`PRAGMA enable_profiling`, `PRAGMA statements are not allowed`},
		{`PRAGMA threads=1`, `SET/RESET statements are not allowed`},
		{`CALL pragma_version()`, `CALL statements are not allowed`},
		{`CREATE TABLE t AS SELECT 1`, `CREATE statements are not allowed`},
		{`CREATE OR REPLACE VIEW "covid.cases" AS SELECT 666 AS x`, `CREATE statements are not allowed`},
		{`CREATE TEMP VIEW "covid.cases" AS SELECT 666 AS x`, `CREATE statements are not allowed`},
		{`CREATE MACRO m(a) AS a`, `CREATE statements are not allowed`},
		{`DROP VIEW "covid.cases"`, `DROP statements are not allowed`},
		{`ALTER VIEW "covid.cases" RENAME TO c`, `ALTER statements are not allowed`},
		{`INSERT INTO "covid.cases" VALUES (3, 'c')`, `not an table`},
		{`BEGIN TRANSACTION`, `transaction statement statements are not allowed`},
		{`CHECKPOINT`, `not allowed`},
		{`SELECT 1; COPY (SELECT 1) TO ` + quoteLit(out+".csv"), `several statements`},
		{`CREATE OR REPLACE VIEW "covid.cases" AS SELECT 666 AS x; SELECT 1`, `several statements`},
		{`SELECT * FROM query('COPY (SELECT 1) TO ''` + out + `.csv''')`, `Expected a single SELECT statement`},
	} {
		_, err := e.QueryStatement(ctx, tc.q)
		if err == nil {
			t.Errorf("%s: ran", tc.q)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.q, err, tc.want)
		}
	}
	// Nothing was written and the view is untouched.
	if m, _ := filepath.Glob(out + "*"); len(m) > 0 {
		t.Errorf("files written: %v", m)
	}
	res, err := e.QueryStatement(ctx, `SELECT x FROM "covid.cases"`)
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0] != int32(1) {
		t.Errorf("view after escapes: %v %v", res, err)
	}
	// Even the host's own Query cannot undo the lock.
	for _, q := range []string{`SET enable_external_access=true`, `RESET lock_configuration`, `SET allowed_paths=['/etc/passwd']`} {
		if _, err := e.Query(ctx, q); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Errorf("host %s: %v", q, err)
		}
	}
}

func TestSandboxRefusedIsErrRefused(t *testing.T) {
	e, _, _, _ := sandboxed(t)
	for _, q := range []string{`DROP VIEW "covid.cases"`, `SELECT * FROM read_csv('/etc/passwd')`, `SELECT 1; SELECT 2`} {
		_, err := e.QueryStatement(context.Background(), q)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want ErrRefused", q, err)
		}
	}
}

func TestCreateEmptyView(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ms := odf.TimeUnitMillisecond
	utc := "UTC"
	schema := &odf.DataSchema{Fields: []odf.DataField{
		{Name: "offset", Type: odf.DataTypeInt64{}},
		{Name: "system_time", Type: odf.DataTypeTimestamp{Unit: &ms, Timezone: &utc}},
		{Name: "city", Type: odf.DataTypeOption{Inner: odf.DataTypeString{}}},
	}}
	if err := e.CreateEmptyView(ctx, "a.b", schema); err != nil {
		t.Fatal(err)
	}
	cols, err := e.Columns(ctx, "a.b")
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, c := range cols {
		got += c.Name + " " + c.Type + ";"
	}
	if want := "offset BIGINT;system_time TIMESTAMP WITH TIME ZONE;city VARCHAR;"; got != want {
		t.Errorf("columns = %s, want %s", got, want)
	}
	res, err := e.Query(ctx, `SELECT count(*) FROM "a.b"`)
	if err != nil || res.Rows[0][0] != int64(0) {
		t.Errorf("count = %v %v", res, err)
	}
}

func TestWriteParquet(t *testing.T) {
	e, dir, _, _ := sandboxed(t)
	ctx := context.Background()
	res, err := e.QueryStatement(ctx, `SELECT x, y, x AS x, [1, 2] AS l, {'a': 1} AS s, 1.5::DECIMAL(4,2) AS d,
		TIMESTAMPTZ '2026-11-01 12:00:00+00' AS ts, NULL::VARCHAR AS n FROM "covid.cases"`)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "result.parquet")
	if err := WriteParquet(ctx, res, path); err != nil {
		t.Fatal(err)
	}
	// The locked engine cannot read it back; a fresh one can.
	f, err := Open(ctx, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := f.Query(ctx, "SELECT * FROM read_parquet("+quoteLit(path)+")")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(back.Columns, ","), "x,y,x_2,l,s,d,ts,n"; got != want {
		t.Errorf("columns = %s, want %s", got, want)
	}
	if got, want := strings.Join(back.Types, ","), strings.Join(res.Types, ","); got != want {
		t.Errorf("types = %s, want %s", got, want)
	}
	if len(back.Rows) != 1 || back.Rows[0][1] != "a" {
		t.Errorf("rows = %v", back.Rows)
	}
}
