package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Errors wrapped by the stores. Test for them with errors.Is; the wrapping
// error names the object or ref and, for files, its path.
var (
	// ErrNotFound: no object has the requested hash.
	ErrNotFound = errors.New("object not found")
	// ErrCorrupt: stored bytes do not match their name, or a ref file
	// does not hold a hash.
	ErrCorrupt = errors.New("corrupt")
	// ErrConflict: a compare-and-swap found the ref at another value than
	// the caller expected.
	ErrConflict = errors.New("compare-and-swap conflict")
	// ErrRefNotFound: the ref has never been set.
	ErrRefNotFound = errors.New("ref not set")
)

// Head is the name of the ref that points at a dataset's last metadata
// block.
const Head = "head"

// TempPrefix starts the name of every temporary file a local store
// writes. Such files are never objects or refs: List skips them, and a
// file left behind by a crash may be removed by whoever finds it.
const TempPrefix = ".tmp-"

// ObjectStore holds immutable objects, each named by the SHA3-256
// multihash of its bytes.
type ObjectStore interface {
	// Put stores data and returns its hash. Putting content that is
	// already stored changes nothing.
	Put(ctx context.Context, data []byte) (odf.Multihash, error)
	// PutFile streams the file at path into the store, hashing while it
	// copies, and returns the hash and the number of bytes.
	PutFile(ctx context.Context, path string) (odf.Multihash, int64, error)
	// Get returns the bytes of object h after checking that they hash
	// to h. A missing object is ErrNotFound, a mismatch ErrCorrupt.
	Get(ctx context.Context, h odf.Multihash) ([]byte, error)
	// Has reports whether object h exists. It does not read or verify it.
	Has(ctx context.Context, h odf.Multihash) (bool, error)
	// List returns the hashes of all objects, in ascending order of
	// their string form.
	List(ctx context.Context) ([]odf.Multihash, error)
	// Delete removes object h; a missing object is ErrNotFound.
	Delete(ctx context.Context, h odf.Multihash) error
}

// Opener is an ObjectStore that can stream an object instead of reading
// it whole. The reader verifies the hash as it goes: the Read that
// reaches the end returns an error wrapping ErrCorrupt instead of io.EOF
// if the bytes did not match. A caller that stops early gets no check.
type Opener interface {
	Open(ctx context.Context, h odf.Multihash) (io.ReadCloser, error)
}

// Corrupter is an ObjectStore that can damage one of its objects on
// purpose, so that tests can check that damage is detected. It changes
// the object's bytes without changing its name.
type Corrupter interface {
	Corrupt(h odf.Multihash) error
}

// Refs holds named mutable references to objects. Each ref is one
// mutable cell and moves only by compare-and-swap.
type Refs interface {
	// Get returns the current value of the ref; ErrRefNotFound if it was
	// never set, ErrCorrupt if what is stored is not a hash.
	Get(ctx context.Context, name string) (odf.Multihash, error)
	// CompareAndSwap sets the ref to next if it currently holds prev; an
	// empty prev means the ref must be unset. Otherwise it changes nothing
	// and returns an error wrapping ErrConflict that says what the ref
	// holds.
	CompareAndSwap(ctx context.Context, name string, prev, next odf.Multihash) error
}

// Dataset is the storage of one ODF dataset: three object stores and its
// refs, of which Head is the one that matters.
type Dataset struct {
	Blocks      ObjectStore // metadata blocks
	Data        ObjectStore // Parquet data slices
	Checkpoints ObjectStore // engine checkpoints
	Refs        Refs
}

// NewMemoryDataset returns an empty dataset held in memory.
func NewMemoryDataset() *Dataset {
	return &Dataset{
		Blocks:      NewMemory(),
		Data:        NewMemory(),
		Checkpoints: NewMemory(),
		Refs:        NewMemoryRefs(),
	}
}

// Open streams object h from s, using s's Open if it is an Opener and
// falling back to Get (which verifies) otherwise.
func Open(ctx context.Context, s ObjectStore, h odf.Multihash) (io.ReadCloser, error) {
	if o, ok := s.(Opener); ok {
		return o.Open(ctx, h)
	}
	data, err := s.Get(ctx, h)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// checkHash reports whether h can name an object: a well-formed SHA3-256
// multihash.
func checkHash(h odf.Multihash) error {
	if h.IsZero() {
		return errors.New("empty object hash")
	}
	code, digest, err := h.Decode()
	if err != nil {
		return fmt.Errorf("object hash %s: %w", h, err)
	}
	if code != odf.CodeSHA3_256 || len(digest) != 32 {
		return fmt.Errorf("object hash %s is not a SHA3-256 multihash (code %#x, %d digest bytes)", h, code, len(digest))
	}
	return nil
}

// checkRefName reports whether name can name a ref: letters, digits,
// '-', '_' and '.', not starting with '.', so that it is one plain file
// name that cannot collide with temporary or lock files.
func checkRefName(name string) error {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return fmt.Errorf("invalid ref name %q", name)
	}
	for _, c := range []byte(name) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return fmt.Errorf("invalid ref name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

// describe prints a ref value for an error message.
func describe(h odf.Multihash) string {
	if h.IsZero() {
		return "unset"
	}
	return h.String()
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
