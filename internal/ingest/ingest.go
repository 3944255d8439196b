package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/fetch"
	"github.com/ipos-dev/ipos/internal/odf"
)

// Sentinel errors.
var (
	ErrNoSource = errors.New("dataset has no such source")
	ErrNotRoot  = errors.New("only root datasets ingest data")
)

// Options configure an ingest run.
type Options struct {
	// BaseDir resolves relative FilesGlob paths and file:// URLs.
	BaseDir string
	// ScratchDir is where a run keeps temporary files, in a folder of
	// its own that is removed at the end.
	ScratchDir string
	// AllowPipe lets Pipe prepare steps run commands.
	AllowPipe bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Progress, if not nil, hears about bytes fetched and rows committed.
	Progress func(Progress)
	// Depots resolves depot://NAME/path URLs in fetch steps; nil means
	// such URLs are an error.
	Depots func(ctx context.Context, name string) (*fetch.Depot, error)
	// Failpoint, if not nil, is called at each step of a commit with the
	// step's name ("read", "merge", "data-stored", "blocks-stored",
	// "committed"). Tests use it to stop a process at each point and
	// check that nothing committed is lost or half-written.
	Failpoint func(step string)
	// Gate, if not nil, checks each new slice against the dataset's data
	// contracts after it is written and before anything is committed; an
	// error from it (a *contract.RejectedError when a contract refused
	// the batch) commits nothing.
	Gate contract.Gate
}

// Progress reports how far a run has got.
type Progress struct {
	Dataset string
	Stage   string // "fetch", "read", "merge", "contract", "commit"
	Bytes   int64
	Rows    int64
}

// Result says what one commit added.
type Result struct {
	Dataset   string
	Head      odf.Multihash
	Rows      int64
	Offsets   *odf.OffsetInterval
	Watermark *time.Time
	Source    string // file or URL ingested
	// Contract is the gate's report, warnings included; nil without one.
	Contract *contract.Report
}

// Ingester commits data into root datasets.
type Ingester struct {
	eng  *engine.Engine
	opts Options
}

// New returns an ingester using the engine eng.
func New(eng *engine.Engine, opts Options) *Ingester {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Ingester{eng: eng, opts: opts}
}

