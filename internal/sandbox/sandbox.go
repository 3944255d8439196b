package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mathrand "math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Errors returned by Run for modules that cannot be run at all. A module
// that runs and fails is not an error: its Result says why it stopped.
var (
	// ErrCompile: the bytes are not a valid WebAssembly module.
	ErrCompile = errors.New("module does not compile")
	// ErrNoStart: the module exports no _start function, so it is not a
	// WASI command.
	ErrNoStart = errors.New("module has no _start function (not a WASI command)")
	// ErrInstantiate: the module imports something other than WASI
	// preview 1, or its memory cannot be set up.
	ErrInstantiate = errors.New("module cannot be instantiated")
	// ErrModuleHash: the module is not the one Config.ModuleSHA256 names.
	ErrModuleHash = errors.New("module hash mismatch")
	// ErrConfig: the Config is invalid.
	ErrConfig = errors.New("invalid sandbox config")
)

// Cap bounds one writable area (/data/outputs or /data/logs): the total
// bytes of its files and the number of files and directories in it.
type Cap struct {
	MaxBytes int64
	MaxFiles int
}

// Config says how to run one module.
type Config struct {
	// ModuleSHA256, if set, is the hex SHA-256 the module must have (the
	// one an agreement approved); any other module is refused before it
	// is compiled.
	ModuleSHA256 string
	// Args follow argv[0], which is always "algorithm".
	Args []string
	// Env is the guest's environment, and all of it: nothing of the host's
	// environment is passed on.
	Env map[string]string
	// MemoryLimit caps the guest's linear memory in bytes, rounded down
	// to whole 64 KiB pages. The guest's memory.grow fails beyond it.
	MemoryLimit uint64
	// Timeout is the wall-time deadline of the run, compilation excluded.
	Timeout time.Duration
	// CompilationCacheDir, if set, keeps compiled machine code on disk
	// between processes (wazero's file cache, keyed by wazero version and
	// module). The directory must be private to the node.
	CompilationCacheDir string
	// AllowClock gives the guest the host's real clocks and sleep. Without
	// it the wall clock starts at 2022-01-01T00:00:00Z and every reading
	// of either clock advances by 1 ms, and sleeping returns at once.
	AllowClock bool
	// AllowRandom gives the guest crypto/rand. Without it random_get is a
	// ChaCha8 stream seeded from Seed, the same on every run.
	AllowRandom bool
	Seed        uint64
	// Inputs is mounted read-only at /data/inputs and DDOs at /data/ddos;
	// nil mounts an empty directory. Use HostFiles, MemFiles or the FS of
	// an os.Root.
	Inputs fs.FS
	DDOs   fs.FS
	// Outputs and Logs cap /data/outputs and /data/logs. The guest's
	// stdout and stderr are the files stdout and stderr in /data/logs and
	// count against Logs.MaxBytes but not Logs.MaxFiles.
	Outputs Cap
	Logs    Cap
}

// DefaultConfig returns the limits used when an agreement says nothing:
// 256 MiB of memory, 60 s, 64 MiB and 100 files of outputs, 1 MiB and 10
// files of logs, deterministic clock and randomness.
func DefaultConfig() Config {
	return Config{
		MemoryLimit: 256 << 20,
		Timeout:     60 * time.Second,
		Outputs:     Cap{MaxBytes: 64 << 20, MaxFiles: 100},
		Logs:        Cap{MaxBytes: 1 << 20, MaxFiles: 10},
	}
}

func (c Config) validate() error {
	switch {
	case c.MemoryLimit < PageSize:
		return fmt.Errorf("%w: MemoryLimit %d is below one 64 KiB page", ErrConfig, c.MemoryLimit)
	case c.MemoryLimit > 65536*PageSize:
		return fmt.Errorf("%w: MemoryLimit %d is above the 4 GiB a 32-bit module can address", ErrConfig, c.MemoryLimit)
	case c.Timeout <= 0:
		return fmt.Errorf("%w: Timeout must be positive, got %s", ErrConfig, c.Timeout)
	case c.Outputs.MaxBytes < 0 || c.Outputs.MaxFiles < 0 || c.Logs.MaxBytes < 0 || c.Logs.MaxFiles < 0:
		return fmt.Errorf("%w: caps must not be negative", ErrConfig)
	}
	return nil
}

