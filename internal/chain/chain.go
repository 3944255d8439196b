package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// HeadRef is the name of the reference that points at the newest block.
const HeadRef = "head"

// Sentinel errors. Every validation failure wraps ErrInvalidBlock and one
// of the more specific errors below.
var (
	ErrInvalidBlock = errors.New("invalid block")
	ErrNoOp         = errors.New("event changes nothing")
	ErrEmpty        = errors.New("dataset has no blocks")
)

// Blocks is what a chain needs of an object store.
type Blocks interface {
	Put(ctx context.Context, data []byte) (odf.Multihash, error)
	Get(ctx context.Context, h odf.Multihash) ([]byte, error)
}

// Refs is what a chain needs of a reference store.
type Refs interface {
	Get(ctx context.Context, name string) (odf.Multihash, error)
	CompareAndSwap(ctx context.Context, name string, prev, next odf.Multihash) error
}

// Chain is one dataset's metadata chain.
type Chain struct {
	blocks Blocks
	refs   Refs
}

// New returns the chain stored in blocks with its head in refs.
func New(blocks Blocks, refs Refs) *Chain { return &Chain{blocks: blocks, refs: refs} }

// Head returns the hash of the newest block, or ErrEmpty.
func (c *Chain) Head(ctx context.Context) (odf.Multihash, error) {
	h, err := c.refs.Get(ctx, HeadRef)
	if errors.Is(err, store.ErrRefNotFound) {
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, fmt.Errorf("reading refs/%s: %w", HeadRef, err)
	}
	return h, nil
}

// Block is a decoded block with its hash and the bytes it was decoded from.
type Block struct {
	Hash    odf.Multihash
	Data    []byte
	Version int32
	*odf.MetadataBlock
}

// Get reads and decodes one block; the store checks its hash.
func (c *Chain) Get(ctx context.Context, h odf.Multihash) (*Block, error) {
	data, err := c.blocks.Get(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", h, err)
	}
	b, v, err := odf.DecodeBlock(data)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", h, err)
	}
	return &Block{Hash: h, Data: data, Version: v, MetadataBlock: b}, nil
}

// Walk yields blocks from h back to the Seed, newest first. A broken link
// is yielded as an error and ends the walk.
func (c *Chain) Walk(ctx context.Context, h odf.Multihash) iter.Seq2[*Block, error] {
	return func(yield func(*Block, error) bool) {
		for h != nil {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			b, err := c.Get(ctx, h)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(b, nil) {
				return
			}
			h = b.PrevBlockHash
		}
	}
}

// State is what validation needs to know about the chain below a new block.
type State struct {
	Head           odf.Multihash
	HeadSequence   uint64
	HeadSystemTime time.Time
	Seeded         bool
	DatasetID      odf.DatasetID
	Kind           odf.DatasetKind

	Watermark      *time.Time
	LastOffset     *uint64
	LastCheckpoint odf.Multihash
	// Latest holds the newest event of each Set* kind, to refuse no-ops.
	Latest map[string]odf.MetadataEvent
	// SourceStates holds the newest source state per source name.
	SourceStates map[string]odf.SourceState
}

// Vocab is the SetVocab in force, or nil.
func (s *State) Vocab() *odf.SetVocab {
	if ev, ok := s.Latest["SetVocab"]; ok {
		v := ev.(odf.SetVocab)
		return &v
	}
	return nil
}

// NewState is the state of an empty chain.
func NewState() *State {
	return &State{Latest: map[string]odf.MetadataEvent{}, SourceStates: map[string]odf.SourceState{}}
}

// LoadState walks the chain from its head as far as needed to know the
// state a new block is validated against. An empty chain has a zero State.
func (c *Chain) LoadState(ctx context.Context) (*State, error) {
	head, err := c.Head(ctx)
	if errors.Is(err, ErrEmpty) {
		return NewState(), nil
	}
	if err != nil {
		return nil, err
	}
	return c.LoadStateAt(ctx, head)
}

