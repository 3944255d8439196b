package query

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/ingest/ingesttest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const manifests = `
kind: DatasetSnapshot
version: 1
content:
  name: covid.cases
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: city, type: String }
            - { name: cases, type: Int64 }
      merge:
        kind: Append
---
kind: DatasetSnapshot
version: 1
content:
  name: regions
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: region, type: String }
      merge:
        kind: Append
---
kind: DatasetSnapshot
version: 1
content:
  name: empty
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: x, type: String }
      merge:
        kind: Append
---
kind: DatasetSnapshot
version: 1
content:
  name: schemaonly
  kind: Root
  metadata:
    - kind: SetDataSchema
      schema:
        fields:
          - { name: offset, type: { kind: Int64 } }
          - { name: x, type: { kind: Option, inner: { kind: String } } }
`

// fixture is a workspace with covid.cases ingested twice (at t0+1m and
// t0+3m) and regions once (t0+2m), and an empty dataset.
type fixture struct {
	ctx             context.Context
	w               *workspace.Workspace
	heads           map[string][]odf.Multihash // AddData blocks per dataset, oldest first
	firstCovidBlock odf.Multihash
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := ingesttest.New(t, manifests, t0)
	f := &fixture{ctx: e.Ctx, w: e.W, heads: map[string][]odf.Multihash{}}
	push := func(name, content string) {
		t.Helper()
		f.heads[name] = append(f.heads[name], e.Push(t, name, content).Head)
	}
	push("covid.cases", `{"city": "kyiv", "cases": 1}`+"\n"+`{"city": "lviv", "cases": 2}`+"\n")
	push("regions", `{"region": "north"}`+"\n")
	push("covid.cases", `{"city": "odesa", "cases": 3}`+"\n")
	return f
}

func (f *fixture) open(t *testing.T, asAt string) *Session {
	t.Helper()
	s, err := Open(f.ctx, f.w, Options{AsAt: asAt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rows runs a query and renders its rows as "a b c" lines.
func rows(t *testing.T, s *Session, q string) []string {
	t.Helper()
	res, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := []string{}
	for _, r := range res.Rows {
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestSessionLatest(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, "")
	if got, want := rows(t, s, `SELECT "offset", op, city, cases FROM "covid.cases" ORDER BY "offset"`),
		[]string{"0 0 kyiv 1", "1 0 lviv 2", "2 0 odesa 3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("covid.cases = %v, want %v", got, want)
	}
	if got := rows(t, s, `SELECT region FROM regions`); !reflect.DeepEqual(got, []string{"north"}) {
		t.Errorf("regions = %v", got)
	}
	var names []string
	for _, tb := range s.Datasets() {
		names = append(names, tb.Name+":"+tb.Note)
	}
	if want := []string{"covid.cases:", "empty:skipped: no data and no schema yet", "regions:", "schemaonly:no data yet"}; !reflect.DeepEqual(names, want) {
		t.Errorf("datasets = %v, want %v", names, want)
	}
	if got := rows(t, s, `SELECT count(*) FROM schemaonly`); got[0] != "0" {
		t.Errorf("schemaonly = %v", got)
	}
	tb, err := s.Table("covid.cases")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range tb.Columns {
		cols = append(cols, c.Name)
	}
	if want := "offset op system_time event_time city cases"; strings.Join(cols, " ") != want {
		t.Errorf("columns = %v, want %s", cols, want)
	}
	if tb.Files != 2 || !tb.Head.Equal(f.heads["covid.cases"][1]) {
		t.Errorf("table = %+v", tb)
	}
}

func TestSessionAsAtBlock(t *testing.T) {
	f := newFixture(t)
	first := f.heads["covid.cases"][0]
	for _, ref := range []string{first.String(), first.String()[:16]} {
		s := f.open(t, ref)
		if got, want := rows(t, s, `SELECT "offset", city FROM "covid.cases" ORDER BY "offset"`),
			[]string{"0 kyiv", "1 lviv"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: covid.cases = %v, want %v", ref, got, want)
		}
		// regions was first ingested after that block: no data, but its
		// schema... is only set by the ingest, so it has no view.
		tb, _ := s.Table("regions")
		if len(tb.Columns) != 0 || !strings.Contains(tb.Note, "no data and no schema") {
			t.Errorf("%s: regions = %+v", ref, tb)
		}
		if _, err := s.Query(f.ctx, `SELECT * FROM regions`); err == nil {
			t.Errorf("%s: regions has a view", ref)
		}
	}
	// As at the regions block, covid.cases is at its first ingest.
	s := f.open(t, f.heads["regions"][0].String())
	if got := rows(t, s, `SELECT count(*) FROM "covid.cases"`); got[0] != "2" {
		t.Errorf("covid.cases as at regions: %v", got)
	}
	if got := rows(t, s, `SELECT count(*) FROM regions`); got[0] != "1" {
		t.Errorf("regions as at its block: %v", got)
	}
}

func TestSessionAsAtTime(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		at          string
		covid, regs string
	}{
		{"2026-11-01", "", ""},                  // before the datasets existed
		{"2026-11-01T12:01:00Z", "2", ""},       // first covid ingest
		{"2026-11-01T12:02:30Z", "2", "1"},      // then regions
		{"2026-11-01T14:02:30+02:00", "2", "1"}, // the same instant
		{"2026-11-01T12:03:00Z", "3", "1"},      // second covid ingest
		{"2026-11-02", "3", "1"},                // later
		{"2026-11-01T12:00:59.999999Z", "", ""}, // just before
	} {
		s := f.open(t, tc.at)
		count := func(name string) string {
			if tb, _ := s.Table(name); len(tb.Columns) == 0 {
				return ""
			}
			return rows(t, s, `SELECT count(*) FROM "`+name+`"`)[0]
		}
		if got := count("covid.cases"); got != tc.covid {
			t.Errorf("%s: covid.cases count = %q, want %q", tc.at, got, tc.covid)
		}
		if got := count("regions"); got != tc.regs {
			t.Errorf("%s: regions count = %q, want %q", tc.at, got, tc.regs)
		}
	}
	// Before the datasets existed.
	s := f.open(t, "2026-10-01")
	tb, _ := s.Table("covid.cases")
	if !strings.Contains(tb.Note, "did not exist yet") {
		t.Errorf("note = %q", tb.Note)
	}
}

func TestSessionAsAtErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		at   string
		want error
	}{
		{"yesterday", ErrBadAsAt},
		{"2026-13-01", ErrBadAsAt},
		{"f1620", ErrBadAsAt},
		{"f1620" + strings.Repeat("0", 64), ErrBlockNotFound},
		{"f1620deadbeef", ErrBlockNotFound},
		{"f1620", ErrBadAsAt},
	} {
		_, err := Open(f.ctx, f.w, Options{AsAt: tc.at})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.at, err, tc.want)
		}
	}
}

