package transform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
)

// Sentinel errors.
var (
	ErrNotDerivative = errors.New("not a derivative dataset")
	ErrNoTransform   = errors.New("dataset has no transform (SetTransform)")
	ErrInputMissing  = errors.New("input dataset not in the workspace")
)

// Resolver finds a workspace dataset by ID.
type Resolver func(ctx context.Context, id odf.DatasetID) (*dataset.Dataset, error)

// Options configure runs.
type Options struct {
	ScratchDir string
	Now        func() time.Time
	// Gate, if not nil, checks each new slice against the dataset's data
	// contracts before anything is committed; an error from it commits
	// nothing.
	Gate contract.Gate
}

// Transformer runs derivative datasets.
type Transformer struct {
	eng     *engine.Engine
	resolve Resolver
	opts    Options
}

// New returns a Transformer.
func New(eng *engine.Engine, resolve Resolver, opts Options) *Transformer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Transformer{eng: eng, resolve: resolve, opts: opts}
}

// Result says what a run committed. Waiting, when set, says why nothing
// ran (an input without data yet).
type Result struct {
	Dataset   string
	Head      odf.Multihash
	Rows      int64
	Offsets   *odf.OffsetInterval
	Watermark *time.Time
	Waiting   string
	// Incremental says the run read only the input slices added since the
	// last run (a stateless query); otherwise it recomputed everything.
	Incremental bool
	// Contract is the gate's report, warnings included; nil without one.
	Contract *contract.Report
}

// input is one input as a run sees it.
type input struct {
	alias     string
	ds        *dataset.Dataset
	head      odf.Multihash
	offset    *uint64
	watermark *time.Time
	files     []string
}

// Pull runs d's transform if any input has new blocks since its last run.
// It returns nil when d is up to date.
func (t *Transformer) Pull(ctx context.Context, d *dataset.Dataset) (*Result, error) {
	tx, err := d.Chain.Begin(ctx)
	if err != nil {
		return nil, err
	}
	st := tx.State()
	if st.Kind != odf.DatasetKindDerivative {
		return nil, fmt.Errorf("%s: %w", d.Alias, ErrNotDerivative)
	}
	ev, ok := st.Latest["SetTransform"]
	if !ok {
		return nil, fmt.Errorf("%s: %w", d.Alias, ErrNoTransform)
	}
	set := ev.(odf.SetTransform)
	sql, ok := set.Transform.(odf.TransformSQL)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported transform %T", d.Alias, set.Transform)
	}
	last, sameQuery, err := lastConsumed(ctx, d)
	if err != nil {
		return nil, err
	}
	inputs, err := t.inputs(ctx, set, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	changed := false
	for _, in := range inputs {
		if prev, ok := last[in.ds.ID]; !ok || !prev.NewBlockHash.Equal(in.head) {
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	for _, in := range inputs {
		if len(in.files) == 0 {
			return &Result{Dataset: d.Alias, Waiting: fmt.Sprintf("input %s has no data yet", in.ds.Alias)}, nil
		}
	}

	now := t.opts.Now().UTC().Truncate(time.Millisecond)
	if now.Before(st.HeadSystemTime) {
		now = st.HeadSystemTime
	}
	wm := outputWatermark(inputs, st.Watermark)
	ex := odf.ExecuteTransform{PrevCheckpoint: st.LastCheckpoint, PrevOffset: st.LastOffset, NewWatermark: wm}
	for _, in := range inputs {
		q := odf.ExecuteTransformInput{DatasetID: in.ds.ID, NewBlockHash: in.head, NewOffset: in.offset}
		if prev, ok := last[in.ds.ID]; ok {
			q.PrevBlockHash, q.PrevOffset = prev.NewBlockHash, prev.NewOffset
		}
		ex.QueryInputs = append(ex.QueryInputs, q)
	}
	prevFiles, err := d.DataFilesAt(ctx, st.Head)
	if err != nil {
		return nil, err
	}
	next := uint64(0)
	if st.LastOffset != nil {
		next = *st.LastOffset + 1
	}
	scratch, err := d.Scratch(t.opts.ScratchDir, "transform")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	out := filepath.Join(scratch, "slice.parquet")
	req := request(inputs, sql, prevFiles, st, now, wm, next, out)
	if sameQuery && len(inputs) == 1 {
		// The previous output is this query's over what the last run
		// consumed, so a stateless query need only see the new slices.
		in := inputs[0]
		if prev, ok := last[in.ds.ID]; ok && prev.NewBlockHash != nil {
			consumed, err := in.ds.DataFilesAt(ctx, prev.NewBlockHash)
			if err == nil && len(consumed) <= len(in.files) && slices.Equal(consumed, in.files[:len(consumed)]) {
				req.Inputs[0].New = in.files[len(consumed):]
			}
		}
	}
	res, err := t.eng.Transform(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	var checked *contract.Report
	if res.Rows > 0 && t.opts.Gate != nil {
		checked, err = t.opts.Gate(ctx, contract.Batch{Dataset: d.Alias, Source: "transform", Slice: out, Rows: res.Rows,
			Prev: prevFiles, Schema: res.Schema, System: contract.SystemColumns(engine.VocabFrom(st.Vocab()))})
		if err != nil {
			return nil, err
		}
	}
	if res.Rows > 0 {
		slice, err := d.StoreSlice(ctx, out, next, res.Rows)
		if err != nil {
			return nil, err
		}
		ex.NewData = slice
		if res.Schema != nil && !chain.SameEvent(st.Latest["SetDataSchema"], odf.SetDataSchema{Schema: res.Schema}) {
			if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: odf.SetDataSchema{Schema: res.Schema}}); err != nil {
				return nil, fmt.Errorf("%s: %w", d.Alias, err)
			}
		}
	}
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: ex}); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	head, err := tx.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	r := &Result{Dataset: d.Alias, Head: head, Rows: res.Rows, Watermark: wm, Incremental: res.Incremental, Contract: checked}
	if ex.NewData != nil {
		iv := ex.NewData.OffsetInterval
		r.Offsets = &iv
	}
	return r, nil
}

