package workspace

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// DirName is the name of the workspace folder.
const DirName = ".ipos"

// EnvVar names the environment variable that points at a workspace.
const EnvVar = "IPOS_WORKSPACE"

// Sentinel errors.
var (
	ErrNotFound = errors.New("no IPOS workspace found")
	ErrExists   = errors.New("an IPOS workspace already exists")
)

// Config is the workspace configuration file.
type Config struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Node       NodeConfig   `yaml:"node"`
	Ingest     IngestConfig `yaml:"ingest"`
}

// NodeConfig describes this node.
type NodeConfig struct {
	// DID is the node identity, did:key:z6Mk…, derived from node.key.
	DID string `yaml:"did"`
}

// IngestConfig holds ingest settings.
type IngestConfig struct {
	// AllowPipe lets Pipe prepare steps run commands. Off by default:
	// a manifest from elsewhere must not run programs on this machine.
	AllowPipe bool `yaml:"allowPipe"`
}

// DefaultConfig returns the configuration of a new workspace.
func DefaultConfig() Config {
	return Config{APIVersion: "ipos.dev/v1alpha1", Kind: "WorkspaceConfig"}
}

// Workspace is an open workspace.
type Workspace struct {
	// Root is the folder that contains .ipos.
	Root    string
	Config  Config
	nodeKey ed25519.PrivateKey
}

// Dir is the .ipos folder.
func (w *Workspace) Dir() string { return filepath.Join(w.Root, DirName) }

// DatasetsDir is the folder holding one folder per dataset.
func (w *Workspace) DatasetsDir() string { return filepath.Join(w.Dir(), "datasets") }

// NodeDID is the node identity as did:key.
func (w *Workspace) NodeDID() string { return odf.DIDKeyOf(w.nodeKey.Public().(ed25519.PublicKey)) }

// NodeKey is the node's private key.
func (w *Workspace) NodeKey() ed25519.PrivateKey { return w.nodeKey }

// Init creates a workspace in root (root/.ipos) with a new node identity.
func Init(ctx context.Context, root string) (*Workspace, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, DirName)
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("%w in %s", ErrExists, root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// Build the workspace under a temporary name, then rename it into
	// place, so that a failed init leaves nothing half made.
	tmp, err := os.MkdirTemp(root, ".ipos-init-")
	if err != nil {
		return nil, fmt.Errorf("creating workspace: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, sub := range []string{"datasets", "keys"} {
		if err := os.MkdirAll(filepath.Join(tmp, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(filepath.Join(tmp, "keys"), 0o700); err != nil {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := identity.WriteKey(filepath.Join(tmp, "node.key"), priv); err != nil {
		return nil, err
	}
	// The creator is the owner identity, sharing the node key.
	if err := identity.InitOwner(filepath.Join(tmp, "identities"), priv, time.Now()); err != nil {
		return nil, err
	}
	cfg := DefaultConfig()
	cfg.Node.DID = odf.DIDKeyOf(priv.Public().(ed25519.PublicKey))
	if err := writeConfig(filepath.Join(tmp, "config.yaml"), cfg); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return nil, fmt.Errorf("%w in %s", ErrExists, root)
		}
		return nil, fmt.Errorf("creating workspace: %w", err)
	}
	if err := store.SyncDir(root); err != nil {
		return nil, err
	}
	return &Workspace{Root: root, Config: cfg, nodeKey: priv}, nil
}

// Find locates the workspace: explicit (a --workspace flag) if set, else
// $IPOS_WORKSPACE, else the nearest folder at or above cwd that holds
// .ipos. Either of the first two may name the root or the .ipos folder.
func Find(explicit, cwd string) (string, error) {
	for _, c := range []struct{ dir, what string }{{explicit, "--workspace"}, {os.Getenv(EnvVar), EnvVar}} {
		if c.dir == "" {
			continue
		}
		root, err := filepath.Abs(c.dir)
		if err != nil {
			return "", err
		}
		if filepath.Base(root) == DirName {
			root = filepath.Dir(root)
		}
		if !isDir(filepath.Join(root, DirName)) {
			return "", fmt.Errorf("%w at %s (from %s); run `ipos init` there to create one", ErrNotFound, root, c.what)
		}
		return root, nil
	}
	dir, err := filepath.Abs(cwd)
	if err != nil {
		return "", err
	}
	for {
		if isDir(filepath.Join(dir, DirName)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w in %s or any folder above it; run `ipos init` to create one, or set %s", ErrNotFound, cwd, EnvVar)
		}
		dir = parent
	}
}

// Open opens the workspace whose .ipos folder is in root.
func Open(root string) (*Workspace, error) {
	dir := filepath.Join(root, DirName)
	cfg, err := readConfig(filepath.Join(dir, "config.yaml"))
	if err != nil {
		return nil, err
	}
	key, err := identity.ReadKey(filepath.Join(dir, "node.key"))
	if err != nil {
		return nil, err
	}
	w := &Workspace{Root: root, Config: cfg, nodeKey: key}
	if cfg.Node.DID != "" && cfg.Node.DID != w.NodeDID() {
		return nil, fmt.Errorf("%s: node.did is %s but node.key belongs to %s", filepath.Join(dir, "config.yaml"), cfg.Node.DID, w.NodeDID())
	}
	return w, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func writeConfig(path string, cfg Config) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, data, 0o644)
}

func readConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading workspace config: %w", err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Kind != "WorkspaceConfig" {
		return Config{}, fmt.Errorf("%s: kind is %q, want WorkspaceConfig", path, cfg.Kind)
	}
	return cfg, nil
}
