package logicalhash

import (
	"crypto/sha3"
	"encoding/binary"
	"unsafe"
)

// bufSize is how many bytes a hasher collects before it feeds the sponge.
// The layout produces many writes of one to eight bytes (null markers,
// booleans, length prefixes); batching them avoids paying the per-call cost
// of the SHA3 implementation for each.
const bufSize = 16 << 10

// hasher is a SHA3-256 state with a write buffer. It also counts the bytes
// it was given, which the benchmark reports.
type hasher struct {
	h   *sha3.SHA3
	buf []byte
	n   int64
}

func newHasher() *hasher {
	return &hasher{h: sha3.New256(), buf: make([]byte, 0, bufSize)}
}

func (h *hasher) flush() {
	if len(h.buf) > 0 {
		h.h.Write(h.buf)
		h.buf = h.buf[:0]
	}
}

func (h *hasher) write(p []byte) {
	h.n += int64(len(p))
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
	if cap(h.buf)-len(h.buf) < n {
		h.flush()
	}
}

func (h *hasher) u8(v byte) {
	h.room(1)
	h.buf = append(h.buf, v)
	h.n++
}

func (h *hasher) u64(v uint64) {
	h.room(8)
	h.buf = binary.LittleEndian.AppendUint64(h.buf, v)
	h.n += 8
}

// sum returns the digest of everything written so far; the state is kept,
// so more data may follow.
func (h *hasher) sum() []byte {
	h.flush()
	return h.h.Sum(nil)
}
