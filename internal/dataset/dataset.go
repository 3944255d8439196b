package dataset

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/logicalhash"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// ErrInvalidName is wrapped by errors about dataset names.
var ErrInvalidName = errors.New("invalid dataset name")

// nameRE is ODF's dataset name grammar: dot-separated parts of letters and
// digits, with single hyphens inside a part.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*(\.[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*)*$`)

// ValidateName checks a dataset name.
func ValidateName(name string) error {
	if len(name) > 255 || !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use letters, digits, dots between parts and single hyphens inside them (like com.example.daily-sales)", ErrInvalidName, name)
	}
	return nil
}

// Dataset is an opened dataset.
type Dataset struct {
	ID    odf.DatasetID
	Alias string
	Dir   string
	// Store is the dataset's storage of record.
	Store *store.Dataset
	// Chain reads blocks through the block cache, when there is one.
	Chain *chain.Chain

	cache *store.Packed
}

// UseBlockCache makes the chain read blocks through a pack file at path
// (see store.Packed). Integrity verification still reads the blocks
// themselves.
func (d *Dataset) UseBlockCache(path string) {
	d.cache = store.NewPacked(d.Store.Blocks, path)
	d.Chain = chain.New(d.cache, d.Store.Refs)
}

// DataFilesAt lists the local paths of the data slices committed up to
// and including block head, in offset order.
func (d *Dataset) DataFilesAt(ctx context.Context, head odf.Multihash) ([]string, error) {
	pather, ok := d.Store.Data.(interface {
		Path(odf.Multihash) (string, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s: data store has no local files", d.Alias)
	}
	var files []string
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			return nil, err
		}
		var slice *odf.DataSlice
		switch e := b.Event.(type) {
		case odf.AddData:
			slice = e.NewData
		case odf.ExecuteTransform:
			slice = e.NewData
		}
		if slice != nil {
			p, err := pather.Path(slice.PhysicalHash)
			if err != nil {
				return nil, err
			}
			files = append(files, p)
		}
	}
	slices.Reverse(files)
	return files, nil
}

// DataFiles lists the local paths of all the dataset's data slices in
// offset order.
func (d *Dataset) DataFiles(ctx context.Context) ([]string, error) {
	head, err := d.Chain.Head(ctx)
	if errors.Is(err, chain.ErrEmpty) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return d.DataFilesAt(ctx, head)
}

// StoreSlice stores the Parquet file at path as a data slice of rows
// records starting at offset start, and describes it: physical hash
// (SHA3-256 of the file), logical hash (arrow-digest of its records) and
// size. The logical hash reads the file back through Arrow while the
// store copies and hashes its bytes: two passes, two cores.
func (d *Dataset) StoreSlice(ctx context.Context, path string, start uint64, rows int64) (*odf.DataSlice, error) {
	type hashed struct {
		h   odf.Multihash
		err error
	}
	logicalCh := make(chan hashed, 1)
	go func() {
		h, err := logicalhash.OfParquet(ctx, path)
		logicalCh <- hashed{h, err}
	}()
	physical, size, err := d.Store.Data.PutFile(ctx, path)
	lh := <-logicalCh
	if err != nil {
		return nil, fmt.Errorf("%s: storing data: %w", d.Alias, err)
	}
	if lh.err != nil {
		return nil, fmt.Errorf("%s: logical hash: %w", d.Alias, lh.err)
	}
	return &odf.DataSlice{
		LogicalHash:    lh.h,
		PhysicalHash:   physical,
		OffsetInterval: odf.OffsetInterval{Start: start, End: start + uint64(rows) - 1},
		Size:           uint64(size),
	}, nil
}

// Scratch makes a fresh folder under parent for one run of purpose on this
// dataset; the caller removes it.
func (d *Dataset) Scratch(parent, purpose string) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(parent, purpose+"-"+d.ID.Multibase()[:12]+"-")
}

