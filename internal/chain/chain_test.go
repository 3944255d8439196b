package chain

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testID(t testing.TB) odf.DatasetID {
	id, err := odf.DatasetIDFromPublicKey(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func slice(start, end uint64) *odf.DataSlice {
	return &odf.DataSlice{
		LogicalHash:    odf.NewMultihash(odf.CodeArrow0SHA3_256, make([]byte, 32)),
		PhysicalHash:   odf.SHA3([]byte{byte(start), byte(end)}),
		OffsetInterval: odf.OffsetInterval{Start: start, End: end},
		Size:           10,
	}
}

// step is one block offered to a chain: at system time t0+at, with an
// event; a non-empty err means the append must fail with that text.
type step struct {
	at    time.Duration
	event odf.MetadataEvent
	err   string
	// seq and prev override the numbering Tx.Append fills in.
	seq  *uint64
	prev odf.Multihash
}

func TestAppendRules(t *testing.T) {
	seedRoot := odf.Seed{DatasetID: testID(t), DatasetKind: odf.DatasetKindRoot}
	seedDeriv := odf.Seed{DatasetID: testID(t), DatasetKind: odf.DatasetKindDerivative}
	info := odf.SetInfo{Description: ptr("daily sales")}
	cases := []struct {
		name  string
		steps []step
	}{
		{"seed first", []step{{event: info, err: "the first block must be a Seed"}}},
		{"seed only first", []step{{event: seedRoot}, {event: seedRoot, err: "a Seed may only be the first block"}}},
		{"sequence +1", []step{{event: seedRoot}, {event: info, seq: ptr(uint64(5)), err: "sequence number must be 1"}}},
		{"previous block exists", []step{{event: seedRoot}, {event: info, seq: ptr(uint64(1)), prev: odf.SHA3([]byte("nope")), err: "but the head is"}}},
		{"system time never decreases", []step{{at: time.Hour, event: seedRoot}, {at: time.Minute, event: info, err: "is before the previous block's"}}},
		{"watermark never decreases", []step{
			{event: seedRoot},
			{event: odf.AddData{NewWatermark: ptr(t0.Add(time.Hour))}},
			{event: odf.AddData{NewWatermark: ptr(t0)}, err: "watermark 2026-01-01T00:00:00Z is before the previous"},
		}},
		{"watermark not unset", []step{
			{event: seedRoot},
			{event: odf.AddData{NewWatermark: ptr(t0)}},
			{event: odf.AddData{NewData: slice(0, 9)}, err: "may not be unset"},
		}},
		{"offsets contiguous", []step{
			{event: seedRoot},
			{event: odf.AddData{NewData: slice(0, 9)}},
			{event: odf.AddData{PrevOffset: ptr(uint64(9)), NewData: slice(11, 20)}, err: "data starts at offset 11, expected 10"},
		}},
		{"prev offset matches", []step{
			{event: seedRoot},
			{event: odf.AddData{NewData: slice(0, 9)}},
			{event: odf.AddData{PrevOffset: ptr(uint64(8)), NewData: slice(10, 20)}, err: "prevOffset is 8, but the last data offset is 9"},
		}},
		{"first data at zero", []step{
			{event: seedRoot},
			{event: odf.AddData{NewData: slice(1, 9)}, err: "expected 0"},
		}},
		{"good data run", []step{
			{event: seedRoot},
			{event: odf.AddData{NewData: slice(0, 9)}},
			{event: odf.AddData{PrevOffset: ptr(uint64(9)), NewData: slice(10, 20), NewWatermark: ptr(t0)}},
			{event: odf.AddData{PrevOffset: ptr(uint64(20)), NewWatermark: ptr(t0.Add(time.Hour))}},
		}},
		{"checkpoint continues", []step{
			{event: seedRoot},
			{event: odf.AddData{NewData: slice(0, 9), NewCheckpoint: &odf.Checkpoint{PhysicalHash: odf.SHA3([]byte("cp1")), Size: 3}}},
			{event: odf.AddData{PrevOffset: ptr(uint64(9)), NewData: slice(10, 11)}, err: "prevCheckpoint is"},
		}},
		{"no-op AddData", []step{{event: seedRoot}, {event: odf.AddData{}, err: "event changes nothing"}}},
		{"no-op source state", []step{
			{event: seedRoot},
			{event: odf.AddData{NewSourceState: &odf.SourceState{SourceName: "default", Kind: "odf/etag", Value: "x"}}},
			{event: odf.AddData{NewSourceState: &odf.SourceState{SourceName: "default", Kind: "odf/etag", Value: "x"}}, err: "event changes nothing"},
		}},
		{"no-op SetInfo", []step{{event: seedRoot}, {event: info}, {event: info, err: "already has this SetInfo"}}},
		{"changed SetInfo", []step{{event: seedRoot}, {event: info}, {event: odf.SetInfo{Description: ptr("weekly sales")}}}},
		{"AddData only in roots", []step{{event: seedDeriv}, {event: odf.AddData{NewData: slice(0, 1)}, err: "only for root datasets"}}},
		{"ExecuteTransform only in derivatives", []step{{event: seedRoot}, {event: odf.ExecuteTransform{NewData: slice(0, 1)}, err: "only for derivative datasets"}}},
		{"transform inputs are IDs", []step{
			{event: seedDeriv},
			{event: odf.SetTransform{Inputs: []odf.TransformInput{{DatasetRef: "sales"}}, Transform: odf.TransformSQL{Engine: "duckdb", Query: ptr("select 1")}}, err: "must be stored as a dataset ID"},
		}},
		{"disable refused", []step{{event: seedRoot}, {event: odf.DisablePollingSource{}, err: "not supported"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := store.NewMemoryDataset()
			ch := New(st.Blocks, st.Refs)
			for i, s := range c.steps {
				b := &odf.MetadataBlock{SystemTime: t0.Add(s.at), Event: s.event}
				if s.seq != nil {
					b.SequenceNumber = *s.seq
					b.PrevBlockHash = s.prev
					if b.PrevBlockHash == nil {
						head, _ := ch.Head(ctx)
						b.PrevBlockHash = head
					}
				}
				before, _ := ch.Head(ctx)
				_, err := ch.Append(ctx, b)
				if s.err == "" {
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), s.err) {
					t.Fatalf("step %d: got error %v, want one containing %q", i, err, s.err)
				}
				if !errors.Is(err, ErrInvalidBlock) {
					t.Fatalf("step %d: error does not wrap ErrInvalidBlock: %v", i, err)
				}
				after, _ := ch.Head(ctx)
				if !after.Equal(before) {
					t.Fatalf("step %d: a refused block moved the head", i)
				}
			}
		})
	}
}

func TestNoOpIsDistinguishable(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemoryDataset()
	ch := New(st.Blocks, st.Refs)
	if _, err := ch.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.Seed{DatasetID: testID(t)}}); err != nil {
		t.Fatal(err)
	}
	_, err := ch.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.AddData{}})
	if !errors.Is(err, ErrNoOp) {
		t.Fatalf("got %v, want ErrNoOp", err)
	}
}