// LoadStateAt is the state of the chain as it was when head was its
// newest block.
func (c *Chain) LoadStateAt(ctx context.Context, head odf.Multihash) (*State, error) {
	s := NewState()
	s.Head = head
	first := true
	var haveWatermark, haveOffset, haveCheckpoint bool
	for b, err := range c.Walk(ctx, head) {
		if err != nil {
			return nil, err
		}
		if first {
			s.HeadSequence, s.HeadSystemTime = b.SequenceNumber, b.SystemTime
			first = false
		}
		var (
			wm        *time.Time
			data      *odf.DataSlice
			cp        *odf.Checkpoint
			srcState  *odf.SourceState
			dataEvent bool
		)
		switch e := b.Event.(type) {
		case odf.Seed:
			s.Seeded, s.DatasetID, s.Kind = true, e.DatasetID, e.DatasetKind
		case odf.AddData:
			wm, data, cp, srcState, dataEvent = e.NewWatermark, e.NewData, e.NewCheckpoint, e.NewSourceState, true
		case odf.ExecuteTransform:
			wm, data, cp, dataEvent = e.NewWatermark, e.NewData, e.NewCheckpoint, true
		default:
			name := odf.EventName(e)
			if _, ok := s.Latest[name]; !ok {
				s.Latest[name] = e
			}
		}
		if dataEvent {
			if !haveWatermark && wm != nil {
				s.Watermark, haveWatermark = wm, true
			}
			if !haveOffset && data != nil {
				end := data.OffsetInterval.End
				s.LastOffset, haveOffset = &end, true
			}
			if !haveCheckpoint {
				// The newest data event says what the checkpoint is now:
				// its new checkpoint, or none if it carried none.
				if cp != nil {
					s.LastCheckpoint = cp.PhysicalHash
				}
				haveCheckpoint = true
			}
			if srcState != nil {
				if _, ok := s.SourceStates[srcState.SourceName]; !ok {
					s.SourceStates[srcState.SourceName] = *srcState
				}
			}
		}
	}
	return s, nil
}

// Tx appends blocks on top of the head it started from and moves the head
// once, on Commit.
type Tx struct {
	c     *Chain
	start odf.Multihash
	state *State
	added []odf.Multihash
}

// Begin starts a transaction at the current head.
func (c *Chain) Begin(ctx context.Context) (*Tx, error) {
	s, err := c.LoadState(ctx)
	if err != nil {
		return nil, err
	}
	return &Tx{c: c, start: s.Head, state: s}, nil
}

// State is the chain's state including the blocks appended so far.
func (tx *Tx) State() *State { return tx.state }

// Append validates the block against the chain, fills in PrevBlockHash and
// SequenceNumber when they are zero, and stores it. The head does not move
// until Commit.
func (tx *Tx) Append(ctx context.Context, b *odf.MetadataBlock) (odf.Multihash, error) {
	s := tx.state
	if s.Head != nil && b.PrevBlockHash == nil && b.SequenceNumber == 0 {
		b.PrevBlockHash = s.Head
		b.SequenceNumber = s.HeadSequence + 1
	}
	if err := Validate(s, b); err != nil {
		return nil, err
	}
	data, err := odf.EncodeBlock(b)
	if err != nil {
		return nil, err
	}
	h, err := tx.c.blocks.Put(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("storing block: %w", err)
	}
	s.Apply(h, b)
	tx.added = append(tx.added, h)
	return h, nil
}

// Commit moves the head from where the transaction began to its last
// block. If another writer moved the head meanwhile, Commit fails with an
// error wrapping store.ErrConflict and the chain is unchanged.
func (tx *Tx) Commit(ctx context.Context) (odf.Multihash, error) {
	if len(tx.added) == 0 {
		return tx.start, nil
	}
	next := tx.added[len(tx.added)-1]
	if err := tx.c.refs.CompareAndSwap(ctx, HeadRef, tx.start, next); err != nil {
		return nil, fmt.Errorf("moving head to %s: %w", next, err)
	}
	return next, nil
}

