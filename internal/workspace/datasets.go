package workspace

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// Sentinel errors about datasets.
var (
	ErrDatasetNotFound = errors.New("dataset not found")
	ErrDatasetExists   = errors.New("dataset already exists")
)

// Datasets opens every dataset of the workspace, sorted by alias.
func (w *Workspace) Datasets(ctx context.Context) ([]*dataset.Dataset, error) {
	entries, err := os.ReadDir(w.DatasetsDir())
	if err != nil {
		return nil, fmt.Errorf("listing datasets: %w", err)
	}
	var out []*dataset.Dataset
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := w.openDataset(filepath.Join(w.DatasetsDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out, nil
}

// Dataset opens the dataset named by ref: its alias, or its ID as
// did:odf:… or did:key:….
func (w *Workspace) Dataset(ctx context.Context, ref string) (*dataset.Dataset, error) {
	if strings.HasPrefix(ref, "did:") {
		id, err := odf.ParseDatasetID(ref)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(w.DatasetsDir(), id.Multibase())
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrDatasetNotFound, ref)
		}
		return w.openDataset(dir)
	}
	all, err := w.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range all {
		if d.Alias == ref {
			return d, nil
		}
		names = append(names, d.Alias)
	}
	hint := "the workspace has no datasets yet; add one with `ipos add`"
	if len(names) > 0 {
		hint = "known datasets: " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("%w: %q (%s)", ErrDatasetNotFound, ref, hint)
}

// openDataset opens a dataset with its block cache under .ipos/cache.
func (w *Workspace) openDataset(dir string) (*dataset.Dataset, error) {
	d, err := dataset.Open(dir)
	if err != nil {
		return nil, err
	}
	d.UseBlockCache(filepath.Join(w.Dir(), "cache", d.ID.Multibase(), "blocks.pack"))
	return d, nil
}

// AddDatasets creates datasets from snapshots. Inputs of derivative
// snapshots given by name are resolved to dataset IDs, among the
// workspace's datasets and the snapshots being added, which are created in
// dependency order. Each dataset is created whole or not at all; the
// first failure stops the rest and is returned with the datasets made so far.
func (w *Workspace) AddDatasets(ctx context.Context, snaps []*odf.DatasetSnapshot, now time.Time) ([]*dataset.Dataset, error) {
	unlock, err := w.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	existing, err := w.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]odf.DatasetID{}
	for _, d := range existing {
		ids[d.Alias] = d.ID
	}
	order, err := dependencyOrder(snaps, ids)
	if err != nil {
		return nil, err
	}
	// Make every key and resolve every input first, then check each
	// dataset's chain in memory: a bad manifest must change nothing.
	type plan struct {
		key  ed25519.PrivateKey
		snap *odf.DatasetSnapshot
	}
	plans := make([]plan, 0, len(order))
	for _, s := range order {
		if _, ok := ids[s.Name]; ok {
			return nil, fmt.Errorf("%w: %s", ErrDatasetExists, s.Name)
		}
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		ids[s.Name], _ = odf.DatasetIDFromPublicKey(key.Public().(ed25519.PublicKey))
		snap, err := resolveInputs(s, ids)
		if err != nil {
			return nil, err
		}
		if err := dataset.Check(ctx, key, snap, now); err != nil {
			return nil, err
		}
		plans = append(plans, plan{key, snap})
	}
	keysDir := filepath.Join(w.Dir(), "keys")
	var made []*dataset.Dataset
	for _, p := range plans {
		id := ids[p.snap.Name]
		// The key is written first: a dataset without its key could never
		// be signed for, while a stray key file is harmless.
		keyPath := filepath.Join(keysDir, id.Multibase()+".key")
		if err := identity.WriteKey(keyPath, p.key); err != nil {
			return made, err
		}
		d, err := dataset.Create(ctx, w.DatasetsDir(), p.key, p.snap, now)
		if err != nil {
			os.Remove(keyPath)
			return made, err
		}
		made = append(made, d)
	}
	return made, nil
}

// resolveInputs returns a copy of a snapshot whose transform inputs are
// dataset IDs (the alias keeps the name the query uses) and whose SQL
// `query` shorthand is stored as a one-step `queries`, as ODF requires of
// stored metadata.
func resolveInputs(s *odf.DatasetSnapshot, ids map[string]odf.DatasetID) (*odf.DatasetSnapshot, error) {
	out := *s
	out.Metadata = make([]odf.MetadataEvent, len(s.Metadata))
	for i, e := range s.Metadata {
		st, ok := e.(odf.SetTransform)
		if !ok {
			out.Metadata[i] = e
			continue
		}
		inputs := make([]odf.TransformInput, len(st.Inputs))
		for j, in := range st.Inputs {
			alias := in.DatasetRef
			if in.Alias != nil {
				alias = *in.Alias
			}
			ref := in.DatasetRef
			if !strings.HasPrefix(ref, "did:") {
				id, ok := ids[ref]
				if !ok {
					return nil, fmt.Errorf("%s: input %q: %w; add it first or in the same command", s.Name, ref, ErrDatasetNotFound)
				}
				ref = id.String()
			} else if _, err := odf.ParseDatasetID(ref); err != nil {
				return nil, fmt.Errorf("%s: input %q: %w", s.Name, ref, err)
			}
			inputs[j] = odf.TransformInput{DatasetRef: ref, Alias: &alias}
		}
		st.Inputs = inputs
		if sql, ok := st.Transform.(odf.TransformSQL); ok && sql.Query != nil && sql.Queries == nil {
			sql.Queries = []odf.SqlQueryStep{{Query: *sql.Query}}
			sql.Query = nil
			st.Transform = sql
		}
		out.Metadata[i] = st
	}
	return &out, nil
}

