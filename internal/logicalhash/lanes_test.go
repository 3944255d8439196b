package logicalhash

import (
	"bytes"
	"crypto/sha3"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestLanesMatchSHA3 hashes streams of many lengths, written in pieces of
// random sizes and absorbed together in groups of varying sizes and
// worker counts, and compares every digest, and digests taken midway,
// with crypto/sha3.
func TestLanesMatchSHA3(t *testing.T) {
	if !lanes8 {
		t.Skip("no AVX-512 on this CPU: the hashers use crypto/sha3")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 40*rate+17)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, streams := range []int{1, 3, 8, 9, 17} {
		for _, workers := range []int{1, 2, 3} {
			hs := make([]*hasher, streams)
			lens := make([]int, streams)
			for i := range hs {
				hs[i] = newHasherLanes(true)
				lens[i] = rng.IntN(len(data))
			}
			lens[0] = 0
			if streams > 1 {
				lens[1] = rate
			}
			if streams > 2 {
				lens[2] = rate - 1
			}
			written := make([]int, streams)
			for round := 0; ; round++ {
				more := false
				for i, h := range hs {
					if written[i] == lens[i] {
						continue
					}
					more = true
					n := min(lens[i]-written[i], 1+rng.IntN(3*rate))
					switch rng.IntN(3) {
					case 0:
						h.write(data[written[i] : written[i]+n])
					case 1:
						for _, c := range data[written[i] : written[i]+n] {
							h.u8(c)
						}
					default:
						h.writeString(string(data[written[i] : written[i]+n]))
					}
					written[i] += n
				}
				if !more {
					break
				}
				absorbHashers(hs, workers)
				if round == 1 {
					// A digest midway must not disturb the stream.
					if got, want := hs[0].sum(), sha3.Sum256(data[:written[0]]); !bytes.Equal(got, want[:]) {
						t.Fatalf("midway: %x, want %x", got, want)
					}
				}
			}
			for i, h := range hs {
				want := sha3.Sum256(data[:lens[i]])
				if got := h.sum(); !bytes.Equal(got, want[:]) {
					t.Fatalf("%d streams, %d workers: stream %d (%d bytes): %x, want %x", streams, workers, i, lens[i], got, want)
				}
			}
		}
	}
}

// TestGeneratedAssemblyIsCurrent regenerates keccak8_amd64.s and checks
// that it is the file checked in, so the assembly is never edited by hand.
func TestGeneratedAssemblyIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	want, err := os.ReadFile("keccak8_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", "gen_keccak8.go").Output()
	if err != nil {
		t.Fatalf("go run gen_keccak8.go: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("keccak8_amd64.s differs from what gen_keccak8.go writes: run go run gen_keccak8.go > keccak8_amd64.s")
	}
}