// Pull runs a root dataset's polling source: every new item the source
// has is committed as its own AddData block. It returns one result per
// commit; none means the dataset was up to date.
func (in *Ingester) Pull(ctx context.Context, d *dataset.Dataset) ([]Result, error) {
	st, err := d.Chain.LoadState(ctx)
	if err != nil {
		return nil, err
	}
	if st.Kind != odf.DatasetKindRoot {
		return nil, fmt.Errorf("%s: %w", d.Alias, ErrNotRoot)
	}
	ev, ok := st.Latest["SetPollingSource"]
	if !ok {
		return nil, fmt.Errorf("%s: %w: it has no polling source (SetPollingSource); push data with `ipos ingest`", d.Alias, ErrNoSource)
	}
	src := ev.(odf.SetPollingSource)
	scratch, err := d.Scratch(in.opts.ScratchDir, "ingest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)

	var prev *odf.SourceState
	if s, ok := st.SourceStates[pollingSourceName]; ok {
		prev = &s
	}
	fopts := fetch.Options{
		BaseDir:    in.opts.BaseDir,
		WorkDir:    scratch,
		AllowPipe:  in.opts.AllowPipe,
		SourceName: pollingSourceName,
		Depots:     in.opts.Depots,
		Progress: func(n int64) {
			in.report(Progress{Dataset: d.Alias, Stage: "fetch", Bytes: n})
		},
	}
	step, err := expandTemplates(src.Fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	items, err := fetch.Fetch(ctx, step, prev, fopts)
	if err != nil {
		return nil, fmt.Errorf("%s: fetch: %w", d.Alias, err)
	}
	var results []Result
	for _, item := range items {
		path, err := fetch.Prepare(ctx, src.Prepare, item.Path, fopts)
		if err != nil {
			return results, fmt.Errorf("%s: prepare %s: %w", d.Alias, item.Name, err)
		}
		r, err := in.commit(ctx, d, batch{
			files:      []string{path},
			name:       item.Name,
			read:       src.Read,
			preprocess: src.Preprocess,
			merge:      src.Merge,
			eventTime:  item.EventTime,
			state:      item.State,
			scratch:    scratch,
		})
		if err != nil {
			return results, err
		}
		if r != nil {
			results = append(results, *r)
		}
	}
	return results, nil
}

// pollingSourceName names the polling source in source states.
const pollingSourceName = "default"

// Push ingests files into one of a root dataset's push sources (the only
// one when sourceName is empty) as a single commit.
func (in *Ingester) Push(ctx context.Context, d *dataset.Dataset, sourceName string, files []string, name string) (*Result, error) {
	st, err := d.Chain.LoadState(ctx)
	if err != nil {
		return nil, err
	}
	if st.Kind != odf.DatasetKindRoot {
		return nil, fmt.Errorf("%s: %w", d.Alias, ErrNotRoot)
	}
	src, err := pushSource(ctx, d, sourceName)
	if err != nil {
		return nil, err
	}
	scratch, err := d.Scratch(in.opts.ScratchDir, "ingest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	return in.commit(ctx, d, batch{
		files:      files,
		name:       name,
		read:       src.Read,
		preprocess: src.Preprocess,
		merge:      src.Merge,
		scratch:    scratch,
	})
}

// pushSource finds the named push source, or the only one.
func pushSource(ctx context.Context, d *dataset.Dataset, name string) (*odf.AddPushSource, error) {
	head, err := d.Chain.Head(ctx)
	if err != nil {
		return nil, err
	}
	found := map[string]odf.AddPushSource{}
	var order []string
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, err
		}
		if s, ok := b.Event.(odf.AddPushSource); ok {
			if _, seen := found[s.SourceName]; !seen {
				found[s.SourceName] = s
				order = append(order, s.SourceName)
			}
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("%s: %w: it has no push source (AddPushSource)", d.Alias, ErrNoSource)
	case name == "" && len(found) == 1:
		s := found[order[0]]
		return &s, nil
	case name == "":
		return nil, fmt.Errorf("%s has several push sources (%v); choose one with --source-name", d.Alias, order)
	}
	s, ok := found[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w %q (it has %v)", d.Alias, ErrNoSource, name, order)
	}
	return &s, nil
}

type batch struct {
	files      []string
	name       string
	read       odf.ReadStep
	preprocess odf.Transform
	merge      odf.MergeStrategy
	eventTime  *time.Time
	state      *odf.SourceState
	scratch    string
}