// Stop says why a run ended.
type Stop string

const (
	// StopExited: the guest returned from _start or called proc_exit;
	// see ExitCode.
	StopExited Stop = "exited"
	// StopDeadline: Config.Timeout (or the caller's deadline) passed.
	StopDeadline Stop = "deadline"
	// StopCanceled: the caller's context was canceled.
	StopCanceled Stop = "canceled"
	// StopMemory: the guest failed after its memory reached MemoryLimit.
	StopMemory Stop = "memory"
	// StopCap: the guest wrote past a cap of /data/outputs or /data/logs
	// and was stopped.
	StopCap Stop = "cap"
	// StopTrap: the guest trapped (unreachable, out-of-bounds access,
	// stack overflow...).
	StopTrap Stop = "trap"
)

// Result is what a run did and left behind.
type Result struct {
	Stop     Stop
	ExitCode uint32
	// Detail explains Stop in words: which cap, the trap message.
	Detail string
	// Outputs and Logs hold the files under /data/outputs and /data/logs
	// by slash-separated path relative to them. Logs always has "stdout"
	// and "stderr".
	Outputs map[string][]byte
	Logs    map[string][]byte
	// ModuleSHA256 is the SHA-256 of the module bytes.
	ModuleSHA256 [32]byte
	// Compiled is false when the module came from the in-memory cache.
	Compiled        bool
	CompileTime     time.Duration
	WallTime        time.Duration
	PeakMemoryPages uint32
	MemoryLimitHit  bool
	BytesRead       int64
	BytesWritten    int64
}

// OK reports whether the guest exited with code 0.
func (r *Result) OK() bool { return r.Stop == StopExited && r.ExitCode == 0 }

// Err returns nil if the run is OK and otherwise an error that says why.
func (r *Result) Err() error {
	switch {
	case r.OK():
		return nil
	case r.Stop == StopExited:
		return fmt.Errorf("algorithm exited with code %d", r.ExitCode)
	case r.Detail != "":
		return fmt.Errorf("algorithm stopped (%s): %s", r.Stop, r.Detail)
	default:
		return fmt.Errorf("algorithm stopped (%s)", r.Stop)
	}
}

// Engine compiles and runs modules. It keeps one wazero runtime per
// compilation cache directory and, in each, the compiled modules by the
// SHA-256 of their bytes, so running a module again skips compilation. An
// Engine is safe for concurrent use; Close releases it.
type Engine struct {
	mu       sync.Mutex
	runtimes map[string]*engineRuntime
	closed   bool
}

type engineRuntime struct {
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	mu      sync.Mutex
	modules map[[32]byte]wazero.CompiledModule
}

// NewEngine returns an empty Engine.
func NewEngine() *Engine {
	return &Engine{runtimes: map[string]*engineRuntime{}}
}

// Close frees every runtime and compiled module.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	var errs []error
	for dir, r := range e.runtimes {
		errs = append(errs, r.rt.Close(ctx))
		if r.cache != nil {
			errs = append(errs, r.cache.Close(ctx))
		}
		delete(e.runtimes, dir)
	}
	return errors.Join(errs...)
}

