package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// OwnerName is the name of the owner identity every workspace has.
const OwnerName = "owner"

// EnvVar names the environment variable that selects the acting identity
// when no --as flag is given.
const EnvVar = "IPOS_IDENTITY"

// Sentinel errors.
var (
	ErrNotFound  = errors.New("no such identity")
	ErrExists    = errors.New("identity already exists")
	ErrNotOwner  = errors.New("only an owner identity may do this")
	ErrBadName   = errors.New("invalid identity name")
	ErrBadAttr   = errors.New("invalid identity attribute")
	errCorrupted = errors.New("identity file is damaged")
)

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	valueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$`)
)

// ValidName checks an identity name: a lower-case letter, then up to 62
// lower-case letters, digits, '-' or '_'. The name is also a file name,
// so nothing else is allowed.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use a lower-case letter followed by up to 62 lower-case letters, digits, '-' or '_'", ErrBadName, name)
	}
	if name == "current" {
		return fmt.Errorf("%w %q: the name is reserved", ErrBadName, name)
	}
	return nil
}

// Normalize checks the attributes and returns them with roles and groups
// sorted and deduplicated. Each value is a letter or digit followed by up
// to 127 letters, digits or . _ : / @ -.
func (a Attributes) Normalize() (Attributes, error) {
	out := Attributes{Organisation: a.Organisation, Purpose: a.Purpose}
	check := func(field, v string) error {
		if !valueRE.MatchString(v) {
			return fmt.Errorf("%w: %s %q: use letters, digits and . _ : / @ - (at most 128, starting with a letter or digit)", ErrBadAttr, field, v)
		}
		return nil
	}
	for _, f := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"role", a.Roles, &out.Roles}, {"group", a.Groups, &out.Groups}} {
		for _, v := range f.in {
			if err := check(f.field, v); err != nil {
				return Attributes{}, err
			}
			*f.out = append(*f.out, v)
		}
		sort.Strings(*f.out)
		*f.out = slices.Compact(*f.out)
	}
	if a.Organisation != "" {
		if err := check("organisation", a.Organisation); err != nil {
			return Attributes{}, err
		}
	}
	if a.Purpose != "" {
		if err := check("purpose", a.Purpose); err != nil {
			return Attributes{}, err
		}
	}
	return out, nil
}

// Identity is a stored identity: its Subject and the file facts around
// it. The private key is loaded only by Store.Resolve and Store.Get.
type Identity struct {
	Subject
	// Created is when the identity was made.
	Created time.Time
	// CreatedBy is the DID of the identity that made it (empty for the
	// owner made with the workspace).
	CreatedBy string
	key       ed25519.PrivateKey
}

// Key is the identity's private key.
func (id *Identity) Key() ed25519.PrivateKey { return id.key }

// file is the YAML form of NAME.yaml.
type file struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Name       string     `yaml:"name"`
	DID        string     `yaml:"did"`
	Owner      bool       `yaml:"owner"`
	Attributes Attributes `yaml:"attributes"`
	Created    time.Time  `yaml:"created"`
	CreatedBy  string     `yaml:"createdBy,omitempty"`
	// Key is "node" when the identity shares the node key (the owner
	// made with the workspace); otherwise empty and the key is NAME.key.
	Key string `yaml:"key,omitempty"`
}

const (
	apiVersion = "ipos.dev/v1alpha1"
	kind       = "Identity"
	keyNode    = "node"
)

// Store is the identities of one workspace, kept in a folder (normally
// .ipos/identities). It is safe for use by several processes: changes
// take a lock file and replace files atomically.
type Store struct {
	dir     string
	nodeKey ed25519.PrivateKey
}

// Open returns the identity store in dir. nodeKey is the workspace's node
// key: the owner identity uses it, and a workspace made before
// identities existed gets its owner from it on first use. Open does not
// touch the disk.
func Open(dir string, nodeKey ed25519.PrivateKey) *Store {
	return &Store{dir: dir, nodeKey: nodeKey}
}

// Dir is the folder holding the identities.
func (s *Store) Dir() string { return s.dir }

// InitOwner writes the owner identity into dir, sharing nodeKey. It is
// called when a workspace is made; it fails if an owner already exists.
func InitOwner(dir string, nodeKey ed25519.PrivateKey, now time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f := ownerFile(nodeKey, now)
	if _, err := os.Stat(filepath.Join(dir, OwnerName+".yaml")); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, OwnerName)
	}
	return writeYAML(filepath.Join(dir, OwnerName+".yaml"), f)
}

func ownerFile(nodeKey ed25519.PrivateKey, now time.Time) file {
	return file{
		APIVersion: apiVersion, Kind: kind, Name: OwnerName,
		DID:     odf.DIDKeyOf(nodeKey.Public().(ed25519.PublicKey)),
		Owner:   true,
		Created: now.UTC().Truncate(time.Second),
		Key:     keyNode,
	}
}

// ensureOwner writes the owner identity if the folder has none. Callers
// hold the lock.
func (s *Store) ensureOwner(now time.Time) error {
	if _, err := os.Stat(filepath.Join(s.dir, OwnerName+".yaml")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeYAML(filepath.Join(s.dir, OwnerName+".yaml"), ownerFile(s.nodeKey, now))
}

// lock creates the folder if needed and takes the store's lock.
func (s *Store) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, err
	}
	return store.LockFile(ctx, filepath.Join(s.dir, ".lock"))
}

// names lists the stored identity names, sorted. The owner is included
// even when its file has not been written yet.
func (s *Store) names() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names := []string{OwnerName}
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".yaml")
		if ok && !e.IsDir() && ValidName(n) == nil && n != OwnerName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// load reads one identity; withKey also loads and checks its private key.
func (s *Store) load(name string, withKey bool) (*Identity, error) {
	_, id, err := s.loadFile(name, withKey)
	return id, err
}

// loadFile is load that also returns the file as read.
func (s *Store) loadFile(name string, withKey bool) (file, *Identity, error) {
	path := filepath.Join(s.dir, name+".yaml")
	data, err := os.ReadFile(path)
	var f file
	switch {
	case errors.Is(err, fs.ErrNotExist) && name == OwnerName:
		// A workspace made before identities: the owner is the node key.
		f = ownerFile(s.nodeKey, time.Time{})
	case errors.Is(err, fs.ErrNotExist):
		return file{}, nil, s.notFound(name)
	case err != nil:
		return file{}, nil, err
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil {
			return file{}, nil, fmt.Errorf("%s: %w: %v", path, errCorrupted, err)
		}
		if err := f.check(name); err != nil {
			return file{}, nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	id := identityOf(f)
	if !withKey {
		return f, id, nil
	}
	keyPath := filepath.Join(s.dir, name+".key")
	if f.Key == keyNode {
		id.key = s.nodeKey
		keyPath = "the node key"
	} else if id.key, err = ReadKey(keyPath); err != nil {
		return file{}, nil, fmt.Errorf("cannot act as %s: %w", name, err)
	}
	if got := odf.DIDKeyOf(id.key.Public().(ed25519.PublicKey)); got != f.DID {
		return file{}, nil, fmt.Errorf("%s: did is %s but %s belongs to %s", path, f.DID, keyPath, got)
	}
	return f, id, nil
}

// identityOf is the identity a file describes, without its key.
func identityOf(f file) *Identity {
	return &Identity{
		Subject:   Subject{DID: f.DID, Name: f.Name, Owner: f.Owner, Attributes: f.Attributes},
		Created:   f.Created,
		CreatedBy: f.CreatedBy,
	}
}

func (f file) check(name string) error {
	if f.APIVersion != apiVersion || f.Kind != kind {
		return fmt.Errorf("%w: apiVersion/kind is %s/%s, want %s/%s", errCorrupted, f.APIVersion, f.Kind, apiVersion, kind)
	}
	if f.Name != name {
		return fmt.Errorf("%w: name is %q but the file is named %q", errCorrupted, f.Name, name)
	}
	if _, err := odf.ParseDatasetID(f.DID); err != nil || !strings.HasPrefix(f.DID, "did:key:") {
		return fmt.Errorf("%w: did %q is not a did:key ed25519 identifier", errCorrupted, f.DID)
	}
	if f.Key != "" && f.Key != keyNode {
		return fmt.Errorf("%w: key is %q, want %q or nothing", errCorrupted, f.Key, keyNode)
	}
	norm, err := f.Attributes.Normalize()
	if err != nil {
		return fmt.Errorf("attributes: %w", err)
	}
	if !slices.Equal(norm.Roles, f.Attributes.Roles) || !slices.Equal(norm.Groups, f.Attributes.Groups) {
		return fmt.Errorf("%w: attributes.roles and attributes.groups must be sorted without duplicates", errCorrupted)
	}
	return nil
}

func (s *Store) notFound(ref string) error {
	names, _ := s.names()
	return fmt.Errorf("%w %q; known identities: %s", ErrNotFound, ref, strings.Join(names, ", "))
}

// List returns every identity, sorted by name, without private keys.
func (s *Store) List(ctx context.Context) ([]*Identity, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	out := make([]*Identity, 0, len(names))
	for _, n := range names {
		id, err := s.load(n, false)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// Get returns the identity named by ref (a name or a did:key), with its
// private key.
func (s *Store) Get(ctx context.Context, ref string) (*Identity, error) {
	if strings.HasPrefix(ref, "did:") {
		all, err := s.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, id := range all {
			if id.DID == ref {
				return s.load(id.Name, true)
			}
		}
		return nil, s.notFound(ref)
	}
	if err := ValidName(ref); err != nil {
		return nil, err
	}
	return s.load(ref, true)
}

// Source says where the acting identity came from.
type Source string

// Sources of the acting identity, in the order Resolve tries them.
const (
	FromFlag    Source = "--as"
	FromEnv     Source = "$" + EnvVar
	FromCurrent Source = "identity use"
	FromOwner   Source = "owner (default)"
)

// Resolve returns the acting identity: flag (from --as) if set, else env
// (from $IPOS_IDENTITY) if set, else the identity `ipos identity use`
// selected, else the owner. Each may be a name or a did:key. Acting as an
// identity needs its private key to be readable.
func (s *Store) Resolve(ctx context.Context, flag, env string) (*Identity, Source, error) {
	for _, c := range []struct {
		ref string
		src Source
	}{{flag, FromFlag}, {env, FromEnv}} {
		if c.ref != "" {
			id, err := s.Get(ctx, c.ref)
			if err != nil {
				return nil, "", fmt.Errorf("identity from %s: %w", c.src, err)
			}
			return id, c.src, nil
		}
	}
	cur, err := s.Current()
	if err != nil {
		return nil, "", err
	}
	if cur != "" {
		id, err := s.Get(ctx, cur)
		if err != nil {
			return nil, "", fmt.Errorf("current identity (%s): %w", filepath.Join(s.dir, "current"), err)
		}
		return id, FromCurrent, nil
	}
	id, err := s.Get(ctx, OwnerName)
	return id, FromOwner, err
}

// Current returns the name `ipos identity use` selected, or "" if none.
func (s *Store) Current() (string, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	name := strings.TrimSpace(string(data))
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(s.dir, "current"), err)
	}
	return name, nil
}

// Use makes the identity named by ref (a name or DID) the current one and
// returns it.
func (s *Store) Use(ctx context.Context, ref string, now time.Time) (*Identity, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	id, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.ensureOwner(now); err != nil {
		return nil, err
	}
	if err := store.WriteFileAtomic(filepath.Join(s.dir, "current"), []byte(id.Name+"\n"), 0o644); err != nil {
		return nil, err
	}
	return id, nil
}

// CreateOptions describe a new identity.
type CreateOptions struct {
	Name       string
	Attributes Attributes
	Owner      bool
}

// Create makes a new identity with a fresh ed25519 key. actor is the
// identity doing it and must be an owner. Nothing is written if the name,
// the attributes or the actor are refused.
func (s *Store) Create(ctx context.Context, actor Subject, opts CreateOptions, now time.Time) (*Identity, error) {
	if err := ValidName(opts.Name); err != nil {
		return nil, err
	}
	attrs, err := opts.Attributes.Normalize()
	if err != nil {
		return nil, err
	}
	if !actor.Owner {
		return nil, fmt.Errorf("creating identity %s: %w, and %s is not one", opts.Name, ErrNotOwner, actor.Name)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if opts.Name == OwnerName {
		return nil, fmt.Errorf("%w: %s", ErrExists, OwnerName)
	}
	yamlPath := filepath.Join(s.dir, opts.Name+".yaml")
	if _, err := os.Stat(yamlPath); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, opts.Name)
	}
	if err := s.ensureOwner(now); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f := file{
		APIVersion: apiVersion, Kind: kind, Name: opts.Name,
		DID:        odf.DIDKeyOf(pub),
		Owner:      opts.Owner,
		Attributes: attrs,
		Created:    now.UTC().Truncate(time.Second),
		CreatedBy:  actor.DID,
	}
	// The key goes first: a YAML file without its key would be an
	// identity nobody can act as.
	if err := WriteKey(filepath.Join(s.dir, opts.Name+".key"), priv); err != nil {
		return nil, err
	}
	if err := writeYAML(yamlPath, f); err != nil {
		os.Remove(filepath.Join(s.dir, opts.Name+".key"))
		return nil, err
	}
	return &Identity{
		Subject:   Subject{DID: f.DID, Name: f.Name, Owner: f.Owner, Attributes: f.Attributes},
		Created:   f.Created,
		CreatedBy: f.CreatedBy,
		key:       priv,
	}, nil
}

func writeYAML(path string, f file) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, data, 0o644)
}

// WriteKey writes an ed25519 private key to path as PKCS#8 PEM, readable
// only by its owner (mode 0600), atomically.
func WriteKey(path string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// ReadKey reads an ed25519 private key written by WriteKey.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading its private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return priv, nil
}
