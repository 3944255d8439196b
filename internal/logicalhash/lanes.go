package logicalhash

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

//go:generate sh -c "go run gen_keccak8.go > keccak8_amd64.s"

// rate is SHA3-256's block size in bytes.
const rate = 136

// zeroBlock is what an idle lane of absorb8 reads: XORing zeros changes
// nothing, and an idle lane's state is thrown away.
var zeroBlock [rate]byte

// A sponge is one SHA3-256 stream hashed by absorb8: the Keccak state and
// the bytes written since the last absorbed block. Bytes collect in buf
// until absorbAll runs, so that the blocks of up to eight streams go
// through one permutation together.
type sponge struct {
	st   [25]uint64
	buf  []byte
	last *[rate]byte // the padded final block of sum, on the heap
}

// lane is a sponge being absorbed in one lane of a group.
type lane struct {
	s      *sponge
	blocks int // full blocks left
}

// absorbAll absorbs every full block of the sponges' buffers, spreading
// them over workers goroutines of eight lanes each, and keeps the bytes
// of each partial last block. A stream's blocks still go through its state
// in order; only independent streams share a permutation.
func absorbAll(ss []*sponge, workers int) {
	var work []*sponge
	for _, s := range ss {
		if len(s.buf) >= rate {
			work = append(work, s)
		}
	}
	if len(work) == 0 {
		return
	}
	groups := plan(work, max(1, min(workers, len(work))))
	var wg sync.WaitGroup
	for _, g := range groups[1:] {
		wg.Go(func() { absorbGroup(g) })
	}
	absorbGroup(groups[0])
	wg.Wait()
	for _, s := range work {
		n := len(s.buf) / rate * rate
		s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	}
}

// plan splits the sponges into n groups. A group of eight lanes takes
// about max(its longest stream, its total / 8) permutations, so the
// longest streams are spread first and each goes where that estimate
// grows least.
func plan(ss []*sponge, n int) [][]*sponge {
	slices.SortStableFunc(ss, func(a, b *sponge) int { return len(b.buf) - len(a.buf) })
	groups := make([][]*sponge, n)
	longest := make([]int, n)
	total := make([]int, n)
	cost := func(g, add int) int {
		return max(longest[g], add, (total[g]+add+7*rate)/8)
	}
	for _, s := range ss {
		best := 0
		for g := 1; g < n; g++ {
			if c, b := cost(g, len(s.buf)), cost(best, len(s.buf)); c < b || (c == b && total[g] < total[best]) {
				best = g
			}
		}
		groups[best] = append(groups[best], s)
		longest[best] = max(longest[best], len(s.buf))
		total[best] += len(s.buf)
	}
	return groups
}

// absorbGroup runs the group's sponges through eight lanes; when a lane's
// stream has no full block left, the next stream takes its place.
func absorbGroup(queue []*sponge) {
	var (
		state   [25][8]uint64
		ptrs    [8]uintptr
		strides [8]uintptr
		lanes   [8]lane
	)
	load := func(k int) {
		lanes[k] = lane{}
		if len(queue) == 0 {
			ptrs[k], strides[k] = uintptr(unsafe.Pointer(&zeroBlock)), 0
			return
		}
		s := queue[0]
		queue = queue[1:]
		lanes[k] = lane{s: s, blocks: len(s.buf) / rate}
		for i := range 25 {
			state[i][k] = s.st[i]
		}
		ptrs[k], strides[k] = uintptr(unsafe.Pointer(&s.buf[0])), rate
	}
	for k := range 8 {
		load(k)
	}
	for {
		step := 0
		for _, l := range lanes {
			if l.s != nil && (step == 0 || l.blocks < step) {
				step = l.blocks
			}
		}
		if step == 0 {
			break
		}
		absorb8(&state, &ptrs, &strides, step)
		for k := range lanes {
			l := &lanes[k]
			if l.s == nil {
				continue
			}
			l.blocks -= step
			if l.blocks == 0 {
				for i := range 25 {
					l.s.st[i] = state[i][k]
				}
				load(k)
			}
		}
	}
}

// sum returns the SHA3-256 digest of everything written, absorbing the
// buffered blocks first; the stream can go on afterwards.
func (s *sponge) sum() []byte {
	absorbAll([]*sponge{s}, 1)
	// absorb8 takes addresses as uintptr, which do not keep an object in
	// place, so the block lives on the heap, which does not move.
	if s.last == nil {
		s.last = new([rate]byte)
	}
	last := s.last
	*last = [rate]byte{}
	copy(last[:], s.buf)
	last[len(s.buf)] ^= 0x06 // SHA3 domain bits and the first pad bit
	last[rate-1] ^= 0x80     // the last pad bit
	var state [25][8]uint64
	for i := range 25 {
		state[i][0] = s.st[i]
	}
	ptrs := [8]uintptr{uintptr(unsafe.Pointer(last))}
	var strides [8]uintptr
	for k := 1; k < 8; k++ {
		ptrs[k] = uintptr(unsafe.Pointer(&zeroBlock))
	}
	absorb8(&state, &ptrs, &strides, 1)
	runtime.KeepAlive(last)
	out := make([]byte, 32)
	for i := range 4 {
		binary.LittleEndian.PutUint64(out[8*i:], state[i][0])
	}
	return out
}