func (e *Engine) runtime(ctx context.Context, cacheDir string) (*engineRuntime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("sandbox engine is closed")
	}
	if r, ok := e.runtimes[cacheDir]; ok {
		return r, nil
	}
	// Not WithCloseOnContextDone: the instrumented modules check the
	// run's context themselves (see interrupt.go), at a fraction of its
	// cost.
	cfg := wazero.NewRuntimeConfig()
	var cache wazero.CompilationCache
	if cacheDir != "" {
		var err error
		cache, err = wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox compilation cache %s: %w", cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("sandbox: WASI: %w", err)
	}
	_, err := rt.NewHostModuleBuilder(checkModule).NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(interruptCheck), nil, nil).
		Export(checkName).Instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("sandbox: interrupt check: %w", err)
	}
	r := &engineRuntime{rt: rt, cache: cache, modules: map[[32]byte]wazero.CompiledModule{}}
	e.runtimes[cacheDir] = r
	return r, nil
}

// compile returns the compiled module for bin, compiling it unless the
// runtime has it already.
func (r *engineRuntime) compile(ctx context.Context, sum [32]byte, bin []byte) (wazero.CompiledModule, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.modules[sum]; ok {
		return m, false, nil
	}
	bin, err := instrument(bin)
	if err != nil {
		return nil, false, fmt.Errorf("%w: module sha256:%s: %v", ErrCompile, hex.EncodeToString(sum[:]), err)
	}
	m, err := r.rt.CompileModule(ctx, bin)
	if err != nil {
		return nil, false, fmt.Errorf("%w: module sha256:%s: %v", ErrCompile, hex.EncodeToString(sum[:]), err)
	}
	if _, ok := m.ExportedFunctions()["_start"]; !ok {
		m.Close(ctx)
		return nil, false, fmt.Errorf("module sha256:%s: %w", hex.EncodeToString(sum[:]), ErrNoStart)
	}
	r.modules[sum] = m
	return m, true, nil
}

// Run runs module once with cfg in a new Engine that it closes after.
func Run(ctx context.Context, module []byte, cfg Config) (*Result, error) {
	e := NewEngine()
	defer e.Close(context.WithoutCancel(ctx))
	return e.Run(ctx, module, cfg)
}

// errCapHit is the cause given to the run's context when a cap is
// exceeded.
var errCapHit = errors.New("output cap exceeded")

// Run compiles module (or takes it from the cache) and runs its _start in
// a fresh instance under cfg. The returned error is for modules that could
// not be run at all (ErrCompile, ErrNoStart, ErrInstantiate, ErrConfig);
// everything the guest did, including failing, is in the Result.
func (e *Engine) Run(ctx context.Context, module []byte, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(module)
	if cfg.ModuleSHA256 != "" && cfg.ModuleSHA256 != hex.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("%w: module has sha256:%s, the agreement approved sha256:%s", ErrModuleHash, hex.EncodeToString(sum[:]), cfg.ModuleSHA256)
	}
	r, err := e.runtime(ctx, cfg.CompilationCacheDir)
	if err != nil {
		return nil, err
	}
	compileStart := time.Now()
	compiled, fresh, err := r.compile(ctx, sum, module)
	if err != nil {
		return nil, err
	}
	res := &Result{ModuleSHA256: sum, Compiled: fresh, CompileTime: time.Since(compileStart)}

	limit := cfg.MemoryLimit / PageSize * PageSize
	for name, mem := range compiled.ExportedMemories() {
		if uint64(mem.Min())*PageSize > limit {
			return nil, fmt.Errorf("%w: memory %q needs at least %d pages, above the limit of %d", ErrInstantiate, name, mem.Min(), limit/PageSize)
		}
	}
	mem := &memoryLimiter{limit: limit}

	jail := newJailFS(cfg.Inputs, cfg.DDOs, cfg.Outputs, cfg.Logs)
	runCtx, cancelTimeout := context.WithTimeout(ctx, cfg.Timeout)
	defer cancelTimeout()
	runCtx, stop := context.WithCancelCause(runCtx)
	defer stop(nil)
	var capHit string
	var capMu sync.Mutex
	jail.onExceed = func(what string) {
		capMu.Lock()
		capHit = what
		capMu.Unlock()
		stop(errCapHit)
	}

	modCfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithArgs(append([]string{"algorithm"}, cfg.Args...)...).
		WithStdin(eofReader{}).
		WithStdout(logWriter{j: jail, f: jail.stdout, name: "data/logs/stdout"}).
		WithStderr(logWriter{j: jail, f: jail.stderr, name: "data/logs/stderr"}).
		WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(jail, "/"))
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		modCfg = modCfg.WithEnv(k, cfg.Env[k])
	}
	if cfg.AllowClock {
		modCfg = modCfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	} else {
		clock := &fixedClock{}
		modCfg = modCfg.WithWalltime(clock.walltime, sys.ClockResolution(time.Millisecond)).
			WithNanotime(clock.nanotime, sys.ClockResolution(time.Millisecond))
	}
	if cfg.AllowRandom {
		modCfg = modCfg.WithRandSource(rand.Reader)
	} else {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
		modCfg = modCfg.WithRandSource(mathrand.NewChaCha8(seed))
	}

	started := time.Now()
	mod, err := r.rt.InstantiateModule(experimental.WithMemoryAllocator(runCtx, mem), compiled, modCfg)
	if err != nil {
		return nil, fmt.Errorf("%w: module sha256:%s: %v", ErrInstantiate, hex.EncodeToString(sum[:]), err)
	}
	_, callErr := mod.ExportedFunction("_start").Call(runCtx)
	res.WallTime = time.Since(started)
	mod.Close(context.WithoutCancel(ctx))

	res.PeakMemoryPages, res.MemoryLimitHit = mem.stats()
	capMu.Lock()
	hit := capHit
	capMu.Unlock()
	classify(res, callErr, runCtx, hit)

	jail.mu.Lock()
	res.Outputs = map[string][]byte{}
	res.Logs = map[string][]byte{}
	snapshot(jail.outputs, "", res.Outputs)
	snapshot(jail.logs, "", res.Logs)
	res.BytesRead, res.BytesWritten = jail.bytesRead, jail.bytesWritten
	jail.mu.Unlock()
	return res, nil
}

