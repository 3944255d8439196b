// Package query serves SQL over a workspace's datasets: each dataset is a
// view named by its alias over its Parquet data slices, system columns
// (offset, op, system_time, event_time) included, in a DuckDB session
// that is then locked down (engine.Lockdown) so that the SQL can read the
// datasets and nothing else, and write nothing.
//
// # Time travel
//
// A session, or one dataset (Resolve), can be seen as at a point of its
// history (AsAt): a block hash or a system time. A block names one
// dataset, which is seen as at that block; every other dataset is seen as
// at its newest block whose system time is not after the block's. A time
// is applied to every dataset the same way. Seeing a dataset as at a block
// means reading only the data slices of that block and the blocks before
// it. Chains are walked from the head; system times never decrease along
// a chain (chain.Validate), so the first block not after the time is the
// one.
//
// # Invariants
//
//   - The views are made before the lockdown and only the data files they
//     read are allowed (DuckDB's allowed_paths), not whole data folders,
//     so that a query as at a point cannot read slices committed later.
//   - User SQL runs through engine.QueryStatement: one query statement at
//     a time; DDL, DML, COPY, ATTACH, SET, PRAGMA, INSTALL and LOAD are
//     refused, so the views cannot be replaced or dropped.
//   - A dataset with no data as at the point has a view with no rows when
//     a schema (SetDataSchema) is known, else no view; Datasets says why.
package query