// Close writes what the block cache learnt. The dataset stays usable.
func (d *Dataset) Close() error {
	if d.cache == nil {
		return nil
	}
	return d.cache.Flush()
}

// Open opens the dataset in dir, whose name is the dataset ID's multibase
// form.
func Open(dir string) (*Dataset, error) {
	id, err := odf.ParseDatasetID("did:odf:" + filepath.Base(dir))
	if err != nil {
		return nil, fmt.Errorf("dataset folder %s: %w", dir, err)
	}
	st, err := store.OpenDataset(dir)
	if err != nil {
		return nil, err
	}
	alias, err := os.ReadFile(filepath.Join(dir, "info", "alias"))
	if err != nil {
		return nil, fmt.Errorf("dataset %s: reading its alias: %w", id, err)
	}
	return &Dataset{
		ID:    id,
		Alias: strings.TrimSpace(string(alias)),
		Dir:   dir,
		Store: st,
		Chain: chain.New(st.Blocks, st.Refs),
	}, nil
}

// Check validates a snapshot as Create would, in memory, writing nothing.
func Check(ctx context.Context, key ed25519.PrivateKey, snap *odf.DatasetSnapshot, now time.Time) error {
	if err := ValidateName(snap.Name); err != nil {
		return err
	}
	id, err := odf.DatasetIDFromPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	st := store.NewMemoryDataset()
	_, err = appendSnapshot(ctx, chain.New(st.Blocks, st.Refs), id, snap, now)
	return err
}

func appendSnapshot(ctx context.Context, c *chain.Chain, id odf.DatasetID, snap *odf.DatasetSnapshot, now time.Time) (odf.Multihash, error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: odf.Seed{DatasetID: id, DatasetKind: snap.Kind}}); err != nil {
		return nil, fmt.Errorf("%s: %w", snap.Name, err)
	}
	for i, e := range snap.Metadata {
		switch e.(type) {
		case odf.Seed, odf.AddData, odf.ExecuteTransform:
			return nil, fmt.Errorf("%s: metadata[%d]: a snapshot may not contain %s events; they are written by ingest and transforms", snap.Name, i, odf.EventName(e))
		}
		if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: now, Event: e}); err != nil {
			return nil, fmt.Errorf("%s: metadata[%d]: %w", snap.Name, i, err)
		}
	}
	return tx.Commit(ctx)
}

// Create makes a new dataset under parent from a snapshot: a folder named
// by the ID of key, holding a Seed block followed by one block per event
// of the snapshot, and info/alias. The folder is assembled under a
// temporary name and renamed into place, so a failure leaves nothing.
func Create(ctx context.Context, parent string, key ed25519.PrivateKey, snap *odf.DatasetSnapshot, now time.Time) (*Dataset, error) {
	if err := ValidateName(snap.Name); err != nil {
		return nil, err
	}
	id, err := odf.DatasetIDFromPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	final := filepath.Join(parent, id.Multibase())
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("dataset %s already exists", id)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-dataset-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, sub := range []string{"info"} {
		if err := os.MkdirAll(filepath.Join(tmp, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "info", "alias"), []byte(snap.Name), 0o644); err != nil {
		return nil, err
	}
	st, err := store.OpenDataset(tmp)
	if err != nil {
		return nil, err
	}
	if _, err := appendSnapshot(ctx, chain.New(st.Blocks, st.Refs), id, snap, now); err != nil {
		return nil, err
	}
	if err := syncTree(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("creating dataset %s: %w", snap.Name, err)
	}
	if err := store.SyncDir(parent); err != nil {
		return nil, err
	}
	return Open(final)
}

// syncTree fsyncs the folders of a freshly built dataset so that the
// rename publishes durable contents. Objects were fsynced as written.
func syncTree(dir string) error {
	for _, d := range []string{"info", "refs", "blocks", "data", "checkpoints", ""} {
		if err := store.SyncDir(filepath.Join(dir, d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := fsyncFile(filepath.Join(dir, "info", "alias")); err != nil {
		return err
	}
	return nil
}

func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
