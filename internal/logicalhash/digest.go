package logicalhash

import (
	"bytes"
	"crypto/sha3"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/ipos-dev/ipos/internal/odf"
)

// ErrUnsupported is wrapped by the errors New returns for column types the
// algorithm has no layout for.
var ErrUnsupported = errors.New("logical hash: unsupported column type")

// ErrSchemaMismatch is wrapped by Update when a batch's schema differs
// from the one the Digest was created with.
var ErrSchemaMismatch = errors.New("logical hash: batch schema differs from digest schema")

// Digest accumulates the logical hash of a sequence of record batches that
// share one schema. The result depends only on the rows, their order and
// the schema, not on how the rows are split into batches (see doc.go for
// the one exception arrow-digest has with struct nulls).
type Digest struct {
	layout  layout
	columns []*hasher
	err     error
}

// layout is what the schema contributes: the bytes of the schema part and
// each leaf column's type header, in depth-first order.
type layout struct {
	schema  []byte
	headers [][]byte
}

func (l layout) equal(o layout) bool {
	if !bytes.Equal(l.schema, o.schema) || len(l.headers) != len(o.headers) {
		return false
	}
	for i := range l.headers {
		if !bytes.Equal(l.headers[i], o.headers[i]) {
			return false
		}
	}
	return true
}

func describe(s *arrow.Schema) (layout, error) {
	var l layout
	var walk func(fields []arrow.Field, level uint64, prefix string) error
	walk = func(fields []arrow.Field, level uint64, prefix string) error {
		for _, f := range fields {
			l.schema = le64(l.schema, uint64(len(f.Name)))
			l.schema = append(l.schema, f.Name...)
			l.schema = le64(l.schema, level)
			if st, ok := f.Type.(*arrow.StructType); ok {
				if err := walk(st.Fields(), level+1, prefix+f.Name+"."); err != nil {
					return err
				}
				continue
			}
			hdr, err := appendType(nil, f.Type)
			if err != nil {
				return fmt.Errorf("%w: column %q: %v", ErrUnsupported, prefix+f.Name, err)
			}
			l.headers = append(l.headers, hdr)
		}
		return nil
	}
	err := walk(s.Fields(), 0, "")
	return l, err
}

// New returns a Digest for batches of the given schema. It fails, naming
// the column, if a column's type has no layout (maps, unions, intervals,
// lists of structs, dictionaries of nested types, the Null type, ...).
func New(schema *arrow.Schema) (*Digest, error) {
	l, err := describe(schema)
	if err != nil {
		return nil, err
	}
	d := &Digest{layout: l}
	for _, hdr := range l.headers {
		h := newHasher()
		h.write(hdr)
		d.columns = append(d.columns, h)
	}
	return d, nil
}

// Update adds the rows of rec. The batch's schema must have the same field
// names, nesting and logical types as the Digest's; encodings that the hash
// ignores (dictionary vs plain, Utf8 vs LargeUtf8, ...) may differ. After an
// error the Digest is unusable: Update returns the same error again and Sum
// returns nil.
func (d *Digest) Update(rec arrow.RecordBatch) error {
	if d.err != nil {
		return d.err
	}
	l, err := describe(rec.Schema())
	if err != nil {
		return err
	}
	if !l.equal(d.layout) {
		return fmt.Errorf("%w: got %s", ErrSchemaMismatch, rec.Schema())
	}
	var leaves []leaf
	leaves = d.walk(rec.Columns(), nil, leaves)
	// Each leaf column has a hasher of its own and the digests are only
	// combined in Sum, so the columns of a batch are hashed in parallel;
	// every column still sees its batches in order, because Update returns
	// only when all of them are fed.
	errs := make([]error, len(leaves))
	workers := min(runtime.GOMAXPROCS(0), len(leaves))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = feed(d.columns[i], leaves[i].arr, leaves[i].parent)
			}
		}()
	}
	for i := range leaves {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		d.err = fmt.Errorf("logical hash: %w", err)
		return d.err
	}
	absorbHashers(d.columns, runtime.GOMAXPROCS(0))
	return nil
}

// leaf is one leaf column of a batch with the validity its parents pass down.
type leaf struct {
	arr    arrow.Array
	parent *mask
}

// walk lists leaf columns in depth-first order, passing each struct's
// validity down to its children.
func (d *Digest) walk(cols []arrow.Array, parent *mask, out []leaf) []leaf {
	for _, c := range cols {
		if s, ok := c.(*array.Struct); ok {
			m := combine(parent, ownMask(s), s.Len())
			children := make([]arrow.Array, s.NumField())
			for i := range children {
				children[i] = s.Field(i)
			}
			out = d.walk(children, m, out)
			continue
		}
		out = append(out, leaf{c, parent})
	}
	return out
}

// Sum returns the logical hash of the rows added so far as a multihash
// with code odf.CodeArrow0SHA3_256. It does not change the Digest, so more
// batches may follow.
func (d *Digest) Sum() odf.Multihash {
	if d.err != nil {
		return nil
	}
	h := sha3.New256()
	h.Write(d.layout.schema)
	for _, c := range d.columns {
		h.Write(c.sum())
	}
	return odf.NewMultihash(odf.CodeArrow0SHA3_256, h.Sum(nil))
}

// fed is the number of bytes given to the column hashers so far.
func (d *Digest) fed() int64 {
	var n int64
	for _, c := range d.columns {
		n += c.n
	}
	return n
}
