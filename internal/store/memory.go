package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/ipos-dev/ipos/internal/odf"
)

var (
	_ ObjectStore = (*Memory)(nil)
	_ Corrupter   = (*Memory)(nil)
	_ Refs        = (*MemoryRefs)(nil)
)

// Memory is an ObjectStore held in memory, for tests and scratch work.
// It keeps its own copy of every object and verifies it on Get, like
// Local.
type Memory struct {
	mu      sync.Mutex
	objects map[string][]byte // key: string(hash)
}

// NewMemory returns an empty in-memory object store.
func NewMemory() *Memory {
	return &Memory{objects: make(map[string][]byte)}
}

// Put implements ObjectStore.
func (m *Memory) Put(ctx context.Context, data []byte) (odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := odf.SHA3(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[string(h)]; !ok {
		m.objects[string(h)] = bytes.Clone(data)
	}
	return h, nil
}

// PutFile implements ObjectStore.
func (m *Memory) PutFile(ctx context.Context, path string) (odf.Multihash, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("put file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(ctxReader{ctx, f})
	if err != nil {
		return nil, 0, fmt.Errorf("put file %s: %w", path, err)
	}
	h, err := m.Put(ctx, data)
	if err != nil {
		return nil, 0, err
	}
	return h, int64(len(data)), nil
}

// Get implements ObjectStore.
func (m *Memory) Get(ctx context.Context, h odf.Multihash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkHash(h); err != nil {
		return nil, err
	}
	m.mu.Lock()
	data, ok := m.objects[string(h)]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("object %s: %w", h, ErrNotFound)
	}
	// Stored slices are never written in place (Corrupt replaces them),
	// so hashing and copying outside the lock is safe.
	if got := odf.SHA3(data); !got.Equal(h) {
		return nil, fmt.Errorf("object %s (in memory): %w: its content hashes to %s", h, ErrCorrupt, got)
	}
	return bytes.Clone(data), nil
}

// Has implements ObjectStore.
func (m *Memory) Has(ctx context.Context, h odf.Multihash) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := checkHash(h); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objects[string(h)]
	return ok, nil
}

// List implements ObjectStore.
func (m *Memory) List(ctx context.Context) ([]odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	hashes := make([]odf.Multihash, 0, len(m.objects))
	for k := range m.objects {
		hashes = append(hashes, odf.Multihash(k))
	}
	m.mu.Unlock()
	// Byte order of the hashes is the order of their base16 strings.
	slices.SortFunc(hashes, func(a, b odf.Multihash) int { return bytes.Compare(a, b) })
	return hashes, nil
}

// Delete implements ObjectStore.
func (m *Memory) Delete(ctx context.Context, h odf.Multihash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkHash(h); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[string(h)]; !ok {
		return fmt.Errorf("object %s: %w", h, ErrNotFound)
	}
	delete(m.objects, string(h))
	return nil
}

// Corrupt implements Corrupter: it flips the bits of the object's first
// byte, or appends a byte to an empty object.
func (m *Memory) Corrupt(h odf.Multihash) error {
	if err := checkHash(h); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[string(h)]
	if !ok {
		return fmt.Errorf("object %s: %w", h, ErrNotFound)
	}
	bad := bytes.Clone(data)
	if len(bad) == 0 {
		bad = []byte{0xff}
	} else {
		bad[0] = ^bad[0]
	}
	m.objects[string(h)] = bad
	return nil
}

// MemoryRefs is Refs held in memory.
type MemoryRefs struct {
	mu   sync.Mutex
	refs map[string]odf.Multihash
}

// NewMemoryRefs returns in-memory refs with none set.
func NewMemoryRefs() *MemoryRefs {
	return &MemoryRefs{refs: make(map[string]odf.Multihash)}
}

// Get implements Refs.
func (r *MemoryRefs) Get(ctx context.Context, name string) (odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkRefName(name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.refs[name]
	if !ok {
		return nil, fmt.Errorf("ref %q: %w", name, ErrRefNotFound)
	}
	return bytes.Clone(h), nil
}

// CompareAndSwap implements Refs.
func (r *MemoryRefs) CompareAndSwap(ctx context.Context, name string, prev, next odf.Multihash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRefName(name); err != nil {
		return err
	}
	if err := checkHash(next); err != nil {
		return fmt.Errorf("ref %q: new value: %w", name, err)
	}
	if !prev.IsZero() {
		if err := checkHash(prev); err != nil {
			return fmt.Errorf("ref %q: expected value: %w", name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.refs[name]; !cur.Equal(prev) {
		return fmt.Errorf("ref %q: %w: it is %s, not the expected %s", name, ErrConflict, describe(cur), describe(prev))
	}
	r.refs[name] = bytes.Clone(next)
	return nil
}
