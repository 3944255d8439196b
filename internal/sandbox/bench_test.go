package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/sandbox"
)

// BenchmarkSandbox measures, in one run, job start-up cold (compile and
// instantiate in a new Engine), from the on-disk compilation cache (a new
// Engine, as in a new process), and memoized in memory (the same Engine),
// and the aggregate algorithm's throughput on a 1M-row CSV under wazero
// against the same program built natively. It reports ratios against the
// baselines measured in the same run, never absolute assertions. Run it
// with make bench (-benchtime=1x).
func BenchmarkSandbox(b *testing.B) {
	ctx := context.Background()
	bin := module(b, "aggregate")
	dir := b.TempDir()
	const rows = 1_000_000
	csvPath := filepath.Join(dir, "in", "ds", "rows.csv")
	if err := writeRows(csvPath, rows); err != nil {
		b.Fatal(err)
	}
	native := filepath.Join(dir, "aggregate-native")
	if out, err := exec.Command(goTool(), "build", "-o", native, "../../examples/algorithms/aggregate").CombinedOutput(); err != nil {
		b.Fatalf("native build: %v\n%s", err, out)
	}
	small, _ := sandbox.MemFiles(map[string][]byte{"ds/rows.csv": []byte(inputCSV)})
	args := []string{"-dataset", "ds", "-group", "region", "-value", "cases"}
	cfg := sandbox.DefaultConfig()
	cfg.Args = args
	cfg.Inputs = small
	cacheDir := filepath.Join(dir, "cache")

	for i := 0; i < b.N; i++ {
		timed := func(e *sandbox.Engine, c sandbox.Config) time.Duration {
			start := time.Now()
			res, err := e.Run(ctx, bin, c)
			if err != nil || !res.OK() {
				b.Fatalf("%v %v", err, res.Err())
			}
			return time.Since(start)
		}
		cold := sandbox.NewEngine()
		coldT := timed(cold, cfg)
		memoT := timed(cold, cfg)
		cold.Close(ctx)

		cached := cfg
		cached.CompilationCacheDir = cacheDir
		warm := sandbox.NewEngine()
		timed(warm, cached) // fills the cache directory
		warm.Close(ctx)
		fresh := sandbox.NewEngine()
		cachedT := timed(fresh, cached)
		fresh.Close(ctx)

		root, err := os.OpenRoot(filepath.Join(dir, "in"))
		if err != nil {
			b.Fatal(err)
		}
		big := cfg
		big.Inputs = root.FS()
		big.Timeout = 10 * time.Minute
		big.AllowClock = os.Getenv("BENCH_CLOCK") != ""
		e := sandbox.NewEngine()
		timed(e, cfg) // compile outside the measurement
		wasmT := timed(e, big)
		e.Close(ctx)
		root.Close()

		start := time.Now()
		cmd := exec.Command(native, append(args, "-inputs", filepath.Join(dir, "in"), "-out", filepath.Join(dir, "native.csv"))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("native run: %v\n%s", err, out)
		}
		nativeT := time.Since(start)

		b.ReportMetric(float64(coldT.Milliseconds()), "cold-start-ms")
		b.ReportMetric(float64(cachedT.Milliseconds()), "cached-start-ms")
		b.ReportMetric(float64(memoT.Milliseconds()), "memoized-start-ms")
		b.ReportMetric(coldT.Seconds()/cachedT.Seconds(), "cold/cached")
		b.ReportMetric(coldT.Seconds()/memoT.Seconds(), "cold/memoized")
		b.ReportMetric(rows/wasmT.Seconds(), "wasm-rows/s")
		b.ReportMetric(rows/nativeT.Seconds(), "native-rows/s")
		b.ReportMetric(wasmT.Seconds()/nativeT.Seconds(), "wasm/native-time")
	}
}

// writeRows writes n rows of region,cases over 20 regions.
func writeRows(path string, n int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "region,cases")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "region-%02d,%d\n", i%20, (i*7919)%1000)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
