package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/engine/enginetest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// env is a workspace with an engine and an ingester whose clock ticks a
// minute per call.
type env struct {
	t   *testing.T
	ctx context.Context
	w   *workspace.Workspace
	eng *engine.Engine
	in  *Ingester
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	w, err := workspace.Init(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	clock := t0
	opts.BaseDir = w.Root
	opts.ScratchDir = filepath.Join(w.Dir(), "tmp")
	if opts.Now == nil {
		opts.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	}
	return &env{t: t, ctx: ctx, w: w, eng: eng, in: New(eng, opts)}
}

func (e *env) add(manifest string) *dataset.Dataset {
	e.t.Helper()
	snaps, err := odf.ParseSnapshots("test.yaml", []byte(manifest))
	if err != nil {
		e.t.Fatal(err)
	}
	made, err := e.w.AddDatasets(e.ctx, snaps, t0)
	if err != nil {
		e.t.Fatal(err)
	}
	return made[0]
}

func (e *env) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.w.Root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// rows returns the dataset's records as "offset op col=val …" lines.
func (e *env) rows(d *dataset.Dataset, cols ...string) []string {
	e.t.Helper()
	files, err := d.DataFiles(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return enginetest.Records(e.t, e.eng, files, cols...)
}

func (e *env) verify(d *dataset.Dataset) *dataset.VerifyReport {
	e.t.Helper()
	rep, err := d.VerifyIntegrity(e.ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

const pushLedger = `
kind: DatasetSnapshot
version: 1
content:
  name: cities
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: date, type: Date }
            - { name: city, type: String }
            - { name: population, type: Int64 }
      merge:
        kind: Ledger
        primaryKey: [city]
    - kind: SetVocab
      eventTimeColumn: date
`

func TestPushLedger(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(pushLedger)
	b1 := e.file("b1.ndjson", `{"date":"2026-01-01","city":"kyiv","population":3000}
{"date":"2026-01-02","city":"vancouver","population":600}
{"date":"2026-01-01","city":"seattle","population":700}
`)
	r, err := e.in.Push(e.ctx, d, "", []string{b1}, "b1.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 3 || r.Offsets.Start != 0 || r.Offsets.End != 2 || !r.Watermark.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("first commit: %+v", r)
	}
	b2 := e.file("b2.ndjson", `{"date":"2026-01-03","city":"kyiv","population":3100}
{"date":"2026-01-03","city":"odessa","population":1000}
`)
	r, err = e.in.Push(e.ctx, d, "default", []string{b2}, "b2.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 1 || r.Offsets.Start != 3 {
		t.Fatalf("second commit: %+v", r)
	}
	// Ledger: a key seen before is dropped, never corrected.
	enginetest.EqualLines(t, e.rows(d, "city", "population"), []string{
		"0 +A city=kyiv population=3000",
		"1 +A city=seattle population=700",
		"2 +A city=vancouver population=600",
		"3 +A city=odessa population=1000",
	})
	rep := e.verify(d)
	if rep.DataFiles != 2 {
		t.Fatalf("%d data files", rep.DataFiles)
	}
	// The schema was recorded once.
	st, _ := d.Chain.LoadState(e.ctx)
	schemas := 0
	head, _ := d.Chain.Head(e.ctx)
	for b, err := range d.Chain.Walk(e.ctx, head) {
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := b.Event.(odf.SetDataSchema); ok {
			schemas++
		}
	}
	if schemas != 1 || st.Latest["SetDataSchema"] == nil {
		t.Fatalf("%d SetDataSchema blocks", schemas)
	}
	// The same batch again commits nothing.
	if r, err := e.in.Push(e.ctx, d, "", []string{b2}, "b2.ndjson"); err != nil || r != nil {
		t.Fatalf("repeat: %+v %v", r, err)
	}
}

const pollSnapshot = `
kind: DatasetSnapshot
version: 1
content:
  name: regions
  kind: Root
  metadata:
    - kind: SetPollingSource
      fetch:
        kind: FilesGlob
        path: data/regions-*.csv
        order: ByName
      read:
        kind: Csv
        header: true
        schema:
          fields:
            - { name: region, type: String }
            - { name: population, type: Int64 }
      merge:
        kind: Snapshot
        primaryKey: [region]
`

func TestPullSnapshotFilesGlob(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(pollSnapshot)
	e.file("data/regions-1.csv", "region,population\nvancouver,1\nseattle,2\nkyiv,3\n")
	res, err := e.in.Pull(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Rows != 3 {
		t.Fatalf("first pull: %+v", res)
	}
	// Nothing new: up to date.
	if res, err := e.in.Pull(e.ctx, d); err != nil || len(res) != 0 {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	e.file("data/regions-2.csv", "region,population\nseattle,2\nkyiv,4\nodessa,5\n")
	res, err = e.in.Pull(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Rows != 4 {
		t.Fatalf("third pull: %+v", res)
	}
	// kamu's "mix of changes": sorted by key, -C right before +C.
	enginetest.EqualLines(t, e.rows(d, "region", "population"), []string{
		"0 +A region=kyiv population=3",
		"1 +A region=seattle population=2",
		"2 +A region=vancouver population=1",
		"3 -C region=kyiv population=3",
		"4 +C region=kyiv population=4",
		"5 +A region=odessa population=5",
		"6 -R region=vancouver population=1",
	})
	e.verify(d)
}

func TestPullURLGzipETag(t *testing.T) {
	body := `{"id":1,"v":"a"}` + "\n" + `{"id":2,"v":"b"}` + "\n"
	etag := `"v1"`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		w.Header().Set("ETag", etag)
		w.Write(buf.Bytes())
	}))
	defer srv.Close()
	e := newEnv(t, Options{})
	d := e.add(`
kind: DatasetSnapshot
version: 1
content:
  name: remote
  kind: Root
  metadata:
    - kind: SetPollingSource
      fetch:
        kind: Url
        url: ` + srv.URL + `/data.ndjson.gz
      prepare:
        - kind: Decompress
          format: Gzip
      read:
        kind: NdJson
        schema:
          fields:
            - { name: id, type: Int64 }
            - { name: v, type: String }
      merge:
        kind: Ledger
        primaryKey: [id]
`)
	res, err := e.in.Pull(e.ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Rows != 2 {
		t.Fatalf("first pull: %+v", res)
	}
	// An unchanged source commits nothing.
	if res, err := e.in.Pull(e.ctx, d); err != nil || len(res) != 0 {
		t.Fatalf("unchanged: %+v %v", res, err)
	}
	body += `{"id":3,"v":"c"}` + "\n"
	etag = `"v2"`
	res, err = e.in.Pull(e.ctx, d)
	if err != nil || len(res) != 1 || res[0].Rows != 1 {
		t.Fatalf("changed: %+v %v", res, err)
	}
	st, _ := d.Chain.LoadState(e.ctx)
	if s := st.SourceStates[pollingSourceName]; s.Value != `"v2"` {
		t.Fatalf("source state %+v", s)
	}
	e.verify(d)
}

func TestBadValueChangesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(pollSnapshot)
	e.file("data/regions-1.csv", "region,population\nvancouver,1\nseattle,lots\n")
	before, _ := d.Chain.Head(e.ctx)
	_, err := e.in.Pull(e.ctx, d)
	if err == nil {
		t.Fatal("a bad value was ingested")
	}
	for _, want := range []string{"regions-1.csv", "population"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	after, _ := d.Chain.Head(e.ctx)
	if !after.Equal(before) {
		t.Fatal("a failed pull moved the head")
	}
	entries, _ := os.ReadDir(filepath.Join(d.Dir, "data"))
	if len(entries) != 0 {
		t.Fatalf("a failed pull stored %d data files", len(entries))
	}
	scratch, _ := os.ReadDir(filepath.Join(e.w.Dir(), "tmp"))
	if len(scratch) != 0 {
		t.Fatalf("scratch left behind: %d entries", len(scratch))
	}
}

func TestSetWatermark(t *testing.T) {
	e := newEnv(t, Options{})
	d := e.add(pushLedger)
	wm := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if _, err := SetWatermark(e.ctx, d, wm, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := SetWatermark(e.ctx, d, wm.Add(-time.Hour), t0.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "before the previous") {
		t.Fatalf("moving the watermark back: %v", err)
	}
	st, _ := d.Chain.LoadState(e.ctx)
	if !st.Watermark.Equal(wm) {
		t.Fatalf("watermark %v", st.Watermark)
	}
}

// The kill test: a child process ingests and stops dead (os.Exit, no
// deferred cleanup) at each step of a commit. Whatever the step, the
// dataset verifies, holds either all of the batch or none of it, and the
// next ingest starts clean.
const failEnv = "IPOS_INGEST_FAIL_AT"

func TestMain(m *testing.M) {
	if spec := os.Getenv(failEnv); spec != "" {
		os.Exit(failingChild(spec))
	}
	os.Exit(m.Run())
}

func failingChild(spec string) int {
	parts := strings.SplitN(spec, ",", 4)
	mode, step, root, file := parts[0], parts[1], parts[2], parts[3]
	ctx := context.Background()
	w, err := workspace.Open(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	name := "cities"
	if mode == "pull" {
		name = "regions"
	}
	d, err := w.Dataset(ctx, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	eng, err := engine.Open(ctx, engine.DefaultConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	in := New(eng, Options{BaseDir: root, ScratchDir: filepath.Join(w.Dir(), "tmp"), Failpoint: func(s string) {
		if s == step {
			os.Exit(42)
		}
	}})
	if mode == "pull" {
		_, err = in.Pull(ctx, d)
	} else {
		_, err = in.Push(ctx, d, "", []string{file}, file)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

var failSteps = []string{"read", "merge", "data-stored", "blocks-stored", "committed"}

// runFailing runs a child that stops dead at step and checks it did.
func runFailing(t *testing.T, mode, step, root, file string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%s,%s", failEnv, mode, step, root, file))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
		t.Fatalf("child did not stop at %s: %v\n%s", step, err, out)
	}
}

func TestKilledPullLosesNothing(t *testing.T) {
	for _, step := range failSteps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, Options{})
			d := e.add(pollSnapshot)
			e.file("data/regions-1.csv", "region,population\nkyiv,3\nseattle,2\n")
			if _, err := e.in.Pull(e.ctx, d); err != nil {
				t.Fatal(err)
			}
			e.file("data/regions-2.csv", "region,population\nkyiv,4\nseattle,2\n")
			runFailing(t, "pull", step, e.w.Root, "")
			e.verify(d)
			want := []string{"0 +A region=kyiv population=3", "1 +A region=seattle population=2"}
			if step == "committed" {
				want = append(want, "2 -C region=kyiv population=3", "3 +C region=kyiv population=4")
			}
			enginetest.EqualLines(t, e.rows(d, "region", "population"), want)
			// The next pull picks up exactly what is missing.
			if _, err := e.in.Pull(e.ctx, d); err != nil {
				t.Fatal(err)
			}
			enginetest.EqualLines(t, e.rows(d, "region", "population"), []string{
				"0 +A region=kyiv population=3", "1 +A region=seattle population=2",
				"2 -C region=kyiv population=3", "3 +C region=kyiv population=4",
			})
			e.verify(d)
		})
	}
}

func TestKilledIngestLosesNothing(t *testing.T) {
	for _, step := range failSteps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, Options{})
			d := e.add(pushLedger)
			b1 := e.file("b1.ndjson", `{"date":"2026-01-01","city":"kyiv","population":3000}`+"\n")
			if _, err := e.in.Push(e.ctx, d, "", []string{b1}, "b1"); err != nil {
				t.Fatal(err)
			}
			b2 := e.file("b2.ndjson", `{"date":"2026-01-02","city":"odessa","population":1000}`+"\n")
			runFailing(t, "push", step, e.w.Root, b2)
			e.verify(d)
			got := e.rows(d, "city")
			want := []string{"0 +A city=kyiv"}
			if step == "committed" {
				want = append(want, "1 +A city=odessa")
			}
			enginetest.EqualLines(t, got, want)
			// The next ingest starts clean and lands exactly once.
			r, err := e.in.Push(e.ctx, d, "", []string{b2}, "b2")
			if err != nil {
				t.Fatal(err)
			}
			if step == "committed" {
				if r != nil {
					t.Fatalf("re-ingest after commit added %+v", r)
				}
			} else if r == nil || r.Rows != 1 {
				t.Fatalf("re-ingest: %+v", r)
			}
			enginetest.EqualLines(t, e.rows(d, "city"), []string{"0 +A city=kyiv", "1 +A city=odessa"})
			e.verify(d)
		})
	}
}