func TestConcurrentTransactionsConflict(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemoryDataset()
	ch := New(st.Blocks, st.Refs)
	seed, err := ch.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.Seed{DatasetID: testID(t)}})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ch.Begin(ctx)
	b, _ := ch.Begin(ctx)
	if _, err := a.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.SetInfo{Description: ptr("a")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.SetInfo{Description: ptr("b")}}); err != nil {
		t.Fatal(err)
	}
	won, err := a.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second commit: got %v, want ErrConflict", err)
	}
	head, _ := ch.Head(ctx)
	if !head.Equal(won) {
		t.Fatal("the losing transaction moved the head")
	}
	var seqs []uint64
	for blk, err := range ch.Walk(ctx, head) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, blk.SequenceNumber)
	}
	if len(seqs) != 2 || seqs[1] != 0 || !seed.Equal(mustPrev(t, ch, head)) {
		t.Fatalf("chain after conflict: %v", seqs)
	}
}

func mustPrev(t *testing.T, ch *Chain, h odf.Multihash) odf.Multihash {
	b, err := ch.Get(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return b.PrevBlockHash
}

func TestLoadStateAfterManyBlocks(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemoryDataset()
	ch := New(st.Blocks, st.Refs)
	tx, _ := ch.Begin(ctx)
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.Seed{DatasetID: testID(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.SetInfo{Description: ptr("x")}}); err != nil {
		t.Fatal(err)
	}
	var prev *uint64
	for i := uint64(0); i < 50; i++ {
		if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: t0, Event: odf.AddData{PrevOffset: prev, NewData: slice(i*10, i*10+9), NewWatermark: ptr(t0.Add(time.Duration(i) * time.Minute))}}); err != nil {
			t.Fatal(err)
		}
		prev = ptr(i*10 + 9)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := ch.LoadState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.HeadSequence != 51 || *s.LastOffset != 499 || !s.Watermark.Equal(t0.Add(49*time.Minute)) || s.Latest["SetInfo"] == nil {
		t.Fatalf("state: seq %d offset %d watermark %v", s.HeadSequence, *s.LastOffset, s.Watermark)
	}
}