func request(inputs []input, sql odf.TransformSQL, prev []string, st *chain.State, now time.Time, wm *time.Time, next uint64, out string) engine.TransformRequest {
	req := engine.TransformRequest{
		Transform:  sql,
		Prev:       prev,
		Vocab:      engine.VocabFrom(st.Vocab()),
		SystemTime: now,
		EventTime:  wm,
		NextOffset: next,
		Out:        out,
	}
	for _, in := range inputs {
		req.Inputs = append(req.Inputs, engine.TransformInput{Name: in.alias, Files: in.files})
	}
	return req
}

// inputs resolves a transform's inputs, each at its head or, when at is
// set, at the block at gives for its ID.
func (t *Transformer) inputs(ctx context.Context, set odf.SetTransform, at map[odf.DatasetID]odf.Multihash) ([]input, error) {
	var out []input
	for _, ti := range set.Inputs {
		id, err := odf.ParseDatasetID(ti.DatasetRef)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", ti.DatasetRef, err)
		}
		ds, err := t.resolve(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w: %v", id, ErrInputMissing, err)
		}
		alias := ds.Alias
		if ti.Alias != nil {
			alias = *ti.Alias
		}
		in := input{alias: alias, ds: ds}
		if at != nil {
			in.head = at[id]
		} else if in.head, err = ds.Chain.Head(ctx); err != nil {
			return nil, fmt.Errorf("input %s: %w", ds.Alias, err)
		}
		if in.head != nil {
			st, err := ds.Chain.LoadStateAt(ctx, in.head)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", ds.Alias, err)
			}
			in.offset, in.watermark = st.LastOffset, st.Watermark
			if in.files, err = ds.DataFilesAt(ctx, in.head); err != nil {
				return nil, err
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// lastConsumed maps each input to what the newest ExecuteTransform of d
// consumed, and says whether that run used the transform in force now.
func lastConsumed(ctx context.Context, d *dataset.Dataset) (map[odf.DatasetID]odf.ExecuteTransformInput, bool, error) {
	out := map[odf.DatasetID]odf.ExecuteTransformInput{}
	head, err := d.Chain.Head(ctx)
	if err != nil {
		return nil, false, err
	}
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, false, err
		}
		switch e := b.Event.(type) {
		case odf.SetTransform:
			return out, false, nil
		case odf.ExecuteTransform:
			for _, q := range e.QueryInputs {
				out[q.DatasetID] = q
			}
			return out, true, nil
		}
	}
	return out, false, nil
}

// outputWatermark is the minimum of the inputs' watermarks, never below
// the current one; nil while any input has none.
func outputWatermark(inputs []input, current *time.Time) *time.Time {
	var wm *time.Time
	for _, in := range inputs {
		if in.watermark == nil {
			return current
		}
		if wm == nil || in.watermark.Before(*wm) {
			w := *in.watermark
			wm = &w
		}
	}
	if current != nil && (wm == nil || wm.Before(*current)) {
		return current
	}
	return wm
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