// commit reads, merges and commits one batch. It returns nil when there
// was nothing to commit.
func (in *Ingester) commit(ctx context.Context, d *dataset.Dataset, b batch) (*Result, error) {
	in.report(Progress{Dataset: d.Alias, Stage: "read"})
	in.failpoint("read")
	table := "ingest_input"
	if err := in.eng.ReadFiles(ctx, table, b.read, b.files); err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", d.Alias, b.name, err)
	}
	defer in.eng.Drop(context.WithoutCancel(ctx), table)
	if b.preprocess != nil {
		sql, ok := b.preprocess.(odf.TransformSQL)
		if !ok {
			return nil, fmt.Errorf("%s: unsupported preprocess transform %T", d.Alias, b.preprocess)
		}
		if err := in.eng.Preprocess(ctx, table, "ingest_preprocessed", sql); err != nil {
			return nil, fmt.Errorf("%s: preprocess: %w", d.Alias, err)
		}
		defer in.eng.Drop(context.WithoutCancel(ctx), "ingest_preprocessed")
		table = "ingest_preprocessed"
	}

	tx, err := d.Chain.Begin(ctx)
	if err != nil {
		return nil, err
	}
	st := tx.State()
	prevFiles, err := d.DataFiles(ctx)
	if err != nil {
		return nil, err
	}
	now := in.opts.Now().UTC().Truncate(time.Millisecond)
	if now.Before(st.HeadSystemTime) {
		now = st.HeadSystemTime
	}
	next := uint64(0)
	if st.LastOffset != nil {
		next = *st.LastOffset + 1
	}
	out := filepath.Join(b.scratch, fmt.Sprintf("slice-%d.parquet", next))
	in.report(Progress{Dataset: d.Alias, Stage: "merge"})
	res, err := in.eng.Merge(ctx, engine.MergeRequest{
		New:             table,
		Prev:            prevFiles,
		Strategy:        b.merge,
		Vocab:           engine.VocabFrom(st.Vocab()),
		SystemTime:      now,
		SourceEventTime: b.eventTime,
		NextOffset:      next,
		Out:             out,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: merge: %w", d.Alias, err)
	}
	in.failpoint("merge")

	add := odf.AddData{
		PrevCheckpoint: st.LastCheckpoint,
		PrevOffset:     st.LastOffset,
		NewSourceState: b.state,
		NewWatermark:   st.Watermark,
	}
	if res.MaxEventTime != nil && (st.Watermark == nil || res.MaxEventTime.After(*st.Watermark)) {
		wm := res.MaxEventTime.UTC()
		add.NewWatermark = &wm
	}
	var checked *contract.Report
	if res.Rows > 0 && in.opts.Gate != nil {
		in.report(Progress{Dataset: d.Alias, Stage: "contract", Rows: res.Rows})
		checked, err = in.opts.Gate(ctx, contract.Batch{Dataset: d.Alias, Source: b.name, Slice: out, Rows: res.Rows,
			Prev: prevFiles, Schema: res.Schema, System: contract.SystemColumns(engine.VocabFrom(st.Vocab()))})
		if err != nil {
			return nil, err
		}
	}
	if res.Rows > 0 {
		in.report(Progress{Dataset: d.Alias, Stage: "commit", Rows: res.Rows})
		slice, err := d.StoreSlice(ctx, out, next, res.Rows)
		if err != nil {
			return nil, err
		}
		in.failpoint("data-stored")
		add.NewData = slice
		if res.Schema != nil && !chain.SameEvent(st.Latest["SetDataSchema"], odf.SetDataSchema{Schema: res.Schema}) {
			if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: odf.SetDataSchema{Schema: res.Schema}}); err != nil {
				return nil, fmt.Errorf("%s: %w", d.Alias, err)
			}
		}
	}
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: add}); err != nil {
		if errors.Is(err, chain.ErrNoOp) {
			return nil, nil // nothing new: no rows, same state, same watermark
		}
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	in.failpoint("blocks-stored")
	head, err := tx.Commit(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	in.failpoint("committed")
	r := &Result{Dataset: d.Alias, Head: head, Rows: res.Rows, Watermark: add.NewWatermark, Source: b.name, Contract: checked}
	if add.NewData != nil {
		iv := add.NewData.OffsetInterval
		r.Offsets = &iv
	}
	return r, nil
}

// SetWatermark commits an AddData that only moves the watermark.
func SetWatermark(ctx context.Context, d *dataset.Dataset, wm time.Time, now time.Time) (odf.Multihash, error) {
	tx, err := d.Chain.Begin(ctx)
	if err != nil {
		return nil, err
	}
	st := tx.State()
	if st.Kind != odf.DatasetKindRoot {
		return nil, fmt.Errorf("%s: %w; a derivative's watermark follows its inputs", d.Alias, ErrNotRoot)
	}
	now = now.UTC()
	if now.Before(st.HeadSystemTime) {
		now = st.HeadSystemTime
	}
	wm = wm.UTC()
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: odf.AddData{
		PrevCheckpoint: st.LastCheckpoint,
		PrevOffset:     st.LastOffset,
		NewWatermark:   &wm,
	}}); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	return tx.Commit(ctx)
}

func (in *Ingester) failpoint(step string) {
	if in.opts.Failpoint != nil {
		in.opts.Failpoint(step)
	}
}

func (in *Ingester) report(p Progress) {
	if in.opts.Progress != nil {
		in.opts.Progress(p)
	}
}