// classify sets Stop, ExitCode and Detail from how _start returned.
func classify(res *Result, callErr error, runCtx context.Context, capHit string) {
	var exit *sys.ExitError
	switch {
	case callErr == nil:
		res.Stop = StopExited
	case errors.As(callErr, &exit):
		res.ExitCode = exit.ExitCode()
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			res.Stop, res.Detail = StopDeadline, "wall-time deadline exceeded"
		case sys.ExitCodeContextCanceled:
			if context.Cause(runCtx) == errCapHit {
				res.Stop, res.Detail = StopCap, capHit
			} else {
				res.Stop, res.Detail = StopCanceled, "canceled by the caller"
			}
		default:
			res.Stop = StopExited
		}
	default:
		res.Stop, res.Detail = StopTrap, callErr.Error()
	}
	// A guest that failed after its memory ran out failed because of it,
	// even if its dying words then overflowed the logs (Go's runtime
	// prints every goroutine's stack).
	failed := res.Stop == StopTrap || res.Stop == StopCap || res.Stop == StopExited && res.ExitCode != 0
	switch {
	case failed && res.MemoryLimitHit:
		res.Stop, res.Detail = StopMemory, fmt.Sprintf("memory limit reached (%d pages)", res.PeakMemoryPages)
	case failed && capHit != "":
		res.Stop, res.Detail = StopCap, capHit
	}
}

// fixedClock is the deterministic clock: 2022-01-01T00:00:00Z plus 1 ms per
// reading, shared by the wall and monotonic clocks of one run.
type fixedClock struct {
	mu    sync.Mutex
	ticks int64
}

func (c *fixedClock) tick() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticks++
	return c.ticks * int64(time.Millisecond)
}

func (c *fixedClock) walltime() (int64, int32) {
	ns := fixedTime + c.tick()
	return ns / 1e9, int32(ns % 1e9)
}

func (c *fixedClock) nanotime() int64 { return c.tick() }

// eofReader is the guest's stdin: always at end of file.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
