package logicalhash

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/ipos-dev/ipos/internal/odf"
)

// batchRows is how many rows OfParquet reads per record batch. The hash
// does not depend on it except in the struct-null corner case doc.go
// describes.
const batchRows = 10_000

// OfParquet returns the logical hash of the Parquet file at path. The file
// is decoded to Arrow with arrow-go's pqarrow (which honours an embedded
// ARROW:schema), batchRows rows at a time.
func OfParquet(ctx context.Context, path string) (odf.Multihash, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("logical hash of %s: %w", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batchRows, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("logical hash of %s: %w", path, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("logical hash of %s: %w", path, err)
	}
	d, err := New(schema)
	if err != nil {
		return nil, fmt.Errorf("logical hash of %s: %w", path, err)
	}
	if rdr.NumRows() == 0 {
		return d.Sum(), nil
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("logical hash of %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.Update(rr.RecordBatch()); err != nil {
			return nil, fmt.Errorf("logical hash of %s: %w", path, err)
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("logical hash of %s: reading: %w", path, err)
	}
	return d.Sum(), nil
}