// Append appends one block in its own transaction.
func (c *Chain) Append(ctx context.Context, b *odf.MetadataBlock) (odf.Multihash, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Append(ctx, b); err != nil {
		return nil, err
	}
	return tx.Commit(ctx)
}

// Apply advances the state past block b, stored as h.
func (s *State) Apply(h odf.Multihash, b *odf.MetadataBlock) {
	s.Head, s.HeadSequence, s.HeadSystemTime = h, b.SequenceNumber, b.SystemTime
	var (
		wm   *time.Time
		data *odf.DataSlice
		cp   *odf.Checkpoint
	)
	switch e := b.Event.(type) {
	case odf.Seed:
		s.Seeded, s.DatasetID, s.Kind = true, e.DatasetID, e.DatasetKind
		return
	case odf.AddData:
		wm, data, cp = e.NewWatermark, e.NewData, e.NewCheckpoint
		if e.NewSourceState != nil {
			s.SourceStates[e.NewSourceState.SourceName] = *e.NewSourceState
		}
	case odf.ExecuteTransform:
		wm, data, cp = e.NewWatermark, e.NewData, e.NewCheckpoint
	default:
		s.Latest[odf.EventName(e)] = e
		return
	}
	if wm != nil {
		s.Watermark = wm
	}
	if data != nil {
		end := data.OffsetInterval.End
		s.LastOffset = &end
	}
	s.LastCheckpoint = nil
	if cp != nil {
		s.LastCheckpoint = cp.PhysicalHash
	}
}

// Validate checks a block against the state of the chain it would extend.
func Validate(s *State, b *odf.MetadataBlock) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: block #%d (%s): "+format, append([]any{ErrInvalidBlock, b.SequenceNumber, odf.EventName(b.Event)}, args...)...)
	}
	if b.Event == nil {
		return fail("no event")
	}
	_, isSeed := b.Event.(odf.Seed)
	switch {
	case !s.Seeded && s.Head == nil:
		if !isSeed {
			return fail("the first block must be a Seed")
		}
		if b.PrevBlockHash != nil || b.SequenceNumber != 0 {
			return fail("the Seed must be block #0 with no previous block")
		}
		return nil
	case isSeed:
		return fail("a Seed may only be the first block")
	}
	if !b.PrevBlockHash.Equal(s.Head) {
		return fail("previous block is %s, but the head is %s", b.PrevBlockHash, s.Head)
	}
	if b.SequenceNumber != s.HeadSequence+1 {
		return fail("sequence number must be %d", s.HeadSequence+1)
	}
	if b.SystemTime.Before(s.HeadSystemTime) {
		return fail("system time %s is before the previous block's %s", b.SystemTime.UTC().Format(time.RFC3339Nano), s.HeadSystemTime.UTC().Format(time.RFC3339Nano))
	}
	switch e := b.Event.(type) {
	case odf.AddData:
		if s.Kind != odf.DatasetKindRoot {
			return fail("AddData is only for root datasets; derivative datasets commit ExecuteTransform")
		}
		return validateData(s, fail, e.PrevOffset, e.PrevCheckpoint, e.NewData, e.NewCheckpoint, e.NewWatermark, e.NewSourceState, false)
	case odf.ExecuteTransform:
		if s.Kind != odf.DatasetKindDerivative {
			return fail("ExecuteTransform is only for derivative datasets")
		}
		if len(e.QueryInputs) == 0 && e.NewData == nil {
			return fail("%w: no inputs and no data", ErrNoOp)
		}
		// Consuming input blocks is progress even when the output did
		// not change: the next run starts after them.
		return validateData(s, fail, e.PrevOffset, e.PrevCheckpoint, e.NewData, e.NewCheckpoint, e.NewWatermark, nil, len(e.QueryInputs) > 0)
	case odf.SetPollingSource, odf.AddPushSource:
		if s.Kind != odf.DatasetKindRoot {
			return fail("sources are only for root datasets")
		}
	case odf.SetTransform:
		if s.Kind != odf.DatasetKindDerivative {
			return fail("a transform is only for derivative datasets")
		}
		if len(e.Inputs) == 0 {
			return fail("a transform needs at least one input")
		}
		for i, in := range e.Inputs {
			if _, err := odf.ParseDatasetID(in.DatasetRef); err != nil {
				return fail("input %d (%q) must be stored as a dataset ID: %v", i, in.DatasetRef, err)
			}
		}
	case odf.DisablePollingSource, odf.DisablePushSource:
		return fail("disabling a source is not supported (kamu refuses it too)")
	case odf.SetDataSchema:
		if e.Schema == nil && e.RawArrowSchema == nil {
			return fail("%w: no schema", ErrNoOp)
		}
	}
	name := odf.EventName(b.Event)
	if prev, ok := s.Latest[name]; ok && SameEvent(prev, b.Event) {
		return fail("%w: the dataset already has this %s", ErrNoOp, name)
	}
	return nil
}

