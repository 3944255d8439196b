package logicalhash

import (
	"crypto/sha3"
	"encoding/binary"
	"unsafe"
)

// bufSize is how many bytes a crypto/sha3 hasher collects before it feeds
// the sponge. The layout produces many writes of one to eight bytes (null
// markers, booleans, length prefixes); batching them avoids paying the
// per-call cost of the SHA3 implementation for each.
const bufSize = 16 << 10

// hasher is a SHA3-256 stream with a write buffer. With AVX-512 (lanes8)
// it is a sponge whose buffer grows until Digest.Update absorbs the
// blocks of all columns together, eight streams per permutation
// (absorbAll); otherwise it is crypto/sha3, fed bufSize bytes at a time.
// It also counts the bytes it was given, which the benchmark reports.
type hasher struct {
	h   *sha3.SHA3 // nil when sp is used
	sp  *sponge
	buf []byte
	n   int64
}

func newHasher() *hasher {
	return newHasherLanes(lanes8)
}

func newHasherLanes(lanes bool) *hasher {
	if lanes {
		sp := &sponge{buf: make([]byte, 0, bufSize)}
		return &hasher{sp: sp}
	}
	return &hasher{h: sha3.New256(), buf: make([]byte, 0, bufSize)}
}

// bytes returns the hasher's write buffer.
func (h *hasher) bytes() *[]byte {
	if h.sp != nil {
		return &h.sp.buf
	}
	return &h.buf
}

func (h *hasher) flush() {
	if h.sp == nil && len(h.buf) > 0 {
		h.h.Write(h.buf)
		h.buf = h.buf[:0]
	}
}

func (h *hasher) write(p []byte) {
	h.n += int64(len(p))
	if h.sp != nil {
		h.sp.buf = append(h.sp.buf, p...)
		return
	}
	if len(h.buf)+len(p) <= cap(h.buf) {
		h.buf = append(h.buf, p...)
		return
	}
	h.flush()
	if len(p) >= cap(h.buf)/2 {
		h.h.Write(p)
		return
	}
	h.buf = append(h.buf, p...)
}

func (h *hasher) writeString(s string) {
	h.write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func (h *hasher) room(n int) {
	if h.sp == nil && cap(h.buf)-len(h.buf) < n {
		h.flush()
	}
}

func (h *hasher) u8(v byte) {
	h.room(1)
	b := h.bytes()
	*b = append(*b, v)
	h.n++
}

func (h *hasher) u64(v uint64) {
	h.room(8)
	b := h.bytes()
	*b = binary.LittleEndian.AppendUint64(*b, v)
	h.n += 8
}

// sum returns the digest of everything written so far; the state is kept,
// so more data may follow.
func (h *hasher) sum() []byte {
	if h.sp != nil {
		return h.sp.sum()
	}
	h.flush()
	return h.h.Sum(nil)
}

// absorbHashers absorbs the buffered blocks of the sponge hashers among hs
// on up to workers goroutines; crypto/sha3 hashers have nothing pending.
func absorbHashers(hs []*hasher, workers int) {
	var ss []*sponge
	for _, h := range hs {
		if h.sp != nil {
			ss = append(ss, h.sp)
		}
	}
	absorbAll(ss, workers)
}
