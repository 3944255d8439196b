package query

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
)

// Sentinel errors.
var (
	ErrBadAsAt       = errors.New("cannot read the as-at point")
	ErrBlockNotFound = errors.New("no dataset of the workspace has that block")
)

// AsAt is a point of history: a block of one dataset, or a system time.
type AsAt struct {
	// Block is the block named, if any, and Dataset the ID of the dataset
	// whose chain holds it.
	Block   odf.Multihash
	Dataset odf.DatasetID
	// Time is the system time: the block's, when a block is named.
	Time time.Time
}

// String describes the point for messages.
func (a *AsAt) String() string {
	if a == nil {
		return "latest"
	}
	t := a.Time.UTC().Format(time.RFC3339Nano)
	if a.Block != nil {
		return a.Block.String() + " (" + t + ")"
	}
	return t
}

// timeLayouts are the forms of a time ParseAsAt reads; a date is midnight UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"}

// ParseAsAt reads s as a system time (RFC 3339, or a date taken as
// midnight UTC) or as a block hash, or a unique prefix of one of at
// least 8 hex digits after the multibase "f", which must be on the chain
// of one of datasets.
func ParseAsAt(ctx context.Context, datasets []*dataset.Dataset, s string) (*AsAt, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return &AsAt{Time: t.UTC()}, nil
		}
	}
	full, fullErr := odf.ParseMultihashString(s)
	prefix := strings.ToLower(strings.TrimSuffix(s, "…"))
	if fullErr != nil && (len(prefix) < 9 || prefix[0] != 'f' || strings.Trim(prefix[1:], "0123456789abcdef") != "") {
		return nil, fmt.Errorf("%w %q: use a block hash (f1620…, as `ipos log` prints it), an RFC 3339 time (2026-11-01T12:00:00Z) or a date (2026-11-01)", ErrBadAsAt, s)
	}
	var found []*AsAt
	for _, d := range datasets {
		head, err := d.Chain.Head(ctx)
		if errors.Is(err, chain.ErrEmpty) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Alias, err)
		}
		for b, err := range d.Chain.Walk(ctx, head) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.Alias, err)
			}
			if (fullErr == nil && b.Hash.Equal(full)) || (fullErr != nil && strings.HasPrefix(b.Hash.String(), prefix)) {
				found = append(found, &AsAt{Block: b.Hash, Dataset: d.ID, Time: b.SystemTime.UTC()})
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrBlockNotFound, s)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%w %q: the prefix matches %d blocks; give more of the hash", ErrBadAsAt, s, len(found))
}

// Snapshot is a dataset as at a point of its history.
type Snapshot struct {
	// Head is the newest block seen, nil when the dataset had no blocks
	// at that point, and SystemTime its system time.
	Head       odf.Multihash
	SystemTime time.Time
	// Files are the local paths of the data slices, in offset order.
	Files []string
	// Schema is the newest SetDataSchema's, if any.
	Schema *odf.DataSchema
	// Vocab names the system columns.
	Vocab engine.Vocab
}

// Resolve returns the dataset as at the point at; nil means its head.
func Resolve(ctx context.Context, d *dataset.Dataset, at *AsAt) (*Snapshot, error) {
	snap := &Snapshot{Vocab: engine.DefaultVocab()}
	pather, ok := d.Store.Data.(interface {
		Path(odf.Multihash) (string, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s: data store has no local files", d.Alias)
	}
	head, err := d.Chain.Head(ctx)
	if errors.Is(err, chain.ErrEmpty) {
		return snap, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Alias, err)
	}
	byBlock := at != nil && at.Block != nil && at.Dataset.String() == d.ID.String()
	var haveVocab bool
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Alias, err)
		}
		if snap.Head == nil {
			switch {
			case at == nil:
			case byBlock && !b.Hash.Equal(at.Block):
				continue
			case !byBlock && b.SystemTime.After(at.Time):
				continue
			}
			snap.Head, snap.SystemTime = b.Hash, b.SystemTime.UTC()
		}
		var slice *odf.DataSlice
		switch e := b.Event.(type) {
		case odf.AddData:
			slice = e.NewData
		case odf.ExecuteTransform:
			slice = e.NewData
		case odf.SetDataSchema:
			if snap.Schema == nil {
				snap.Schema = e.Schema
			}
		case odf.SetVocab:
			if !haveVocab {
				snap.Vocab, haveVocab = engine.VocabFrom(&e), true
			}
		}
		if slice != nil {
			p, err := pather.Path(slice.PhysicalHash)
			if err != nil {
				return nil, fmt.Errorf("%s: data slice %s: %w", d.Alias, slice.PhysicalHash, err)
			}
			snap.Files = append(snap.Files, filepath.Clean(p))
		}
	}
	if byBlock && snap.Head == nil {
		return nil, fmt.Errorf("%s: %w: %s", d.Alias, ErrBlockNotFound, at.Block)
	}
	for i, j := 0, len(snap.Files)-1; i < j; i, j = i+1, j-1 {
		snap.Files[i], snap.Files[j] = snap.Files[j], snap.Files[i]
	}
	return snap, nil
}
