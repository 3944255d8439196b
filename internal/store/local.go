package store

import (
	"bytes"
	"context"
	"crypto/sha3"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

var (
	_ ObjectStore = (*Local)(nil)
	_ Opener      = (*Local)(nil)
	_ Corrupter   = (*Local)(nil)
)

// objectMode is the permission of a stored object: objects never change.
const objectMode = 0o444

// Local is an ObjectStore in one directory of the local filesystem, one
// file per object, named by the object's multibase hash.
type Local struct {
	dir string
}

// NewLocal returns the object store in dir, creating dir if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	return &Local{dir: dir}, nil
}

// OpenDataset returns the storage of the ODF dataset in dir, laid out as
// kamu lays it out:
//
//	blocks/<hash>  data/<hash>  checkpoints/<hash>  refs/head
//
// dir must exist; missing subdirectories are created.
func OpenDataset(dir string) (*Dataset, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open dataset: %s is not a directory", dir)
	}
	blocks, err := NewLocal(filepath.Join(dir, "blocks"))
	if err != nil {
		return nil, err
	}
	data, err := NewLocal(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	checkpoints, err := NewLocal(filepath.Join(dir, "checkpoints"))
	if err != nil {
		return nil, err
	}
	refs, err := NewLocalRefs(filepath.Join(dir, "refs"))
	if err != nil {
		return nil, err
	}
	return &Dataset{Blocks: blocks, Data: data, Checkpoints: checkpoints, Refs: refs}, nil
}

// Dir returns the directory that holds the objects.
func (l *Local) Dir() string { return l.dir }

// Path returns the file that holds (or would hold) object h, for readers
// such as DuckDB that need a path. Reading it that way skips verification.
func (l *Local) Path(h odf.Multihash) (string, error) {
	if err := checkHash(h); err != nil {
		return "", err
	}
	return l.path(h), nil
}

func (l *Local) path(h odf.Multihash) string {
	return filepath.Join(l.dir, h.String())
}

// Put implements ObjectStore.
func (l *Local) Put(ctx context.Context, data []byte) (odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := odf.SHA3(data)
	if _, err := os.Lstat(l.path(h)); err == nil {
		return h, nil
	}
	got, _, err := l.write(ctx, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if !got.Equal(h) {
		// Only possible if data changed under us while we copied it.
		return nil, fmt.Errorf("put object %s: content changed while being written (now %s)", h, got)
	}
	return h, nil
}

// PutFile implements ObjectStore.
func (l *Local) PutFile(ctx context.Context, path string) (odf.Multihash, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("put file: %w", err)
	}
	defer f.Close()
	h, n, err := l.write(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("put file %s: %w", path, err)
	}
	return h, n, nil
}

// write copies r into a temporary file in the store's directory, hashing
// it on the way, then makes it durable and renames it to its hash. A
// crash at any point leaves at most a temporary file, never a partial
// object.
func (l *Local) write(ctx context.Context, r io.Reader) (h odf.Multihash, n int64, err error) {
	tmp, err := os.CreateTemp(l.dir, TempPrefix+"*")
	if err != nil {
		return nil, 0, fmt.Errorf("object store: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	hasher := sha3.New256()
	n, err = io.Copy(io.MultiWriter(tmp, hasher), ctxReader{ctx, r})
	if err != nil {
		return nil, 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	h = odf.NewMultihash(odf.CodeSHA3_256, hasher.Sum(nil))
	final := l.path(h)
	if _, err := os.Lstat(final); err == nil {
		return h, n, nil // already stored; the deferred cleanup drops the copy
	}
	if err := tmp.Chmod(objectMode); err != nil {
		return nil, 0, fmt.Errorf("object store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, 0, fmt.Errorf("object store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, 0, fmt.Errorf("object store: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return nil, 0, fmt.Errorf("object store: %w", err)
	}
	renamed = true
	if err := SyncDir(l.dir); err != nil {
		return nil, 0, fmt.Errorf("object %s: %w", h, err)
	}
	return h, n, nil
}

// Get implements ObjectStore.
func (l *Local) Get(ctx context.Context, h odf.Multihash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkHash(h); err != nil {
		return nil, err
	}
	p := l.path(h)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("object %s (%s): %w", h, p, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	if got := odf.SHA3(data); !got.Equal(h) {
		return nil, corruptObject(h, p, got)
	}
	return data, nil
}

// Open implements Opener.
func (l *Local) Open(ctx context.Context, h odf.Multihash) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkHash(h); err != nil {
		return nil, err
	}
	p := l.path(h)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("object %s (%s): %w", h, p, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", h, err)
	}
	return &verifyingReader{ctx: ctx, f: f, hasher: sha3.New256(), want: h, path: p}, nil
}

// verifyingReader hashes what it reads and checks the hash at EOF.
type verifyingReader struct {
	ctx    context.Context
	f      *os.File
	hasher hash.Hash
	want   odf.Multihash
	path   string
	err    error // sticky result once EOF was reached
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.f.Read(p)
	r.hasher.Write(p[:n])
	if err == io.EOF {
		r.err = io.EOF
		if got := odf.NewMultihash(odf.CodeSHA3_256, r.hasher.Sum(nil)); !got.Equal(r.want) {
			r.err = corruptObject(r.want, r.path, got)
		}
		return n, r.err
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }

// Has implements ObjectStore.
func (l *Local) Has(ctx context.Context, h odf.Multihash) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := checkHash(h); err != nil {
		return false, err
	}
	_, err := os.Lstat(l.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("object %s: %w", h, err)
	}
	return true, nil
}

// List implements ObjectStore. Names starting with '.' (temporary and
// lock files) are skipped; any other file not named by a hash is an
// error, so that nothing in the directory goes unchecked.
func (l *Local) List(ctx context.Context) ([]odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("object store: %w", err)
	}
	var hashes []odf.Multihash
	for i, e := range entries {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		h, err := odf.ParseMultihashString(name)
		if err == nil {
			err = checkHash(h)
		}
		if err != nil || h.String() != name || !e.Type().IsRegular() {
			return nil, fmt.Errorf("object store %s: unexpected entry %q: not an object named by its SHA3-256 multihash; move it out of the directory", l.dir, name)
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// Delete implements ObjectStore.
func (l *Local) Delete(ctx context.Context, h odf.Multihash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkHash(h); err != nil {
		return err
	}
	p := l.path(h)
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("object %s (%s): %w", h, p, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	if err := SyncDir(l.dir); err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	return nil
}

// Corrupt implements Corrupter: it flips the bits of the object's first
// byte, or appends a byte to an empty object.
func (l *Local) Corrupt(h odf.Multihash) error {
	if err := checkHash(h); err != nil {
		return err
	}
	p := l.path(h)
	if err := os.Chmod(p, 0o644); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("object %s (%s): %w", h, p, ErrNotFound)
		}
		return fmt.Errorf("corrupt object %s: %w", h, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("corrupt object %s: %w", h, err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		f.Close()
		return fmt.Errorf("corrupt object %s: %w", h, err)
	}
	b[0] = ^b[0]
	_, err = f.WriteAt(b, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("corrupt object %s: %w", h, err)
	}
	return os.Chmod(p, objectMode)
}

func corruptObject(h odf.Multihash, path string, got odf.Multihash) error {
	return fmt.Errorf("object %s (%s): %w: its content hashes to %s; restore the file from a replica or backup", h, path, ErrCorrupt, got)
}

// syncDir makes a rename or removal in dir durable.
// SyncDir makes the entries of a directory (a file just created or renamed
// into it) durable. Every package that writes files whole uses it.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
