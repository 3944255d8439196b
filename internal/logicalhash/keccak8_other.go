//go:build !amd64 || purego

package logicalhash

// lanes8 is false: without absorb8 the hashers use crypto/sha3.
const lanes8 = false

func absorb8(state *[25][8]uint64, ptrs *[8]uintptr, strides *[8]uintptr, blocks int) {
	panic("logicalhash: absorb8 without AVX-512")
}
