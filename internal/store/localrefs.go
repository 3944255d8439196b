package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

var _ Refs = (*LocalRefs)(nil)

// maxRefSize bounds what Get reads from a ref file; a multibase SHA3-256
// hash is 69 bytes.
const maxRefSize = 4096

// LocalRefs keeps each ref in a file of one directory, holding the
// multibase hash with no trailing newline, as kamu writes refs/head.
//
// CompareAndSwap holds an exclusive flock on the file .<name>.lock
// beside the ref while it reads, compares and replaces the ref, so it is
// safe between goroutines and between processes. Readers take no lock:
// the ref file is replaced by rename, so they see the old value or the
// new one, never a mixture.
type LocalRefs struct {
	dir string
	// sem lets one goroutine of this value at a time wait for the file
	// lock; the others wait here, where the context can stop them.
	sem chan struct{}
}

// NewLocalRefs returns the refs kept in dir, creating dir if needed.
func NewLocalRefs(dir string) (*LocalRefs, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("refs: %w", err)
	}
	return &LocalRefs{dir: dir, sem: make(chan struct{}, 1)}, nil
}

// Dir returns the directory that holds the refs.
func (r *LocalRefs) Dir() string { return r.dir }

// Get implements Refs. Surrounding whitespace in the file is tolerated.
func (r *LocalRefs) Get(ctx context.Context, name string) (odf.Multihash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkRefName(name); err != nil {
		return nil, err
	}
	return r.read(name)
}

func (r *LocalRefs) read(name string) (odf.Multihash, error) {
	p := filepath.Join(r.dir, name)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ref %q (%s): %w", name, p, ErrRefNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("ref %q: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRefSize+1))
	if err != nil {
		return nil, fmt.Errorf("ref %q: %w", name, err)
	}
	if len(b) > maxRefSize {
		return nil, fmt.Errorf("ref %q (%s): %w: file is larger than %d bytes, not a hash; set it to the hash of the last block", name, p, ErrCorrupt, maxRefSize)
	}
	s := strings.TrimSpace(string(b))
	h, err := odf.ParseMultihashString(s)
	if err == nil {
		err = checkHash(h)
	}
	if err != nil {
		return nil, fmt.Errorf("ref %q (%s): %w: content %s is not a SHA3-256 multihash (%v); set it to the hash of the last block", name, p, ErrCorrupt, quote(s), err)
	}
	return h, nil
}

// CompareAndSwap implements Refs.
func (r *LocalRefs) CompareAndSwap(ctx context.Context, name string, prev, next odf.Multihash) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRefName(name); err != nil {
		return err
	}
	if err := checkHash(next); err != nil {
		return fmt.Errorf("ref %q: new value: %w", name, err)
	}
	if !prev.IsZero() {
		if err := checkHash(prev); err != nil {
			return fmt.Errorf("ref %q: expected value: %w", name, err)
		}
	}
	unlock, err := r.lock(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()

	p := filepath.Join(r.dir, name)
	cur, err := r.read(name)
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return err
	}
	if !cur.Equal(prev) {
		return fmt.Errorf("ref %q (%s): %w: it is %s, not the expected %s", name, p, ErrConflict, describe(cur), describe(prev))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := WriteFileAtomic(p, []byte(next.String()), 0o644); err != nil {
		return fmt.Errorf("ref %q: %w", name, err)
	}
	return nil
}

// lock takes the exclusive lock on ref name, waiting until it is free or
// ctx is done. The returned func releases it.
func (r *LocalRefs) lock(ctx context.Context, name string) (unlock func(), err error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p := filepath.Join(r.dir, "."+name+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		<-r.sem
		return nil, fmt.Errorf("ref %q: %w", name, err)
	}
	if err := lockFile(ctx, f); err != nil {
		f.Close()
		<-r.sem
		return nil, fmt.Errorf("ref %q: %w", name, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
		<-r.sem
	}, nil
}

// quote prints at most 80 bytes of s for an error message.
func quote(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…", s[:80])
	}
	return fmt.Sprintf("%q", s)
}
