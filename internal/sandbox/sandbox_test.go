package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/gate"
	"github.com/ipos-dev/ipos/internal/sandbox"
)

// wasmDir holds the hostile algorithms and the demo aggregate, built once
// for the whole test run by TestMain.
var (
	wasmDir string
	engine  *sandbox.Engine
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ipos-sandbox-wasm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	wasmDir = dir
	// One build for all the modules: testdata is outside ./... so vet and
	// build ignore these programs, which is what we want.
	cmd := exec.Command(goTool(), "build", "-o", dir+string(filepath.Separator),
		"./testdata/hostile/...", "../../examples/algorithms/aggregate")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the test modules: %v\n%s", err, out)
		return 1
	}
	engine = sandbox.NewEngine()
	defer engine.Close(context.Background())
	return m.Run()
}

func goTool() string {
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func module(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wasmDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const inputCSV = "region,cases\nnorth,10\nsouth,3\nnorth,20\neast,7\n"

// jail is the host side of one test: an input folder shown through an
// os.Root, and a canary file beside it that no algorithm may read or
// change.
type jail struct {
	dir, inDir, canary, secret string
	root                       *os.Root
	listing                    string // the host files before the run
}

func newJail(t *testing.T) *jail {
	t.Helper()
	dir := t.TempDir()
	j := &jail{dir: dir, inDir: filepath.Join(dir, "in"), canary: filepath.Join(dir, "canary.txt")}
	j.secret = "SECRET-" + t.Name()
	if err := os.MkdirAll(filepath.Join(j.inDir, "ds"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j.inDir, "ds", "rows.csv"), []byte(inputCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j.canary, []byte(j.secret), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(j.inDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	j.root = root
	j.listing = hostListing(dir)
	return j
}

func hostListing(dir string) string {
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		names = append(names, strings.TrimPrefix(p, dir))
		return nil
	})
	return strings.Join(names, " ")
}

func (j *jail) config() sandbox.Config {
	cfg := sandbox.DefaultConfig()
	cfg.MemoryLimit = 64 << 20
	cfg.Timeout = 20 * time.Second
	cfg.Inputs = j.root.FS()
	cfg.Args = []string{j.canary}
	return cfg
}

// checkNothingLeaked asserts that the canary and the inputs are unchanged,
// that nothing new appeared on the host, and that no output or log holds
// the secret.
func (j *jail) checkNothingLeaked(t *testing.T, res *sandbox.Result) {
	t.Helper()
	if b, err := os.ReadFile(j.canary); err != nil || string(b) != j.secret {
		t.Errorf("canary changed: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(j.inDir, "ds", "rows.csv")); err != nil || string(b) != inputCSV {
		t.Errorf("input changed: %q, %v", b, err)
	}
	if got := hostListing(j.dir); got != j.listing {
		t.Errorf("host files are %q, were %q", got, j.listing)
	}
	for name, b := range res.Outputs {
		if bytes.Contains(b, []byte(j.secret)) || bytes.Contains(b, []byte("root:")) {
			t.Errorf("output %s leaked: %q", name, b)
		}
	}
	for name, b := range res.Logs {
		if bytes.Contains(b, []byte(j.secret)) || bytes.Contains(b, []byte("LEAKED")) || bytes.Contains(b, []byte("WROTE")) {
			t.Errorf("log %s leaked: %q", name, b)
		}
	}
	if _, ok := res.Outputs["leak"]; ok {
		t.Errorf("the algorithm read something it should not have: %q", res.Outputs["leak"])
	}
}

func run(t *testing.T, name string, cfg sandbox.Config) *sandbox.Result {
	t.Helper()
	res, err := engine.Run(context.Background(), module(t, name), cfg)
	if err != nil {
		t.Fatalf("Run %s: %v", name, err)
	}
	return res
}

// lines returns stdout's lines that start with prefix.
func lines(res *sandbox.Result, prefix string) []string {
	var out []string
	for _, l := range strings.Split(string(res.Logs["stdout"]), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestAggregate(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Args = []string{"-dataset", "ds", "-group", "region", "-value", "cases"}
	res := run(t, "aggregate", cfg)
	if err := res.Err(); err != nil {
		t.Fatalf("%v\nstderr: %s", err, res.Logs["stderr"])
	}
	want := "region,count,mean,skipped\neast,1,7.0000,0\nnorth,2,15.0000,0\nsouth,1,3.0000,0\n"
	if got := string(res.Outputs["result.csv"]); got != want {
		t.Errorf("result.csv = %q, want %q", got, want)
	}
	if res.BytesRead < int64(len(inputCSV)) || res.BytesWritten < int64(len(want)) || res.PeakMemoryPages == 0 {
		t.Errorf("resources not counted: read %d, written %d, peak %d pages", res.BytesRead, res.BytesWritten, res.PeakMemoryPages)
	}
	// The same run again: same bytes, and no compilation.
	again := run(t, "aggregate", cfg)
	if again.Compiled || string(again.Outputs["result.csv"]) != want {
		t.Errorf("second run: compiled %v, result %q", again.Compiled, again.Outputs["result.csv"])
	}
	j.checkNothingLeaked(t, res)
}

func TestEscapeWithDotDot(t *testing.T) {
	j := newJail(t)
	res := run(t, "dotdot", j.config())
	if !res.OK() {
		t.Fatalf("%v: %s", res.Err(), res.Logs["stderr"])
	}
	attempts := lines(res, "os ")
	raw := lines(res, "raw ")
	if len(attempts) != 5 || len(raw) != 15 {
		t.Fatalf("attempts missing:\n%s", res.Logs["stdout"])
	}
	for _, l := range raw {
		if strings.HasSuffix(l, "errno=0") {
			t.Errorf("raw path_open succeeded: %s", l)
		}
	}
	j.checkNothingLeaked(t, res)
}

func TestEscapeWithAbsolutePaths(t *testing.T) {
	j := newJail(t)
	res := run(t, "abspath", j.config())
	if !res.OK() {
		t.Fatalf("%v: %s", res.Err(), res.Logs["stderr"])
	}
	out := string(res.Logs["stdout"])
	// The root holds /data only.
	if !strings.Contains(out, "readdir /: <nil>\n  /data\n") || strings.Contains(out, "  /etc") {
		t.Errorf("root listing shows more than /data:\n%s", out)
	}
	j.checkNothingLeaked(t, res)
}

func TestEscapeWithLinksAndRenames(t *testing.T) {
	j := newJail(t)
	res := run(t, "symlink", j.config())
	if !res.OK() {
		t.Fatalf("%v: %s", res.Err(), res.Logs["stderr"])
	}
	out := string(res.Logs["stdout"])
	for _, want := range []string{
		"symlink abs: symlink " + j.canary + " /data/outputs/abs: operation not permitted",
		"symlink dir: symlink / /data/outputs/root: operation not permitted",
		"link input: link /data/inputs/ds/rows.csv /data/outputs/hard: operation not permitted",
		"rename input: rename /data/inputs/ds/rows.csv /data/outputs/moved: read-only file system",
		"rename out of jail: rename /data/outputs/x /data/inputs/x: read-only file system",
		"rename to logs: rename /data/outputs/x /data/logs/x: operation not permitted",
	} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if len(res.Outputs) != 1 || string(res.Outputs["x"]) != "x" {
		t.Errorf("outputs = %v, want only x", res.Outputs)
	}
	j.checkNothingLeaked(t, res)
}

func TestSymlinkInsideInputsIsNotFollowedOut(t *testing.T) {
	j := newJail(t)
	// A symlink inside the inputs that points at the canary: os.Root must
	// refuse to follow it out.
	if err := os.Symlink(j.canary, filepath.Join(j.inDir, "ds", "link.csv")); err != nil {
		t.Fatal(err)
	}
	j.listing = hostListing(j.dir)
	cfg := j.config()
	cfg.Args = []string{"-dataset", "ds", "-group", "region", "-value", "cases"}
	// link.csv points at the canary; the aggregate globs *.csv and so
	// opens it: os.Root refuses, and the algorithm fails cleanly.
	res := run(t, "aggregate", cfg)
	if res.OK() {
		t.Fatalf("aggregate read a symlink out of the inputs: %s", res.Outputs["result.csv"])
	}
	if !strings.Contains(string(res.Logs["stderr"]), "link.csv") {
		t.Errorf("stderr does not name the link: %s", res.Logs["stderr"])
	}
	j.checkNothingLeaked(t, res)
}

func TestWritesToInputsFail(t *testing.T) {
	j := newJail(t)
	res := run(t, "writeinputs", j.config())
	if !res.OK() {
		t.Fatalf("%v: %s", res.Err(), res.Logs["stderr"])
	}
	out := string(res.Logs["stdout"])
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		what, err, _ := strings.Cut(strings.ToLower(l), ": ")
		switch {
		case what == "chmod":
			// WASI has no chmod: Go's os.Chmod only checks that the
			// file exists, so the call never reaches the sandbox.
		case what == "append":
			t.Errorf("opened an input for writing: %s", l)
		case strings.Contains(what, "/") || what == "mkdir /tmp" || what == "remove outputs":
			if !strings.HasSuffix(err, "operation not permitted") {
				t.Errorf("%s: want EPERM, got %s", what, err)
			}
		default:
			if !strings.HasSuffix(err, "read-only file system") {
				t.Errorf("%s: want EROFS, got %s", what, err)
			}
		}
	}
	if len(res.Outputs) != 0 {
		t.Errorf("outputs = %v", res.Outputs)
	}
	j.checkNothingLeaked(t, res)
}

func TestInfiniteLoopHitsDeadline(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Timeout = 300 * time.Millisecond
	res := run(t, "loop", cfg)
	if res.Stop != sandbox.StopDeadline {
		t.Fatalf("stop = %s (%s), want deadline", res.Stop, res.Detail)
	}
	if res.WallTime > 5*time.Second {
		t.Errorf("took %s to stop", res.WallTime)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("Err() = %v", err)
	}
}

func TestCancelStopsTheRun(t *testing.T) {
	j := newJail(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := engine.Run(ctx, module(t, "loop"), j.config())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != sandbox.StopCanceled {
		t.Fatalf("stop = %s, want canceled", res.Stop)
	}
}

func TestMemoryBombIsCapped(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.MemoryLimit = 48 << 20
	res := run(t, "membomb", cfg)
	if res.Stop != sandbox.StopMemory || !res.MemoryLimitHit {
		t.Fatalf("stop = %s (%s), limit hit %v; stderr %s", res.Stop, res.Detail, res.MemoryLimitHit, tail(res.Logs["stderr"]))
	}
	if res.PeakMemoryPages > uint32(cfg.MemoryLimit/sandbox.PageSize) {
		t.Errorf("peak %d pages above the limit", res.PeakMemoryPages)
	}
}

func TestGoroutineSpamIsContained(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.MemoryLimit = 32 << 20
	cfg.Timeout = 3 * time.Second
	res := run(t, "goroutines", cfg)
	if res.Stop != sandbox.StopMemory && res.Stop != sandbox.StopDeadline {
		t.Fatalf("stop = %s (%s), want memory or deadline", res.Stop, res.Detail)
	}
}

func TestOutputFloodIsCapped(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Outputs = sandbox.Cap{MaxBytes: 20 << 20, MaxFiles: 50}
	res := run(t, "outflood", cfg)
	if res.Stop != sandbox.StopCap || !strings.Contains(res.Detail, "/data/outputs") {
		t.Fatalf("stop = %s (%s), want cap on /data/outputs", res.Stop, res.Detail)
	}
	var total int64
	for _, b := range res.Outputs {
		total += int64(len(b))
	}
	if total > cfg.Outputs.MaxBytes || len(res.Outputs) > cfg.Outputs.MaxFiles {
		t.Errorf("outputs hold %d bytes in %d files, above the cap", total, len(res.Outputs))
	}
}

func TestOutputFileCountIsCapped(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Outputs = sandbox.Cap{MaxBytes: 1 << 30, MaxFiles: 5}
	res := run(t, "outflood", cfg)
	if res.Stop != sandbox.StopCap || !strings.Contains(res.Detail, "more than 5 files") {
		t.Fatalf("stop = %s (%s), want the file cap", res.Stop, res.Detail)
	}
	if len(res.Outputs) > 5 {
		t.Errorf("%d output files", len(res.Outputs))
	}
}

func TestLogFloodIsCapped(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Logs = sandbox.Cap{MaxBytes: 64 << 10, MaxFiles: 1}
	res := run(t, "logflood", cfg)
	if res.Stop != sandbox.StopCap || !strings.Contains(res.Detail, "/data/logs") {
		t.Fatalf("stop = %s (%s), want cap on /data/logs", res.Stop, res.Detail)
	}
	total := len(res.Logs["stdout"]) + len(res.Logs["stderr"])
	if total > 64<<10 || total < 32<<10 {
		t.Errorf("logs hold %d bytes, cap 64 KiB", total)
	}
}

func TestRandomnessIsSeededUnlessAllowed(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	a := run(t, "devrandom", cfg)
	b := run(t, "devrandom", cfg)
	if !a.OK() || string(a.Logs["stdout"]) != string(b.Logs["stdout"]) {
		t.Fatalf("deterministic runs differ:\n%s\n%s", a.Logs["stdout"], b.Logs["stdout"])
	}
	for _, dev := range []string{"/dev/random", "/dev/urandom", "/dev/zero"} {
		if want := "read " + dev + ": open " + dev + ": no such file or directory\n"; !strings.Contains(strings.ToLower(string(a.Logs["stdout"])), want) {
			t.Errorf("missing %q in %s", want, a.Logs["stdout"])
		}
	}
	cfg.Seed = 7
	if c := run(t, "devrandom", cfg); string(c.Logs["stdout"]) == string(a.Logs["stdout"]) {
		t.Error("another seed gave the same bytes")
	}
	cfg.Seed = 0
	cfg.AllowRandom = true
	d := run(t, "devrandom", cfg)
	e := run(t, "devrandom", cfg)
	if string(d.Logs["stdout"]) == string(e.Logs["stdout"]) {
		t.Error("AllowRandom gave the same bytes twice")
	}
}

func TestClockIsFixedUnlessAllowed(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	a := run(t, "clock", cfg)
	b := run(t, "clock", cfg)
	if !a.OK() || !strings.Contains(string(a.Logs["stdout"]), "year 2022\n") || string(a.Logs["stdout"]) != string(b.Logs["stdout"]) {
		t.Fatalf("fixed clock: %q vs %q", a.Logs["stdout"], b.Logs["stdout"])
	}
	if a.WallTime > 5*time.Second {
		t.Errorf("the fake sleep took %s", a.WallTime)
	}
	cfg.AllowClock = true
	c := run(t, "clock", cfg)
	if want := fmt.Sprintf("year %d\n", time.Now().UTC().Year()); !strings.Contains(string(c.Logs["stdout"]), want) {
		t.Errorf("real clock: %q, want %q", c.Logs["stdout"], want)
	}
}

func TestModulesThatCannotRun(t *testing.T) {
	ctx := context.Background()
	cfg := sandbox.DefaultConfig()
	if _, err := engine.Run(ctx, []byte("not wasm at all"), cfg); !errors.Is(err, sandbox.ErrCompile) {
		t.Errorf("garbage: %v, want ErrCompile", err)
	}
	empty := []byte("\x00asm\x01\x00\x00\x00")
	if _, err := engine.Run(ctx, empty, cfg); !errors.Is(err, sandbox.ErrNoStart) {
		t.Errorf("empty module: %v, want ErrNoStart", err)
	}
	// A module that imports something other than WASI: (import "env" "f"
	// (func)) and exports _start.
	envImport := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type section: () -> ()
		"\x02\x09\x01\x03env\x01f\x00\x00" + // import env.f
		"\x03\x02\x01\x00" + // function section
		"\x07\x0a\x01\x06_start\x00\x01" + // export _start = func 1
		"\x0a\x04\x01\x02\x00\x0b") // code: empty body
	if _, err := engine.Run(ctx, envImport, cfg); !errors.Is(err, sandbox.ErrInstantiate) {
		t.Errorf("env import: %v, want ErrInstantiate", err)
	}
	bin := module(t, "aggregate")
	sum := sha256.Sum256(bin)
	cfg.ModuleSHA256 = strings.Repeat("00", 32)
	if _, err := engine.Run(ctx, bin, cfg); !errors.Is(err, sandbox.ErrModuleHash) || !strings.Contains(err.Error(), hex.EncodeToString(sum[:])) {
		t.Errorf("wrong hash: %v, want ErrModuleHash naming the module's hash", err)
	}
	cfg.ModuleSHA256 = ""
	cfg.Timeout = 0
	if _, err := engine.Run(ctx, bin, cfg); !errors.Is(err, sandbox.ErrConfig) {
		t.Errorf("zero timeout: %v, want ErrConfig", err)
	}
}

func TestCompilationCacheDir(t *testing.T) {
	j := newJail(t)
	cfg := j.config()
	cfg.Args = []string{"-dataset", "ds", "-group", "region", "-value", "cases"}
	cfg.Inputs, _ = sandbox.MemFiles(map[string][]byte{"ds/rows.csv": []byte(inputCSV)})
	cfg.CompilationCacheDir = t.TempDir()
	res, err := sandbox.Run(context.Background(), module(t, "aggregate"), cfg)
	if err != nil || !res.OK() {
		t.Fatalf("%v %v", err, res.Err())
	}
	entries, _ := os.ReadDir(cfg.CompilationCacheDir)
	if len(entries) == 0 {
		t.Error("compilation cache directory is empty after a run")
	}
}

func TestHostFiles(t *testing.T) {
	j := newJail(t)
	in, err := sandbox.HostFiles(map[string]string{"ds/rows.csv": filepath.Join(j.inDir, "ds", "rows.csv")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := j.config()
	cfg.Inputs = in
	cfg.DDOs, _ = sandbox.MemFiles(map[string][]byte{"ds.json": []byte(`{"id":"ds"}`)})
	cfg.Args = []string{"-dataset", "ds", "-group", "region", "-value", "cases"}
	res := run(t, "aggregate", cfg)
	if !res.OK() || !strings.HasPrefix(string(res.Outputs["result.csv"]), "region,count") {
		t.Fatalf("%v: %s", res.Err(), res.Logs["stderr"])
	}
	for _, bad := range []map[string]string{
		{"../x": j.canary},
		{"/abs": j.canary},
		{"a": j.canary, "a/b": j.canary},
		{"dev": "/dev/zero"},
		{"missing": filepath.Join(j.dir, "nope")},
	} {
		if _, err := sandbox.HostFiles(bad); err == nil {
			t.Errorf("HostFiles(%v) accepted", bad)
		}
	}
}

func tail(b []byte) string {
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return string(b)
}

// The sandbox lets an algorithm copy its input; the gate stops it leaving.
func TestRawCopyIsRefusedByTheGate(t *testing.T) {
	j := newJail(t)
	res := run(t, "rawcopy", j.config())
	if !res.OK() || string(res.Outputs["copy.csv"]) != inputCSV {
		t.Fatalf("%v: %q", res.Err(), res.Outputs["copy.csv"])
	}
	rows := gate.NewRowSet()
	if err := rows.AddCSV("ds/rows.csv", strings.NewReader(inputCSV), true); err != nil {
		t.Fatal(err)
	}
	v := gate.Check(res.Outputs, res.Logs, rows, gate.DefaultRules())
	if v.Released || len(v.Files) != 0 {
		t.Fatal("raw input rows were released")
	}
	reasons := strings.Join(v.Reasons, "\n")
	for _, want := range []string{"copy.csv:2: row is identical to an input row", "logs/stdout:5: line is identical to an input row"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons %q lack %q", reasons, want)
		}
	}
	j.checkNothingLeaked(t, res)
}
