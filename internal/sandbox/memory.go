package sandbox

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// PageSize is the size of one WebAssembly memory page.
const PageSize = 65536

// memoryLimiter is the allocator of one run's linear memory. It refuses to
// grow past limit bytes (memory.grow then returns -1 to the guest) and
// remembers the largest size reached and whether it refused.
//
// A per-run allocator, rather than wazero's runtime-wide
// WithMemoryLimitPages, lets one runtime and its compiled modules serve
// runs with different limits.
type memoryLimiter struct {
	limit uint64

	mu      sync.Mutex
	buf     []byte
	peak    uint64
	refused bool
}

var _ experimental.MemoryAllocator = (*memoryLimiter)(nil)

// Allocate implements experimental.MemoryAllocator. A module declares one
// memory at most in WASI preview 1, so one limiter serves one instance.
func (m *memoryLimiter) Allocate(_, _ uint64) experimental.LinearMemory { return m }

// Reallocate implements experimental.LinearMemory.
func (m *memoryLimiter) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size > m.limit && m.buf != nil {
		m.refused = true
		return nil
	}
	// The first allocation (the module's declared minimum) always succeeds:
	// Run checks the minimum against the limit before instantiating, and
	// wazero cannot take a nil buffer here.
	if size <= uint64(cap(m.buf)) {
		old := len(m.buf)
		m.buf = m.buf[:size]
		clear(m.buf[old:])
	} else {
		// Grow geometrically, as append would, but never past the limit.
		c := max(size, min(2*uint64(cap(m.buf)), m.limit))
		nb := make([]byte, size, c)
		copy(nb, m.buf)
		m.buf = nb
	}
	m.peak = max(m.peak, size)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *memoryLimiter) Free() {
	m.mu.Lock()
	m.buf = nil
	m.mu.Unlock()
}

func (m *memoryLimiter) stats() (peakPages uint32, refused bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return uint32(m.peak / PageSize), m.refused
}
