package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestInitFindOpen(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	w, err := Init(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.NodeDID(), "did:key:z6Mk") {
		t.Fatalf("node DID %s", w.NodeDID())
	}
	st, err := os.Stat(filepath.Join(root, DirName, "node.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("node.key: %v %v", st.Mode(), err)
	}
	if _, err := Init(ctx, root); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v", err)
	}
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	got, err := Find("", sub)
	if err != nil || got != root {
		t.Fatalf("Find from a subfolder: %q %v", got, err)
	}
	if got, err := Find(filepath.Join(root, DirName), "/"); err != nil || got != root {
		t.Fatalf("Find of the .ipos folder itself: %q %v", got, err)
	}
	t.Setenv(EnvVar, root)
	if got, err := Find("", "/"); err != nil || got != root {
		t.Fatalf("Find from the environment: %q %v", got, err)
	}
	t.Setenv(EnvVar, "")
	if _, err := Find("", t.TempDir()); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ipos init") {
		t.Fatalf("no workspace: %v", err)
	}
	w2, err := Open(root)
	if err != nil || w2.NodeDID() != w.NodeDID() {
		t.Fatalf("Open: %v", err)
	}
	// A config whose node DID does not match the key is refused.
	cfg := filepath.Join(root, DirName, "config.yaml")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "z6Mk", "z6Mj", 1)), 0o644)
	if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Fatalf("mismatched config: %v", err)
	}
	os.WriteFile(cfg, []byte("kind: WorkspaceConfig\nbogus: 1\n"), 0o644)
	if _, err := Open(root); err == nil || !strings.Contains(err.Error(), "config.yaml") {
		t.Fatalf("unknown config field: %v", err)
	}
}

func root(name string) *odf.DatasetSnapshot {
	return &odf.DatasetSnapshot{Name: name, Kind: odf.DatasetKindRoot, Metadata: []odf.MetadataEvent{odf.SetInfo{Description: ptr(name)}}}
}

func derived(name string, inputs ...string) *odf.DatasetSnapshot {
	var in []odf.TransformInput
	for _, i := range inputs {
		in = append(in, odf.TransformInput{DatasetRef: i})
	}
	return &odf.DatasetSnapshot{Name: name, Kind: odf.DatasetKindDerivative, Metadata: []odf.MetadataEvent{
		odf.SetTransform{Inputs: in, Transform: odf.TransformSQL{Engine: "duckdb", Query: ptr("select 1")}},
	}}
}

func TestAddDatasetsOrdersAndResolves(t *testing.T) {
	ctx := context.Background()
	w, err := Init(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Declared out of order: c reads b, b reads a.
	made, err := w.AddDatasets(ctx, []*odf.DatasetSnapshot{derived("c", "b", "a"), derived("b", "a"), root("a")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range made {
		names = append(names, d.Alias)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("created in order %v", names)
	}
	c, err := w.Dataset(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	head, _ := c.Chain.Head(ctx)
	blk, err := c.Chain.Get(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	st := blk.Event.(odf.SetTransform)
	if st.Inputs[0].DatasetRef != made[1].ID.String() || *st.Inputs[0].Alias != "b" || st.Inputs[1].DatasetRef != made[0].ID.String() {
		t.Fatalf("inputs not resolved to IDs: %+v", st.Inputs)
	}
	sql := st.Transform.(odf.TransformSQL)
	if sql.Query != nil || len(sql.Queries) != 1 || sql.Queries[0].Query != "select 1" {
		t.Fatalf("query not stored as queries: %+v", sql)
	}
	// By ID as well as by alias.
	if d, err := w.Dataset(ctx, made[0].ID.String()); err != nil || d.Alias != "a" {
		t.Fatalf("by ID: %v", err)
	}
	if d, err := w.Dataset(ctx, made[0].ID.DIDKey()); err != nil || d.Alias != "a" {
		t.Fatalf("by did:key: %v", err)
	}
	keys, _ := os.ReadDir(filepath.Join(w.Dir(), "keys"))
	if len(keys) != 3 {
		t.Fatalf("%d dataset keys", len(keys))
	}
}

func TestAddDatasetsIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	w, err := Init(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bad := root("bad")
	bad.Metadata = append(bad.Metadata, bad.Metadata[0]) // a no-op repeat
	cases := map[string][]*odf.DatasetSnapshot{
		"invalid chain":   {root("good"), bad},
		"unknown input":   {root("good"), derived("d", "nowhere")},
		"cycle":           {derived("x", "y"), derived("y", "x")},
		"declared twice":  {root("good"), root("good")},
		"bad name":        {root("good"), root("no spaces allowed")},
		"root with input": {{Name: "r", Kind: odf.DatasetKindRoot, Metadata: derived("r", "good").Metadata}},
	}
	for name, snaps := range cases {
		if _, err := w.AddDatasets(ctx, snaps, t0); err == nil {
			t.Fatalf("%s: accepted", name)
		}
		all, err := w.Datasets(ctx)
		if err != nil || len(all) != 0 {
			t.Fatalf("%s: %d datasets left behind (%v)", name, len(all), err)
		}
		entries, _ := os.ReadDir(w.DatasetsDir())
		keys, _ := os.ReadDir(filepath.Join(w.Dir(), "keys"))
		if len(entries) != 0 || len(keys) != 0 {
			t.Fatalf("%s: left %d folders and %d keys", name, len(entries), len(keys))
		}
	}
	if _, err := w.AddDatasets(ctx, []*odf.DatasetSnapshot{root("good")}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddDatasets(ctx, []*odf.DatasetSnapshot{root("good")}, t0); !errors.Is(err, ErrDatasetExists) {
		t.Fatalf("duplicate: %v", err)
	}
}
