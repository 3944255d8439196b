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
// # Policies
//
// With Options.Access, every dataset is decided by the policy engine
// (package policy) for the session's subject when the session opens: a
// denied dataset gets no view (a query naming it gets ErrDenied with the
// reasons, and the denial is audited); an allowed one gets a view whose
// SELECT list applies the column masks and whose WHERE applies the row
// filters (engine.CreatePolicyView), after the engine has checked each
// filter with DuckDB's parser. Before a statement runs, its parse tree
// (engine.Refs) must name only the session's views, CTEs in scope and a
// few information_schema views: table functions other than range,
// generate_series and unnest (read_parquet, glob, query, duckdb_views…),
// file-reading and introspection functions, replacement scans ('file')
// and AT clauses are refused, so nothing reaches the data files behind
// the views, which the sandbox must let DuckDB read. Each dataset a
// statement reads is recorded in the audit log with its decision; a
// failed record refuses the statement.
//
// Limitation: DuckDB has no security-barrier views, so a user predicate
// may be evaluated on rows the row filter drops (on their masked values);
// error() is refused, but a failing cast can still tell that such a row
// exists.
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