// dependencyOrder sorts snapshots so that each comes after the snapshots
// its transform reads from.
func dependencyOrder(snaps []*odf.DatasetSnapshot, existing map[string]odf.DatasetID) ([]*odf.DatasetSnapshot, error) {
	byName := map[string]*odf.DatasetSnapshot{}
	for _, s := range snaps {
		if _, dup := byName[s.Name]; dup {
			return nil, fmt.Errorf("dataset %s is declared twice", s.Name)
		}
		byName[s.Name] = s
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*odf.DatasetSnapshot
	var visit func(s *odf.DatasetSnapshot, path []string) error
	visit = func(s *odf.DatasetSnapshot, path []string) error {
		switch state[s.Name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("datasets depend on each other in a cycle: %s", strings.Join(append(path, s.Name), " -> "))
		}
		state[s.Name] = visiting
		for _, e := range s.Metadata {
			if st, ok := e.(odf.SetTransform); ok {
				for _, in := range st.Inputs {
					if dep, ok := byName[in.DatasetRef]; ok {
						if err := visit(dep, append(path, s.Name)); err != nil {
							return err
						}
					}
				}
			}
		}
		state[s.Name] = done
		out = append(out, s)
		return nil
	}
	for _, s := range snaps {
		if err := visit(s, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lock takes the workspace lock, which serialises dataset creation.
func (w *Workspace) lock(ctx context.Context) (func(), error) {
	return store.LockFile(ctx, filepath.Join(w.Dir(), "lock"))
}

// UpdateDataset brings an existing dataset in line with snap: each event of
// the snapshot that differs from the one in force (sources by name, the
// transform with its inputs resolved to IDs) is appended, all in one
// transaction. It returns the names of the events appended; none means the
// dataset already matched.
func (w *Workspace) UpdateDataset(ctx context.Context, d *dataset.Dataset, snap *odf.DatasetSnapshot, now time.Time) ([]string, error) {
	all, err := w.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	ids := map[string]odf.DatasetID{}
	for _, x := range all {
		ids[x.Alias] = x.ID
	}
	resolved, err := resolveInputs(snap, ids)
	if err != nil {
		return nil, err
	}
	tx, err := d.Chain.Begin(ctx)
	if err != nil {
		return nil, err
	}
	st := tx.State()
	if st.Kind != snap.Kind {
		return nil, fmt.Errorf("dataset %s is %s; its kind cannot change to %s (delete it and add it again)", d.Alias, st.Kind, snap.Kind)
	}
	pushSources, err := pushSourcesByName(ctx, d)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	if now.Before(st.HeadSystemTime) {
		now = st.HeadSystemTime
	}
	var appended []string
	for i, e := range resolved.Metadata {
		name := odf.EventName(e)
		switch ev := e.(type) {
		case odf.Seed, odf.AddData, odf.ExecuteTransform:
			return nil, fmt.Errorf("%s: metadata[%d]: %s events are written by the system", d.Alias, i, name)
		case odf.AddPushSource:
			if prev, ok := pushSources[ev.SourceName]; ok && chain.SameEvent(prev, ev) {
				continue
			}
		default:
			if prev, ok := st.Latest[name]; ok && chain.SameEvent(prev, e) {
				continue
			}
		}
		if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: e}); err != nil {
			return nil, fmt.Errorf("%s: metadata[%d]: %w", d.Alias, i, err)
		}
		appended = append(appended, name)
	}
	if len(appended) == 0 {
		return nil, nil
	}
	if _, err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return appended, nil
}

// pushSourcesByName is every push source of d by name, the newest of each.
func pushSourcesByName(ctx context.Context, d *dataset.Dataset) (map[string]odf.AddPushSource, error) {
	out := map[string]odf.AddPushSource{}
	head, err := d.Chain.Head(ctx)
	if err != nil {
		return nil, err
	}
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, err
		}
		if s, ok := b.Event.(odf.AddPushSource); ok {
			if _, seen := out[s.SourceName]; !seen {
				out[s.SourceName] = s
			}
		}
	}
	return out, nil
}

// PurgeDataset removes a dataset's folder, its key and its block cache.
// The dataset is gone for good: nothing refers to it afterwards.
func (w *Workspace) PurgeDataset(ctx context.Context, d *dataset.Dataset) error {
	unlock, err := w.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Rename first so that the dataset disappears at once, then remove.
	gone := filepath.Join(w.DatasetsDir(), ".tmp-purge-"+d.ID.Multibase())
	if err := os.Rename(d.Dir, gone); err != nil {
		return fmt.Errorf("purging %s: %w", d.Alias, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("purging %s: %w", d.Alias, err)
	}
	os.Remove(filepath.Join(w.Dir(), "keys", d.ID.Multibase()+".key"))
	os.RemoveAll(filepath.Join(w.Dir(), "cache", d.ID.Multibase()))
	return nil
}
