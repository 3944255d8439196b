//go:build amd64 && !purego

package logicalhash

// absorb8 runs eight Keccak-f[1600] sponges side by side (AVX-512F): for
// each of blocks rounds it XORs the 136-byte block at ptrs[k] into state
// k (state[i][k] is lane i of state k), permutes all eight, and advances
// ptrs[k] by strides[k]. The callers keep the blocks alive.
//
//go:noescape
func absorb8(state *[25][8]uint64, ptrs *[8]uintptr, strides *[8]uintptr, blocks int)

func cpuidex(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax, edx uint32)

// lanes8 reports whether absorb8 may run: the CPU has AVX-512F and the
// operating system saves the ZMM registers.
var lanes8 = func() bool {
	maxLeaf, _, _, _ := cpuidex(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuidex(1, 0)
	if ecx1&(1<<27) == 0 { // OSXSAVE
		return false
	}
	// XCR0: SSE, AVX, opmask, ZMM0–15 upper halves, ZMM16–31.
	if xcr0, _ := xgetbv0(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuidex(7, 0)
	return ebx7&(1<<16) != 0 // AVX512F
}()
