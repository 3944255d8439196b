package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/sha3"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// benchChainLength is the length of the chain the metadata benchmarks walk.
const benchChainLength = 100_000

// longChainWorkspace makes a workspace holding one root dataset with a
// chain of n blocks: a Seed and AddData blocks that each advance the
// watermark. Blocks are written straight into the layout without fsync:
// this is a fixture, not a commit path.
func longChainWorkspace(b *testing.B, n int) (root string, totalBytes int64) {
	b.Helper()
	root = b.TempDir()
	w, err := workspace.Init(context.Background(), root)
	if err != nil {
		b.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	id, _ := odf.DatasetIDFromPublicKey(key.Public().(ed25519.PublicKey))
	dir := filepath.Join(w.DatasetsDir(), id.Multibase())
	for _, sub := range []string{"blocks", "data", "checkpoints", "refs", "info"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "info", "alias"), []byte("long"), 0o644); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var prev odf.Multihash
	for i := 0; i < n; i++ {
		blk := &odf.MetadataBlock{SystemTime: t0.Add(time.Duration(i) * time.Second), PrevBlockHash: prev, SequenceNumber: uint64(i)}
		if i == 0 {
			blk.Event = odf.Seed{DatasetID: id}
		} else {
			wm := t0.Add(time.Duration(i) * time.Minute)
			blk.Event = odf.AddData{NewWatermark: &wm, NewSourceState: &odf.SourceState{SourceName: "default", Kind: "odf/etag", Value: "etag"}}
		}
		data, err := odf.EncodeBlock(blk)
		if err != nil {
			b.Fatal(err)
		}
		prev = odf.SHA3(data)
		totalBytes += int64(len(data))
		if err := os.WriteFile(filepath.Join(dir, "blocks", prev.String()), data, 0o444); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "refs", "head"), []byte(prev.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return root, totalBytes
}

// sha3BlocksPerSecond is the baseline: how many blocks of the average size
// this machine can merely hash per second, in one thread.
func sha3BlocksPerSecond(avgSize int) float64 {
	buf := make([]byte, avgSize)
	const rounds = 200_000
	start := time.Now()
	for i := 0; i < rounds; i++ {
		sum := sha3.Sum256(buf)
		buf[0] = sum[0]
	}
	return rounds / time.Since(start).Seconds()
}

func benchCommand(b *testing.B, run func(g *globals) error) {
	root, total := longChainWorkspace(b, benchChainLength)
	g := &globals{streams: Streams{In: nil, Out: io.Discard, Err: io.Discard}, workspace: root, quiet: true, now: time.Now}
	b.ResetTimer()
	// The first run is cold: the block cache, where the command has one,
	// is empty. Later runs are warm.
	start := time.Now()
	if err := run(g); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(start)
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if err := run(g); err != nil {
			b.Fatal(err)
		}
	}
	warm := time.Since(start)
	b.StopTimer()
	rate := float64(benchChainLength*b.N) / warm.Seconds()
	baseline := sha3BlocksPerSecond(int(total / benchChainLength))
	b.ReportMetric(float64(benchChainLength)/cold.Seconds(), "cold_blocks/s")
	b.ReportMetric(rate, "blocks/s")
	b.ReportMetric(baseline, "sha3_only_blocks/s")
	b.ReportMetric(rate/baseline, "x_sha3_only")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkLogWalk runs `ipos log long` over a 100,000-block chain, output
// discarded, and reports blocks per second and the ratio to hashing alone.
func BenchmarkLogWalk(b *testing.B) {
	benchCommand(b, func(g *globals) error {
		return runLog(context.Background(), g, logOptions{output: "shell"}, "long")
	})
}

// BenchmarkVerifyIntegrity runs `ipos verify --integrity long` over the
// same chain.
func BenchmarkVerifyIntegrity(b *testing.B) {
	benchCommand(b, func(g *globals) error {
		return runVerify(context.Background(), g, verifyOptions{integrity: true, output: "text"}, []string{"long"})
	})
}
