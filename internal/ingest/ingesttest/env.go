// Package ingesttest gives tests a workspace with datasets from
// DatasetSnapshot manifests and an ingester on a fake clock, so tests of
// the packages above ingest (transform, query, cli) build their data in a
// few lines instead of each writing the same setup.
package ingesttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/ingest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Env is a fresh workspace, an engine and an ingester whose clock starts
// at Start and moves a minute at every reading. The engine is closed when
// the test ends.
type Env struct {
	Ctx     context.Context
	W       *workspace.Workspace
	Eng     *engine.Engine
	In      *ingest.Ingester
	Start   time.Time
	Now     func() time.Time
	Scratch string // the workspace's scratch folder

	batches int
}

// New makes the environment in a temporary folder and adds the datasets
// of manifests (DatasetSnapshot YAML; empty for none).
func New(t testing.TB, manifests string, start time.Time) *Env {
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
	clock := start
	e := &Env{Ctx: ctx, W: w, Eng: eng, Start: start, Scratch: filepath.Join(w.Dir(), "tmp")}
	e.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	e.In = ingest.New(eng, ingest.Options{BaseDir: w.Root, ScratchDir: e.Scratch, Now: e.Now})
	if manifests != "" {
		e.Add(t, manifests)
	}
	return e
}

// Add adds the datasets of DatasetSnapshot manifests.
func (e *Env) Add(t testing.TB, manifests string) {
	t.Helper()
	snaps, err := odf.ParseSnapshots("test.yaml", []byte(manifests))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.W.AddDatasets(e.Ctx, snaps, e.Start); err != nil {
		t.Fatal(err)
	}
}

// Dataset opens a dataset by name; the test closes it when it ends.
func (e *Env) Dataset(t testing.TB, name string) *dataset.Dataset {
	t.Helper()
	d, err := e.W.Dataset(e.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Push ingests NDJSON into a dataset's push source and returns the result.
func (e *Env) Push(t testing.TB, name, ndjson string) *ingest.Result {
	t.Helper()
	e.batches++
	p := filepath.Join(e.W.Root, fmt.Sprintf("batch%d.ndjson", e.batches))
	if err := os.WriteFile(p, []byte(ndjson), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := e.In.Push(e.Ctx, e.Dataset(t, name), "", []string{p}, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
