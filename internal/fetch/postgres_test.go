package fetch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/fetch/fetchtest"
	"github.com/ipos-dev/ipos/internal/odf"
)

// sortedLines returns a file's NDJSON lines in sorted order (PostgreSQL
// does not fix the order of an unordered read).
func sortedLines(t *testing.T, it Item) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(readItem(t, it), "\n"), "\n")
	slices.Sort(lines)
	return lines
}

func TestPostgresDepot(t *testing.T) {
	conn, schema := fetchtest.NewPostgres(t)
	ctx := t.Context()
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, strings.ReplaceAll(sql, "S.", schema+".")); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE S.orders (
		id int PRIMARY KEY, customer text, amount numeric(14,2), ratio float8, paid bool,
		placed timestamptz, due timestamp, day date, raw bytea, tags text[], grid int[][], doc jsonb, note text)`)
	exec(`INSERT INTO S.orders VALUES
		(1, 'Ada', 12345678901.25, 0.1, true, '2024-03-01 10:00:00.123456+02', '2024-03-02 08:30:00', '2024-03-01',
		 '\x00ff10', '{a,"b c","d\"e",NULL}', '{{1,2},{3,4}}', '{"k": [1, "x"]}', NULL),
		(2, 'Bob "the" <builder>', -0.50, 'NaN', false, 'infinity', NULL, NULL, '\x', '{}', NULL, 'null', 'ü')`)
	dsn := fetchtest.PostgresDSN()
	opts := depotOptions(t, map[string]*Depot{
		"db":      {Postgres: &PostgresDepot{DSN: dsn}},
		"orders":  {Postgres: &PostgresDepot{DSN: dsn, Table: schema + ".orders"}},
		"big":     {Postgres: &PostgresDepot{DSN: dsn, Query: "SELECT id, customer AS who FROM " + schema + ".orders WHERE amount > 0;"}},
		"dup":     {Postgres: &PostgresDepot{DSN: dsn, Query: "SELECT 1 AS a, 2 AS a"}},
		"bad":     {Postgres: &PostgresDepot{DSN: dsn, Query: "SELEC nothing"}},
		"write":   {Postgres: &PostgresDepot{DSN: dsn, Query: "INSERT INTO " + schema + ".orders (id) VALUES (99) RETURNING id"}},
		"slow":    {Postgres: &PostgresDepot{DSN: dsn, Query: "SELECT pg_sleep(30)"}},
		"offline": {Postgres: &PostgresDepot{DSN: "postgres://ipos:hunter2-pw@127.0.0.1:1/test?connect_timeout=5", Table: "t"}},
		"nobody":  {Postgres: &PostgresDepot{DSN: "postgres://nobody_ipos:hunter2-pw@127.0.0.1:5432/test", Table: "t"}},
		"garbage": {Postgres: &PostgresDepot{DSN: "postgres://u:hunter2-pw@[::1", Table: "t"}},
	})

	t.Run("Table", func(t *testing.T) {
		step := odf.FetchStepURL{URL: "depot://db/" + schema + ".orders"}
		items, err := Fetch(ctx, step, nil, opts)
		if err != nil || len(items) != 1 {
			t.Fatalf("first read: %+v %v", items, err)
		}
		want := []string{
			`{"id":1,"customer":"Ada","amount":12345678901.25,"ratio":0.1,"paid":true,"placed":"2024-03-01T08:00:00.123456Z","due":"2024-03-02T08:30:00Z","day":"2024-03-01","raw":"AP8Q","tags":["a","b c","d\"e",null],"grid":[[1,2],[3,4]],"doc":{"k": [1, "x"]},"note":null}`,
			`{"id":2,"customer":"Bob \"the\" \u003cbuilder\u003e","amount":-0.50,"ratio":"NaN","paid":false,"placed":"infinity","due":null,"day":null,"raw":"","tags":[],"grid":null,"doc":null,"note":"ü"}`,
		}
		if got := sortedLines(t, items[0]); !slices.Equal(got, want) {
			t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		st := items[0].State
		if st == nil || st.Kind != StateKindETag || !strings.HasPrefix(st.Value, StatePrefixRows) || items[0].EventTime != nil {
			t.Errorf("item %+v, state %+v", items[0], st)
		}
		if items, err := Fetch(ctx, step, st, opts); err != nil || len(items) != 0 {
			t.Fatalf("unchanged table read again: %+v %v", items, err)
		}
		// The same rows in another physical order are the same state.
		exec(`UPDATE S.orders SET note = note WHERE id = 1`)
		if items, err := Fetch(ctx, step, st, opts); err != nil || len(items) != 0 {
			t.Fatalf("rows moved, not changed: %+v %v", items, err)
		}
		exec(`UPDATE S.orders SET paid = true WHERE id = 2`)
		items, err = Fetch(ctx, step, st, opts)
		if err != nil || len(items) != 1 || items[0].State.Value == st.Value {
			t.Fatalf("changed row: %+v %v", items, err)
		}
		exec(`UPDATE S.orders SET paid = false WHERE id = 2`)
	})

	t.Run("DefaultRelation", func(t *testing.T) {
		items, err := Fetch(ctx, odf.FetchStepURL{URL: "depot://orders"}, nil, opts)
		if err != nil || len(items) != 1 || len(sortedLines(t, items[0])) != 2 {
			t.Fatalf("depot table: %+v %v", items, err)
		}
		items, err = Fetch(ctx, odf.FetchStepURL{URL: "depot://big"}, nil, opts)
		if err != nil || len(items) != 1 {
			t.Fatalf("depot query: %+v %v", items, err)
		}
		if got := sortedLines(t, items[0]); !slices.Equal(got, []string{`{"id":1,"who":"Ada"}`}) {
			t.Errorf("query rows: %q", got)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Fetch(short, odf.FetchStepURL{URL: "depot://slow"}, nil, opts)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
			t.Errorf("slow query under a deadline: %v after %v", err, time.Since(start))
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{"depot://db/" + schema + ".missing", `depot "db": read table ` + schema + `.missing: ERROR: relation "` + schema + `.missing" does not exist`},
			{"depot://db/orders; DROP TABLE x", `depot "db": "orders; DROP TABLE x" is not a table name`},
			{"depot://db", `depot "db" has neither a table nor a query`},
			{"depot://dup", `two result columns are named "a"`},
			{"depot://bad", `depot "bad": read the depot's query: ERROR: syntax error`},
			{"depot://write", `read-only transaction`},
			{"depot://offline", `depot "offline": cannot connect to PostgreSQL`},
			{"depot://nobody", `depot "nobody": cannot connect to PostgreSQL`},
			{"depot://garbage", `depot "garbage": the DSN is not a PostgreSQL connection string`},
		} {
			_, err := Fetch(ctx, odf.FetchStepURL{URL: tc.url}, nil, opts)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v\nwant %q", tc.url, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: error shows the password: %v", tc.url, err)
			}
		}
		_, err := Fetch(ctx, odf.FetchStepFilesGlob{Path: "depot://db/*.csv"}, nil, opts)
		if err == nil || !strings.Contains(err.Error(), "a FilesGlob cannot list it") {
			t.Errorf("glob over a database: %v", err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+schema+".orders").Scan(&n); err != nil || n != 2 {
			t.Errorf("a depot read changed the table: %d rows, %v", n, err)
		}
	})
}
