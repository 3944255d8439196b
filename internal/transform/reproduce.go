package transform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/logicalhash"
	"github.com/ipos-dev/ipos/internal/odf"
)

// ReproduceError names the first ExecuteTransform whose output could not
// be reproduced.
type ReproduceError struct {
	Dataset  string
	Block    odf.Multihash
	Sequence uint64
	Problem  string
}

func (e *ReproduceError) Error() string {
	return fmt.Sprintf("dataset %s: block #%d %s: %s", e.Dataset, e.Sequence, e.Block, e.Problem)
}

// ReproduceReport summarises a successful reproduction.
type ReproduceReport struct {
	Transforms int
	Rows       int64
}

// Reproduce re-runs every ExecuteTransform of d in scratch space, on its
// inputs as of the blocks the ExecuteTransform recorded and with its
// recorded system time and watermark, and compares the data it writes with
// the recorded hashes. The first difference is a *ReproduceError naming the
// block.
func (t *Transformer) Reproduce(ctx context.Context, d *dataset.Dataset, progress func(done int)) (*ReproduceReport, error) {
	head, err := d.Chain.Head(ctx)
	if err != nil {
		return nil, err
	}
	var hashes []odf.Multihash
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, b.Hash)
	}
	slices.Reverse(hashes)
	scratch, err := d.Scratch(t.opts.ScratchDir, "reproduce")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)

	rep := &ReproduceReport{}
	var set *odf.SetTransform
	for _, h := range hashes {
		b, err := d.Chain.Get(ctx, h)
		if err != nil {
			return nil, err
		}
		fail := func(format string, args ...any) error {
			return &ReproduceError{Dataset: d.Alias, Block: h, Sequence: b.SequenceNumber, Problem: fmt.Sprintf(format, args...)}
		}
		switch e := b.Event.(type) {
		case odf.SetTransform:
			set = &e
		case odf.ExecuteTransform:
			if set == nil {
				return nil, fail("ExecuteTransform before any SetTransform")
			}
			sql, ok := set.Transform.(odf.TransformSQL)
			if !ok {
				return nil, fail("unsupported transform %T", set.Transform)
			}
			at := map[odf.DatasetID]odf.Multihash{}
			for _, q := range e.QueryInputs {
				at[q.DatasetID] = q.NewBlockHash
			}
			inputs, err := t.inputs(ctx, *set, at)
			if err != nil {
				return nil, fail("%v", err)
			}
			for i, in := range inputs {
				if i >= len(e.QueryInputs) || e.QueryInputs[i].DatasetID != in.ds.ID {
					return nil, fail("its inputs do not match the transform's inputs")
				}
				if !chain.EqualOffset(e.QueryInputs[i].NewOffset, in.offset) {
					return nil, fail("input %s: recorded new offset %s, but its block %s ends at %s",
						in.ds.Alias, chain.FormatOffset(e.QueryInputs[i].NewOffset), in.head, chain.FormatOffset(in.offset))
				}
			}
			st, err := d.Chain.LoadStateAt(ctx, b.PrevBlockHash)
			if err != nil {
				return nil, err
			}
			if wm := outputWatermark(inputs, st.Watermark); !equalTime(wm, e.NewWatermark) {
				return nil, fail("watermark: recorded %s, inputs give %s", fmtTime(e.NewWatermark), fmtTime(wm))
			}
			prev, err := d.DataFilesAt(ctx, b.PrevBlockHash)
			if err != nil {
				return nil, err
			}
			next := uint64(0)
			if st.LastOffset != nil {
				next = *st.LastOffset + 1
			}
			out := filepath.Join(scratch, fmt.Sprintf("block-%d.parquet", b.SequenceNumber))
			res, err := t.eng.Transform(ctx, request(inputs, sql, prev, st, b.SystemTime, e.NewWatermark, next, out))
			if err != nil {
				return nil, fail("re-running the transform: %v", err)
			}
			switch {
			case e.NewData == nil && res.Rows > 0:
				return nil, fail("recorded no new data, the re-run wrote %d rows", res.Rows)
			case e.NewData != nil && res.Rows == 0:
				return nil, fail("recorded %d rows, the re-run wrote none", e.NewData.OffsetInterval.End-e.NewData.OffsetInterval.Start+1)
			case e.NewData != nil:
				data, err := os.ReadFile(out)
				if err != nil {
					return nil, err
				}
				if got := odf.SHA3(data); !got.Equal(e.NewData.PhysicalHash) {
					logical, _ := logicalhash.OfParquet(ctx, out)
					what := "the same records written differently (logical hashes agree)"
					if !logical.Equal(e.NewData.LogicalHash) {
						what = "different records (logical hash " + logical.String() + ", recorded " + e.NewData.LogicalHash.String() + ")"
					}
					return nil, fail("data differs: the re-run wrote %s (%d rows), physical hash %s, recorded %s", what, res.Rows, got, e.NewData.PhysicalHash)
				}
				rep.Rows += res.Rows
			}
			rep.Transforms++
			if progress != nil {
				progress(rep.Transforms)
			}
			os.Remove(out)
		}
	}
	return rep, nil
}