func TestSessionSandbox(t *testing.T) {
	f := newFixture(t)
	s := f.open(t, f.heads["covid.cases"][0].String())
	// The second slice of covid.cases is in the same folder but committed
	// after the point: it cannot be read directly either.
	d, err := f.w.Dataset(f.ctx, "covid.cases")
	if err != nil {
		t.Fatal(err)
	}
	latest, err := Resolve(f.ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	later := latest.Files[1]
	for _, q := range []string{
		`SELECT * FROM read_parquet('` + later + `')`,
		`SELECT * FROM read_csv('/etc/passwd')`,
		`COPY (SELECT 1) TO '` + filepath.Join(f.w.Root, "x.csv") + `'`,
		`CREATE OR REPLACE VIEW "covid.cases" AS SELECT 1`,
		`ATTACH ':memory:' AS x`,
		`SET enable_external_access = true`,
		`INSTALL httpfs`,
	} {
		if _, err := s.Query(f.ctx, q); !errors.Is(err, engine.ErrRefused) {
			t.Errorf("%s: err = %v, want refused", q, err)
		}
	}
}

func TestResolveTail(t *testing.T) {
	f := newFixture(t)
	d, err := f.w.Dataset(f.ctx, "covid.cases")
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.w.Datasets(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.DataFiles(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Resolve(f.ctx, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Files, want) || snap.Vocab.Offset != "offset" || snap.Schema == nil {
		t.Errorf("snapshot = %+v, want files %v", snap, want)
	}
	at, err := ParseAsAt(f.ctx, all, f.heads["covid.cases"][0].String())
	if err != nil {
		t.Fatal(err)
	}
	snap, err = Resolve(f.ctx, d, at)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Files, want[:1]) || !snap.Head.Equal(at.Block) {
		t.Errorf("snapshot as at first block = %+v", snap)
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		stmts []string
		rest  string
	}{
		{"SELECT 1", nil, "SELECT 1"},
		{"SELECT 1;", []string{"SELECT 1"}, ""},
		{"SELECT 1; SELECT 2;\n", []string{"SELECT 1", "SELECT 2"}, ""},
		{"SELECT ';';", []string{"SELECT ';'"}, ""},
		{"SELECT 'it''s;'; x", []string{"SELECT 'it''s;'"}, "x"},
		{`SELECT * FROM "a;b";`, []string{`SELECT * FROM "a;b"`}, ""},
		{"SELECT 1 -- no; here\n;", []string{"SELECT 1 -- no; here"}, ""},
		{"SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}, ""},
		{"SELECT $$a;b$$;", []string{"SELECT $$a;b$$"}, ""},
		{"SELECT $x$a;b$x$; SELECT", []string{"SELECT $x$a;b$x$"}, "SELECT"},
		{";;  ;", nil, ""},
		{"-- only a comment\n", nil, ""},
		{"SELECT 'unterminated;", nil, "SELECT 'unterminated;"},
		{"/* open; ", nil, "/* open;"},
	} {
		stmts, rest := Split(tc.in)
		if !reflect.DeepEqual(stmts, tc.stmts) || rest != tc.rest {
			t.Errorf("Split(%q) = %q, %q; want %q, %q", tc.in, stmts, rest, tc.stmts, tc.rest)
		}
	}
}
