package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Packed decorates an ObjectStore with a read cache kept in one
// append-only pack file, so that walking a long metadata chain reads one
// file instead of one file per block.
//
// The pack is only a cache and is never trusted: an object read from it is
// returned only if its bytes hash to the name asked for; anything else
// (a torn record, a stale or edited pack) falls through to the store of
// record. Writes, deletes and listings go to the store of record alone.
// Objects read from the store of record are added to the pack in batches;
// Flush writes a pending batch.
//
// Pack file: the magic "IPOSPACK1\n", then records of
// u8 hash length || hash || u32 little-endian size || bytes.
type Packed struct {
	ObjectStore
	path string

	mu      sync.Mutex
	loaded  bool
	data    []byte
	index   map[string][2]int // hash bytes -> offset and size in data
	pending []byte
}

var _ ObjectStore = (*Packed)(nil)

const (
	packMagic      = "IPOSPACK1\n"
	packFlushBytes = 256 << 10
	// packMaxObject is the largest object the pack keeps: blocks are a
	// few hundred bytes; data files have no business here.
	packMaxObject = 1 << 20
)

// NewPacked returns s with a read cache in the pack file at path. The
// file and its folder are created when there is something to write.
func NewPacked(s ObjectStore, path string) *Packed {
	return &Packed{ObjectStore: s, path: path}
}

// Get implements ObjectStore: from the pack when it holds a verified copy,
// else from the store of record.
func (p *Packed) Get(ctx context.Context, h odf.Multihash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.load()
	if loc, ok := p.index[string(h)]; ok {
		b := p.data[loc[0] : loc[0]+loc[1]]
		if odf.SHA3(b).Equal(h) {
			out := append([]byte(nil), b...)
			p.mu.Unlock()
			return out, nil
		}
		delete(p.index, string(h))
	}
	p.mu.Unlock()

	data, err := p.ObjectStore.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	if len(data) <= packMaxObject {
		p.mu.Lock()
		p.pending = appendRecord(p.pending, h, data)
		full := len(p.pending) >= packFlushBytes
		p.mu.Unlock()
		if full {
			p.Flush()
		}
	}
	return data, nil
}

// Flush appends the pending records to the pack file. Failing to write a
// cache is not an error anyone needs to handle, so Flush reports it only
// to callers who ask.
func (p *Packed) Flush() error {
	p.mu.Lock()
	pending := p.pending
	p.pending = nil
	p.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		pending = append([]byte(packMagic), pending...)
	}
	// One write per batch: appends from several processes do not
	// interleave within a write, and a torn batch is cut off on load.
	_, err = f.Write(pending)
	return err
}

// load reads the pack file once, indexing every whole record.
func (p *Packed) load() {
	if p.loaded {
		return
	}
	p.loaded = true
	p.index = map[string][2]int{}
	// A missing, unreadable or foreign pack is an empty cache.
	data, err := os.ReadFile(p.path)
	if err != nil || !bytes.HasPrefix(data, []byte(packMagic)) {
		return
	}
	p.data = data
	for off := len(packMagic); off < len(data); {
		hl := int(data[off])
		if off+1+hl+4 > len(data) {
			break
		}
		h := data[off+1 : off+1+hl]
		size := int(binary.LittleEndian.Uint32(data[off+1+hl:]))
		start := off + 1 + hl + 4
		if size > packMaxObject || start+size > len(data) {
			break
		}
		p.index[string(h)] = [2]int{start, size}
		off = start + size
	}
}

func appendRecord(b []byte, h odf.Multihash, data []byte) []byte {
	b = append(b, byte(len(h)))
	b = append(b, h...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}
