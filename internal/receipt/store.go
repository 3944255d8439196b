package receipt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// ErrNotFound: no receipt for that invocation.
var ErrNotFound = errors.New("no receipt for this invocation")

// Store keeps receipts and outputs under one folder:
//
//	objects/<hash>   receipts (canonical JSON) and output and log files,
//	                 named by the SHA3-256 multihash of their bytes
//	index/<hash>     invocation hash → receipt hash, set once
type Store struct {
	objects *store.Local
	index   *store.LocalRefs
}

// OpenStore opens (creating if needed) the store in dir.
func OpenStore(dir string) (*Store, error) {
	objects, err := store.NewLocal(filepath.Join(dir, "objects"))
	if err != nil {
		return nil, fmt.Errorf("receipt store: %w", err)
	}
	index, err := store.NewLocalRefs(filepath.Join(dir, "index"))
	if err != nil {
		return nil, fmt.Errorf("receipt store: %w", err)
	}
	return &Store{objects: objects, index: index}, nil
}

// Put stores the files the receipt names (outputs and logs must be the
// bytes it hashes), then the receipt, then the index entry. If the
// invocation already has a receipt, that one stays and is returned.
func (s *Store) Put(ctx context.Context, r *Receipt, outputs, logs map[string][]byte) (*Receipt, odf.Multihash, error) {
	if err := r.Verify(); err != nil {
		return nil, nil, err
	}
	for _, set := range []struct {
		files  map[string][]byte
		hashes []FileHash
	}{{outputs, r.Outputs}, {logs, r.Logs}} {
		if len(set.files) != len(set.hashes) {
			return nil, nil, fmt.Errorf("receipt store: the receipt names %d files, %d given", len(set.hashes), len(set.files))
		}
		for _, fh := range set.hashes {
			data, ok := set.files[fh.Name]
			if !ok {
				return nil, nil, fmt.Errorf("receipt store: file %s named by the receipt is missing", fh.Name)
			}
			h, err := s.objects.Put(ctx, data)
			if err != nil {
				return nil, nil, err
			}
			if h.String() != fh.Hash {
				return nil, nil, fmt.Errorf("receipt store: file %s hashes to %s, the receipt says %s", fh.Name, h, fh.Hash)
			}
		}
	}
	h, err := s.objects.Put(ctx, r.Canonical())
	if err != nil {
		return nil, nil, err
	}
	inv, err := odf.ParseMultihashString(r.InvocationHash)
	if err != nil {
		return nil, nil, err
	}
	err = s.index.CompareAndSwap(ctx, inv.String(), nil, h)
	if errors.Is(err, store.ErrConflict) {
		prev, perr := s.Lookup(ctx, r.InvocationHash)
		if perr != nil {
			return nil, nil, perr
		}
		ph, _ := s.index.Get(ctx, inv.String())
		return prev, ph, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return r, h, nil
}

// Get reads and verifies the receipt stored under h.
func (s *Store) Get(ctx context.Context, h odf.Multihash) (*Receipt, error) {
	data, err := s.objects.Get(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("receipt %s: %w", h, err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("receipt %s: %w", h, err)
	}
	return r, nil
}

// Lookup returns the receipt of an invocation (by its printed hash), or
// ErrNotFound.
func (s *Store) Lookup(ctx context.Context, invocationHash string) (*Receipt, error) {
	inv, err := odf.ParseMultihashString(invocationHash)
	if err != nil {
		return nil, fmt.Errorf("invocation hash %q: %w", invocationHash, err)
	}
	h, err := s.index.Get(ctx, inv.String())
	if errors.Is(err, store.ErrRefNotFound) {
		return nil, fmt.Errorf("invocation %s: %w", invocationHash, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	if r.InvocationHash != inv.String() {
		return nil, fmt.Errorf("receipt %s: %w: indexed under invocation %s but records %s", h, ErrInvalid, inv, r.InvocationHash)
	}
	return r, nil
}

// Files reads and verifies the files a receipt lists (its Outputs or
// Logs), by name.
func (s *Store) Files(ctx context.Context, hashes []FileHash) (map[string][]byte, error) {
	out := make(map[string][]byte, len(hashes))
	for _, fh := range hashes {
		h, err := odf.ParseMultihashString(fh.Hash)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", fh.Name, err)
		}
		data, err := s.objects.Get(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", fh.Name, err)
		}
		out[fh.Name] = data
	}
	return out, nil
}
