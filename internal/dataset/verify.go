package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// IntegrityError is the first fault integrity verification found.
type IntegrityError struct {
	Dataset string // alias
	Object  string // "refs/head", "block f1620…", "data f1620…", "checkpoint f1620…"
	Block   odf.Multihash
	Problem string
	Err     error
}

func (e *IntegrityError) Error() string {
	msg := fmt.Sprintf("dataset %s: %s: %s", e.Dataset, e.Object, e.Problem)
	if e.Block != nil && e.Object != "block "+e.Block.String() {
		msg += fmt.Sprintf(" (referenced by block %s)", e.Block)
	}
	return msg
}

func (e *IntegrityError) Unwrap() error { return e.Err }

// VerifyReport summarises a successful verification.
type VerifyReport struct {
	Blocks      int
	DataFiles   int
	Checkpoints int
	DataBytes   int64
	Head        odf.Multihash
}

// VerifyIntegrity walks the chain from refs/head to the Seed and checks
// every block's hash, previous link and sequence number, replays kamu's
// append rules over the whole chain, and hashes every data file and
// checkpoint it references. It returns the first fault as an
// *IntegrityError. progress, if not nil, is called after each block.
func (d *Dataset) VerifyIntegrity(ctx context.Context, progress func(blocks int)) (*VerifyReport, error) {
	fault := func(object string, block odf.Multihash, err error, format string, args ...any) error {
		return &IntegrityError{Dataset: d.Alias, Object: object, Block: block, Problem: fmt.Sprintf(format, args...), Err: err}
	}
	head, err := d.Chain.Head(ctx)
	if err != nil {
		if errors.Is(err, chain.ErrEmpty) {
			return nil, fault("refs/head", nil, err, "the dataset has no head reference")
		}
		return nil, fault("refs/head", nil, err, "%v", err)
	}
	rep := &VerifyReport{Head: head}
	var blocks []*chain.Block
	var expectSeq uint64
	h := head
	for h != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := d.Store.Blocks.Get(ctx, h)
		if err != nil {
			obj := "block " + h.String()
			switch {
			case errors.Is(err, store.ErrNotFound) && len(blocks) == 0:
				return nil, fault("refs/head", nil, err, "points to block %s, which does not exist", h)
			case errors.Is(err, store.ErrNotFound):
				return nil, fault(obj, nil, err, "missing: block #%d (%s) links to it", blocks[len(blocks)-1].SequenceNumber, blocks[len(blocks)-1].Hash)
			case errors.Is(err, store.ErrCorrupt):
				return nil, fault(obj, h, err, "its content does not match its hash; restore %s from a replica or backup", d.BlockPath(h))
			}
			return nil, fault(obj, h, err, "%v", err)
		}
		b, version, err := odf.DecodeBlock(data)
		if err != nil {
			return nil, fault("block "+h.String(), h, err, "cannot be decoded: %v", err)
		}
		if len(blocks) > 0 && b.SequenceNumber != expectSeq {
			return nil, fault("block "+h.String(), h, nil, "sequence number is %d, but the next block says %d precedes it", b.SequenceNumber, expectSeq+0)
		}
		if b.PrevBlockHash == nil && b.SequenceNumber != 0 {
			return nil, fault("block "+h.String(), h, nil, "block #%d has no previous block", b.SequenceNumber)
		}
		if b.PrevBlockHash != nil && b.SequenceNumber == 0 {
			return nil, fault("block "+h.String(), h, nil, "block #0 has a previous block")
		}
		expectSeq = b.SequenceNumber - 1
		blocks = append(blocks, &chain.Block{Hash: h, Data: data, Version: version, MetadataBlock: b})
		if progress != nil {
			progress(len(blocks))
		}
		h = b.PrevBlockHash
	}
	rep.Blocks = len(blocks)

	// Replay the append rules from the Seed forward.
	seed, ok := blocks[len(blocks)-1].Event.(odf.Seed)
	if !ok {
		return nil, fault("block "+blocks[len(blocks)-1].Hash.String(), blocks[len(blocks)-1].Hash, nil, "the first block is %s, not a Seed", odf.EventName(blocks[len(blocks)-1].Event))
	}
	if seed.DatasetID != d.ID {
		return nil, fault("block "+blocks[len(blocks)-1].Hash.String(), blocks[len(blocks)-1].Hash, nil, "Seed names dataset %s, but the dataset folder is %s", seed.DatasetID, d.ID)
	}
	st := chain.NewState()
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if err := chain.Validate(st, b.MetadataBlock); err != nil {
			return nil, fault("block "+b.Hash.String(), b.Hash, err, "%v", err)
		}
		st.Apply(b.Hash, b.MetadataBlock)
	}

	// Hash every data file and checkpoint.
	for _, b := range blocks {
		var slice *odf.DataSlice
		var cp *odf.Checkpoint
		switch e := b.Event.(type) {
		case odf.AddData:
			slice, cp = e.NewData, e.NewCheckpoint
		case odf.ExecuteTransform:
			slice, cp = e.NewData, e.NewCheckpoint
		}
		if slice != nil {
			n, err := checkObject(ctx, d.Store.Data, slice.PhysicalHash, slice.Size)
			if err != nil {
				return nil, fault("data "+slice.PhysicalHash.String(), b.Hash, err, "%v", err)
			}
			rep.DataFiles++
			rep.DataBytes += n
		}
		if cp != nil {
			if _, err := checkObject(ctx, d.Store.Checkpoints, cp.PhysicalHash, cp.Size); err != nil {
				return nil, fault("checkpoint "+cp.PhysicalHash.String(), b.Hash, err, "%v", err)
			}
			rep.Checkpoints++
		}
	}
	return rep, nil
}

// checkObject streams an object through its hash check and compares its
// size with what the block recorded.
func checkObject(ctx context.Context, s store.ObjectStore, h odf.Multihash, size uint64) (int64, error) {
	rc, err := store.Open(ctx, s, h)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("missing: %w", err)
		}
		return 0, err
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if errors.Is(err, store.ErrCorrupt) {
		return n, fmt.Errorf("its content does not match its hash: %w", err)
	}
	if err != nil {
		return n, err
	}
	if uint64(n) != size {
		return n, fmt.Errorf("file has %d bytes, the block records %d", n, size)
	}
	return n, nil
}

// BlockPath is where a block is stored, for messages.
func (d *Dataset) BlockPath(h odf.Multihash) string {
	return filepath.Join(d.Dir, "blocks", h.String())
}
