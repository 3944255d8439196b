// Package engine is IPOS's only door to DuckDB (and so the only package
// built with cgo). It ingests data for root datasets of Open Data Fabric:
// ReadFiles loads prepared source files into a table as a ReadStep says,
// Preprocess runs the source's SQL over it, and Merge combines the batch
// with the dataset's history per the merge strategy and writes one Parquet
// data slice with ODF's system columns. Query serves read-only SQL.
//
// An Engine is one in-memory DuckDB database with a single pinned
// connection (temporary views live per connection), for sequential use.
// Open disables extension auto-install and auto-load (json and parquet are
// statically linked into the bindings), sets TimeZone=UTC, threads and the
// memory limit. Every statement runs with the caller's context; the driver
// interrupts DuckDB when the context ends.
//
// # Invariants of a written slice
//
//   - Columns: offset, op, system_time, event_time (names from Vocab), then
//     the data columns in input order (the event-time column moves to the
//     front).
//   - offset is BIGINT (Parquet INT64), contiguous from NextOffset, rows
//     sorted by it; op is INTEGER (INT32) with 0 +A, 1 -R, 2 -C, 3 +C and a
//     -C immediately followed by its +C; one system_time per slice.
//   - Timestamps: system_time, event_time and every top-level timestamp data
//     column are TIMESTAMPTZ values truncated to whole milliseconds, UTC.
//     kamu writes INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true). DuckDB 1.5.5
//     cannot: TIMESTAMP_MS is written as MILLIS with isAdjustedToUTC=false
//     (a local time, wrong meaning) and TIMESTAMPTZ as MICROS with
//     isAdjustedToUTC=true (right meaning, finer unit); the
//     timestamp_is_adjusted_to_utc COPY option (duckdb#20976) is not in this
//     release. We keep the meaning and lose only the unit: readers see
//     Timestamp(us, UTC) whose values are whole milliseconds. The logical
//     schema in MergeResult says Timestamp(ms, "UTC") as kamu's does.
//   - Nullability: DuckDB writes every Parquet column OPTIONAL and does not
//     report nullability of query results, so the schema marks every data
//     column Option{T} and the four system columns non-optional (they are
//     never null), which is what kamu declares for CSV-read data.
//   - Event time: the Vocab.EventTime column when the batch has it (any
//     type castable to TIMESTAMPTZ, DATE included; a null falls back), else
//     SourceEventTime, else SystemTime.
//
// # Determinism
//
// The same inputs give byte-identical files: rows are numbered by a total
// order (event time or key, then op, then input position via rowid), the
// COPY runs with one thread, with a fixed row-group size (122880 rows,
// DuckDB's default, so one row group per 122880 rows regardless of thread
// count) and SNAPPY compression (what kamu writes, and cheap). DuckDB
// stamps its version in created_by, so bytes are stable per DuckDB build.
//
// # Merge strategies (kamu's ingest-datafusion semantics)
//
//   - Append: every row +A, ordered by event time, then input order.
//   - Ledger: rows whose primary key (may include the event time) never
//     appeared in Prev, +A; nulls in keys compare equal.
//   - Snapshot: the current state is the latest row per key by offset,
//     unless it is -R; a full outer join with the batch emits +A (new),
//     -R (gone, old values and event time), -C/+C (changed in a compared
//     column, or in event time when the batch has a non-null one); sorted by
//     key then op.
//   - ChangelogStream: the batch's op column is validated and kept, input
//     order. UpsertStream returns ErrNotSupported.
//
// # Readers
//
// Csv (ODF defaults: header false, inferSchema false → all VARCHAR, escape =
// quote unless set; Java date patterns are converted to strftime), Json
// (array, subPath a.b.c), NdJson, Parquet, GeoJson and NdGeoJson (a row per
// feature: properties as columns, geometry as a JSON string). Schemas come
// from `schema` or the legacy `ddlSchema` (Spark names such as STRING, INT
// are mapped). A value that does not fit its column is a *ReadError naming
// file, line (CSV, NDJSON) or record (JSON) and column. EsriShapefile is
// ErrNotSupported.
package engine
