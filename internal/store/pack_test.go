package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
	"github.com/ipos-dev/ipos/internal/store/storetest"
)

func TestPackedConformance(t *testing.T) {
	storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore {
		return store.NewPacked(store.NewMemory(), filepath.Join(t.TempDir(), "cache", "blocks.pack"))
	})
}

// counting counts the reads that reach the store of record.
type counting struct {
	store.ObjectStore
	gets atomic.Int64
}

func (c *counting) Get(ctx context.Context, h odf.Multihash) ([]byte, error) {
	c.gets.Add(1)
	return c.ObjectStore.Get(ctx, h)
}

func TestPackedServesFromPackAndDistrustsIt(t *testing.T) {
	ctx := context.Background()
	pack := filepath.Join(t.TempDir(), "blocks.pack")
	base := &counting{ObjectStore: store.NewMemory()}
	var hashes []odf.Multihash
	for i := 0; i < 100; i++ {
		h, err := base.Put(ctx, []byte{byte(i), 1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	first := store.NewPacked(base, pack)
	for _, h := range hashes {
		if _, err := first.Get(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Flush(); err != nil {
		t.Fatal(err)
	}
	if base.gets.Load() != 100 {
		t.Fatalf("cold reads: %d", base.gets.Load())
	}

	// A new process reads everything from the pack.
	base.gets.Store(0)
	second := store.NewPacked(base, pack)
	for i, h := range hashes {
		b, err := second.Get(ctx, h)
		if err != nil || b[0] != byte(i) {
			t.Fatalf("get %d: %v %v", i, b, err)
		}
	}
	if n := base.gets.Load(); n != 0 {
		t.Fatalf("warm reads reached the store %d times", n)
	}

	// An edited pack is not believed: the damaged object comes from the
	// store of record, the others still from the pack.
	data, _ := os.ReadFile(pack)
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(pack, data, 0o644); err != nil {
		t.Fatal(err)
	}
	third := store.NewPacked(base, pack)
	for i, h := range hashes {
		b, err := third.Get(ctx, h)
		if err != nil || b[0] != byte(i) || len(b) != 4 {
			t.Fatalf("get %d after damage: %v %v", i, b, err)
		}
	}
	if n := base.gets.Load(); n != 1 {
		t.Fatalf("after damage, %d reads reached the store, want 1", n)
	}

	// A torn tail is cut off, and garbage is an empty cache.
	if err := os.WriteFile(pack, data[:len(data)-2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.NewPacked(base, pack).Get(ctx, hashes[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.NewPacked(base, pack).Get(ctx, hashes[99]); err != nil {
		t.Fatal(err)
	}
}
