package transform

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/engine/enginetest"
	"github.com/ipos-dev/ipos/internal/ingest/ingesttest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	*ingesttest.Env
	t   *testing.T
	ctx context.Context
	w   *workspace.Workspace
	eng *engine.Engine
	tr  *Transformer
}

func newEnv(t *testing.T) *env {
	e := ingesttest.New(t, "", t0)
	resolve := func(ctx context.Context, id odf.DatasetID) (*dataset.Dataset, error) {
		return e.W.Dataset(ctx, id.String())
	}
	return &env{Env: e, t: t, ctx: e.Ctx, w: e.W, eng: e.Eng,
		tr: New(e.Eng, resolve, Options{ScratchDir: e.Scratch, Now: e.Now}),
	}
}

func (e *env) add(manifests string) { e.Add(e.t, manifests) }

func (e *env) ds(name string) *dataset.Dataset { return e.Dataset(e.t, name) }

func (e *env) push(name, ndjson string) { e.Push(e.t, name, ndjson) }

func (e *env) pull(name string) *Result {
	e.t.Helper()
	r, err := e.tr.Pull(e.ctx, e.ds(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// rows lists a dataset's records as "offset op col=value …".
func (e *env) rows(name string, cols ...string) []string {
	e.t.Helper()
	files, err := e.ds(name).DataFiles(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return enginetest.Records(e.t, e.eng, files, cols...)
}

const manifests = `
kind: DatasetSnapshot
version: 1
content:
  name: cases
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read: { kind: NdJson, schema: { fields: [ {name: day, type: Date}, {name: region, type: String}, {name: n, type: Int64} ] } }
      merge: { kind: Ledger, primaryKey: [day, region] }
    - kind: SetVocab
      eventTimeColumn: day
---
kind: DatasetSnapshot
version: 1
content:
  name: regions
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read: { kind: NdJson, schema: { fields: [ {name: region, type: String}, {name: pop, type: Int64} ] } }
      merge: { kind: Snapshot, primaryKey: [region] }
---
kind: DatasetSnapshot
version: 1
content:
  name: cases.big
  kind: Derivative
  metadata:
    - kind: SetTransform
      inputs:
        - datasetRef: cases
      transform:
        kind: Sql
        engine: duckdb
        query: SELECT day, region, n FROM cases WHERE n >= 10
    - kind: SetVocab
      eventTimeColumn: day
---
kind: DatasetSnapshot
version: 1
content:
  name: cases.per-capita
  kind: Derivative
  metadata:
    - kind: SetTransform
      inputs:
        - datasetRef: cases
        - datasetRef: regions
          alias: r
      transform:
        kind: Sql
        engine: duckdb
        queries:
          - alias: totals
            query: SELECT region, sum(n) AS total FROM cases GROUP BY region
          - query: |
              SELECT t.region, t.total, t.total * 1000 / r.pop AS per_mille
              FROM totals t JOIN r ON t.region = r.region
`

func TestDerivativesIncrementalWithRetractions(t *testing.T) {
	e := newEnv(t)
	e.add(manifests)
	e.push("cases", `{"day":"2026-01-01","region":"a","n":5}
{"day":"2026-01-01","region":"b","n":20}
`)
	// An input without data: the join waits.
	if r := e.pull("cases.per-capita"); r == nil || r.Waiting == "" {
		t.Fatalf("expected to wait for regions: %+v", r)
	}
	e.push("regions", `{"region":"a","pop":1000}
{"region":"b","pop":2000}
`)
	if r := e.pull("cases.big"); r.Rows != 1 {
		t.Fatalf("cases.big: %+v", r)
	}
	if r := e.pull("cases.per-capita"); r.Rows != 2 {
		t.Fatalf("cases.per-capita: %+v", r)
	}
	// Up to date: nothing to do.
	if r := e.pull("cases.big"); r != nil {
		t.Fatalf("second pull: %+v", r)
	}
	// New data: the filter appends; the aggregate retracts and appends.
	e.push("cases", `{"day":"2026-01-02","region":"a","n":30}
`)
	// A snapshot correction in an input flows through the join.
	e.push("regions", `{"region":"a","pop":1000}
{"region":"b","pop":4000}
`)
	// The filter reads only the new slice; the join recomputes.
	if r := e.pull("cases.big"); r.Rows != 1 || r.Offsets.Start != 1 || !r.Incremental {
		t.Fatalf("cases.big, second run: %+v", r)
	}
	if r := e.pull("cases.per-capita"); r.Rows != 4 || r.Incremental {
		t.Fatalf("cases.per-capita, second run: %+v", r)
	}
	enginetest.EqualLines(t, e.rows("cases.big", "region", "n"), []string{
		"0 +A region=b n=20",
		"1 +A region=a n=30",
	})
	enginetest.EqualLines(t, e.rows("cases.per-capita", "region", "total", "per_mille"), []string{
		"0 +A region=a total=5 per_mille=5",
		"1 +A region=b total=20 per_mille=10",
		"2 -R region=a total=5 per_mille=5",
		"3 -R region=b total=20 per_mille=10",
		"4 +A region=a total=35 per_mille=35",
		"5 +A region=b total=20 per_mille=5",
	})
	// The output watermark is the minimum of the inputs': regions has
	// none, so per-capita has none; cases.big follows cases.
	st, _ := e.ds("cases.big").Chain.LoadState(e.ctx)
	if st.Watermark == nil || !st.Watermark.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("cases.big watermark %v", st.Watermark)
	}
	// A retraction in a root flows through a stateless derivative.
	for _, name := range []string{"cases.big", "cases.per-capita"} {
		rep, err := e.tr.Reproduce(e.ctx, e.ds(name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Transforms != 2 {
			t.Fatalf("%s: %d transforms reproduced", name, rep.Transforms)
		}
		if _, err := e.ds(name).VerifyIntegrity(e.ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRetractionsFlowThrough(t *testing.T) {
	e := newEnv(t)
	e.add(`
kind: DatasetSnapshot
version: 1
content:
  name: stock
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read: { kind: NdJson, schema: { fields: [ {name: item, type: String}, {name: qty, type: Int64} ] } }
      merge: { kind: Snapshot, primaryKey: [item] }
---
kind: DatasetSnapshot
version: 1
content:
  name: stock.low
  kind: Derivative
  metadata:
    - kind: SetTransform
      inputs: [ { datasetRef: stock } ]
      transform: { kind: Sql, engine: duckdb, query: "SELECT item, qty FROM stock WHERE qty < 10" }
`)
	e.push("stock", `{"item":"x","qty":5}
{"item":"y","qty":50}
`)
	e.pull("stock.low")
	// x is restocked (a correction), y runs low, z appears low.
	e.push("stock", `{"item":"x","qty":15}
{"item":"y","qty":3}
{"item":"z","qty":1}
`)
	e.pull("stock.low")
	enginetest.EqualLines(t, e.rows("stock.low", "item", "qty"), []string{
		"0 +A item=x qty=5",
		"1 -R item=x qty=5",
		"2 +A item=y qty=3",
		"3 +A item=z qty=1",
	})
	if _, err := e.tr.Reproduce(e.ctx, e.ds("stock.low"), nil); err != nil {
		t.Fatal(err)
	}
}

func TestReproduceNamesAForgedBlock(t *testing.T) {
	e := newEnv(t)
	e.add(manifests)
	e.push("cases", `{"day":"2026-01-01","region":"a","n":50}
`)
	e.pull("cases.big")
	d := e.ds("cases.big")
	// Forge a second run: consume new input data, but commit the output
	// of another query. Every hash is consistent, so integrity holds; only
	// re-running the transform can tell.
	e.push("cases", `{"day":"2026-01-02","region":"b","n":70}
`)
	tx, err := d.Chain.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := tx.State()
	cases := e.ds("cases")
	head, _ := cases.Chain.Head(e.ctx)
	cst, _ := cases.Chain.LoadState(e.ctx)
	files, _ := cases.DataFiles(e.ctx)
	out := filepath.Join(t.TempDir(), "forged.parquet")
	forged := "SELECT day, region, n * 2 AS n FROM cases WHERE n >= 10"
	prev, _ := d.DataFiles(e.ctx)
	res, err := e.eng.Transform(e.ctx, engine.TransformRequest{
		Inputs:    []engine.TransformInput{{Name: "cases", Files: files}},
		Transform: odf.TransformSQL{Engine: "duckdb", Query: &forged},
		Prev:      prev, Vocab: engine.VocabFrom(st.Vocab()), SystemTime: t0.Add(time.Hour), EventTime: cst.Watermark,
		NextOffset: *st.LastOffset + 1, Out: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	slice, err := d.StoreSlice(e.ctx, out, *st.LastOffset+1, res.Rows)
	if err != nil {
		t.Fatal(err)
	}
	last, _, _ := lastConsumed(e.ctx, d)
	q := last[cases.ID]
	forgedBlock, err := tx.Append(e.ctx, &odf.MetadataBlock{SystemTime: t0.Add(time.Hour), Event: odf.ExecuteTransform{
		QueryInputs: []odf.ExecuteTransformInput{{DatasetID: cases.ID, PrevBlockHash: q.NewBlockHash, NewBlockHash: head, PrevOffset: q.NewOffset, NewOffset: cst.LastOffset}},
		PrevOffset:  st.LastOffset, NewData: slice, NewWatermark: cst.Watermark,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.VerifyIntegrity(e.ctx, nil); err != nil {
		t.Fatalf("integrity should hold for a consistent forgery: %v", err)
	}
	_, err = e.tr.Reproduce(e.ctx, d, nil)
	var re *ReproduceError
	if !errors.As(err, &re) || !re.Block.Equal(forgedBlock) || !strings.Contains(err.Error(), "different records") {
		t.Fatalf("got %v, want a ReproduceError naming %s", err, forgedBlock)
	}
}

// Rewriting history consistently — a different stored query, every later
// block re-hashed and re-linked — passes integrity checks but not
// reproduction, which names the first ExecuteTransform the new query does
// not produce.
func TestReproduceCatchesAChangedStoredQuery(t *testing.T) {
	e := newEnv(t)
	e.add(manifests)
	e.push("cases", `{"day":"2026-01-01","region":"a","n":50}
{"day":"2026-01-01","region":"b","n":5}
`)
	e.pull("cases.big")
	d := e.ds("cases.big")
	head, _ := d.Chain.Head(e.ctx)
	var blocks []*odf.MetadataBlock
	for b, err := range d.Chain.Walk(e.ctx, head) {
		if err != nil {
			t.Fatal(err)
		}
		blocks = append([]*odf.MetadataBlock{b.MetadataBlock}, blocks...)
	}
	var prev, firstExec odf.Multihash
	for _, b := range blocks {
		if st, ok := b.Event.(odf.SetTransform); ok {
			q := "SELECT day, region, n FROM cases WHERE n >= 1"
			st.Transform = odf.TransformSQL{Engine: "duckdb", Queries: []odf.SqlQueryStep{{Query: q}}}
			b.Event = st
		}
		b.PrevBlockHash = prev
		data, err := odf.EncodeBlock(b)
		if err != nil {
			t.Fatal(err)
		}
		if prev, err = d.Store.Blocks.Put(e.ctx, data); err != nil {
			t.Fatal(err)
		}
		if _, ok := b.Event.(odf.ExecuteTransform); ok && firstExec == nil {
			firstExec = prev
		}
	}
	if err := d.Store.Refs.CompareAndSwap(e.ctx, "head", head, prev); err != nil {
		t.Fatal(err)
	}
	d = e.ds("cases.big")
	if _, err := d.VerifyIntegrity(e.ctx, nil); err != nil {
		t.Fatalf("the rewritten chain is consistent, integrity should hold: %v", err)
	}
	_, err := e.tr.Reproduce(e.ctx, d, nil)
	var re *ReproduceError
	if !errors.As(err, &re) || !re.Block.Equal(firstExec) {
		t.Fatalf("got %v, want a ReproduceError naming %s", err, firstExec)
	}
}