func validateData(s *State, fail func(string, ...any) error, prevOffset *uint64, prevCP odf.Multihash,
	data *odf.DataSlice, cp *odf.Checkpoint, wm *time.Time, src *odf.SourceState, progressed bool) error {
	if !EqualOffset(prevOffset, s.LastOffset) {
		return fail("prevOffset is %s, but the last data offset is %s", FormatOffset(prevOffset), FormatOffset(s.LastOffset))
	}
	if !prevCP.Equal(s.LastCheckpoint) {
		return fail("prevCheckpoint is %q, but the current checkpoint is %q", prevCP.String(), s.LastCheckpoint.String())
	}
	if data != nil {
		next := uint64(0)
		if s.LastOffset != nil {
			next = *s.LastOffset + 1
		}
		if data.OffsetInterval.Start != next {
			return fail("data starts at offset %d, expected %d", data.OffsetInterval.Start, next)
		}
		if data.OffsetInterval.End < data.OffsetInterval.Start {
			return fail("data offset interval [%d, %d] is empty or reversed", data.OffsetInterval.Start, data.OffsetInterval.End)
		}
		if _, err := odf.ParseMultihash(data.PhysicalHash); err != nil {
			return fail("data physical hash: %v", err)
		}
		if _, err := odf.ParseMultihash(data.LogicalHash); err != nil {
			return fail("data logical hash: %v", err)
		}
	}
	if s.Watermark != nil {
		if wm == nil {
			return fail("the watermark may not be unset once set (last %s)", s.Watermark.UTC().Format(time.RFC3339))
		}
		if wm.Before(*s.Watermark) {
			return fail("watermark %s is before the previous %s", wm.UTC().Format(time.RFC3339), s.Watermark.UTC().Format(time.RFC3339))
		}
	}
	noop := !progressed && data == nil &&
		(cp == nil || cp.PhysicalHash.Equal(s.LastCheckpoint)) &&
		(wm == nil || (s.Watermark != nil && wm.Equal(*s.Watermark)))
	if noop && src != nil {
		prev, ok := s.SourceStates[src.SourceName]
		noop = ok && prev == *src
	}
	if noop {
		return fail("%w: no new data, checkpoint, watermark or source state", ErrNoOp)
	}
	return nil
}

// EqualOffset compares two optional offsets.
func EqualOffset(a, b *uint64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// FormatOffset prints an optional offset, "none" when unset.
func FormatOffset(o *uint64) string {
	if o == nil {
		return "none"
	}
	return fmt.Sprint(*o)
}

// SameEvent compares two events by their encoding, which is exact where a
// deep comparison of decoded values is not (nil and empty extras …).
func SameEvent(a, b odf.MetadataEvent) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	block := func(e odf.MetadataEvent) []byte {
		data, err := odf.EncodeBlock(&odf.MetadataBlock{Event: e})
		if err != nil {
			return nil
		}
		return data
	}
	x, y := block(a), block(b)
	return x != nil && bytes.Equal(x, y)
}
