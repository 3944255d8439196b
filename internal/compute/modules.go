package compute

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipos-dev/ipos/internal/receipt"
	"github.com/ipos-dev/ipos/internal/store"
)

// MaxModuleBytes caps the size of a stored Wasm module.
const MaxModuleBytes = 64 << 20

// ErrModuleNotFound is returned for a module hash the store does not hold.
var ErrModuleNotFound = errors.New("module not found")

// Module is a stored Wasm module's identity.
type Module struct {
	SHA256    string // lower-case hex
	Multihash string // SHA3-256 multihash, multibase base16 (f1620…)
	Size      int64
}

// Modules is the workspace's content-addressed module store: each module
// is a file named by its SHA-256, written once and checked on every read.
type Modules struct {
	dir string
}

// NewModules returns the module store kept in dir (normally
// .ipos/algorithms).
func NewModules(dir string) *Modules { return &Modules{dir: dir} }

// Add stores wasm, after checking that it is a WebAssembly binary, and
// returns its hashes. Adding the same bytes again changes nothing.
func (m *Modules) Add(wasm []byte) (Module, error) {
	if len(wasm) > MaxModuleBytes {
		return Module{}, fmt.Errorf("module is %d bytes; the limit is %d", len(wasm), MaxModuleBytes)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return Module{}, errors.New("not a WebAssembly binary module (it does not start with \\0asm)")
	}
	mod := describe(wasm)
	path := m.path(mod.SHA256)
	if _, err := os.Stat(path); err == nil {
		return mod, nil
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return Module{}, err
	}
	if err := store.WriteFileAtomic(path, wasm, 0o444); err != nil {
		return Module{}, err
	}
	return mod, nil
}

// Get returns the module with the given SHA-256, checking its bytes.
func (m *Modules) Get(sha string) ([]byte, Module, error) {
	data, err := os.ReadFile(m.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Module{}, fmt.Errorf("%w: %s (add it with 'ipos algorithm add')", ErrModuleNotFound, sha)
	}
	if err != nil {
		return nil, Module{}, err
	}
	mod := describe(data)
	if mod.SHA256 != sha {
		return nil, Module{}, fmt.Errorf("module %s is corrupt: its bytes hash to %s", sha, mod.SHA256)
	}
	return data, mod, nil
}

func (m *Modules) path(sha string) string { return filepath.Join(m.dir, sha+".wasm") }

func describe(wasm []byte) Module {
	sha, mh := receipt.AlgorithmHashes(wasm)
	return Module{SHA256: sha, Multihash: mh, Size: int64(len(wasm))}
}
