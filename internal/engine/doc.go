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
//     column are whole UTC milliseconds, written as INT64
//     TIMESTAMP(MILLIS, isAdjustedToUTC=true) as kamu writes them. DuckDB
//     1.5.5 alone cannot: TIMESTAMP_MS is written as MILLIS with
//     isAdjustedToUTC=false, TIMESTAMPTZ as MICROS with isAdjustedToUTC=true,
//     and the timestamp_is_adjusted_to_utc COPY option (duckdb#20976) is not
//     in this release. So the columns leave as TIMESTAMP_MS (the same epoch
//     milliseconds, since the engine runs in UTC) and the footer is then
//     marked adjusted to UTC by package parquetmeta, which rewrites only the
//     footer. Readers see Timestamp(ms, "UTC"), as the logical schema in
//     MergeResult says (TestParquetLayoutLikeKamu).
//   - Nullability: DuckDB writes every Parquet column OPTIONAL and does not
//     report nullability of query results, so the schema marks every data
//     column Option{T} and the four system columns non-optional (they are
//     never null), which is what kamu declares for CSV-read data.
//   - Event time: the Vocab.EventTime column when the batch has it (any
//     type castable to TIMESTAMPTZ, DATE included; a null falls back), else
//     SourceEventTime, else SystemTime.
//
// # Determinism and the Parquet writer
//
// The same inputs give byte-identical files, whatever Config.Threads is
// (TestMergeDeterministic: 1, 2 and 4 threads, several runs, >1 row
// group). Merge runs in three statements:
//
//  1. A temp view stages the batch: normalised event time, data columns,
//     and __seq = rowid of the input table (its input position). Nothing
//     is copied.
//  2. CREATE TEMP TABLE … AS SELECT … ORDER BY a total order (event time
//     or key, then op, then __seq; rows that tie on it are identical). With
//     preserve_insertion_order the table stores the rows in that order, so
//     its rowid is the rank: offset = NextOffset + rowid, no window
//     function. The sort repacks rows into full table row groups, so the
//     table's layout depends only on its rows, not on how many threads
//     produced them.
//  3. COPY of a view over that table, multi-threaded. DuckDB's
//     order-preserving (batch) COPY encodes row groups in parallel and
//     writes them in order; each row group's bytes are a function of its
//     rows, and the row-group boundaries follow the table's layout:
//     exactly ROW_GROUP_SIZE rows each (122880, DuckDB's default), the
//     last one shorter.
//
// An Append batch whose event times already rise with the input (checked
// in one streaming pass, presorted) skips the sort in step 2: DuckDB is set
// to one thread and the batch is copied in parts of whole row groups, one
// part per configured thread, each by its own connection at once; one
// thread filling a table makes full row groups, so step 3, reading the
// parts by UNION ALL, sees the same row groups and writes the same bytes
// (TestPresortedSameBytes). docs/performance.md has the costs.
//
// Step 2 is what makes step 3 safe: a table filled by the parallel CSV
// reader has irregular row groups that depend on the thread count (1
// thread: full groups; 2+: groups cut at the reader's buffer boundaries),
// and a COPY straight from it writes them as they are.
//
// Writer settings: COMPRESSION snappy (what kamu writes, and cheap to
// decode for the logical hash), ROW_GROUP_SIZE 122880, DuckDB's default
// Parquet version (V1 pages, dictionary then plain encodings). DuckDB
// stamps its version in created_by, so bytes are stable per DuckDB build.
//
// Timestamps are truncated to milliseconds with integer arithmetic on a
// naive TIMESTAMP (utcMillis), not date_trunc on TIMESTAMPTZ, which goes
// through ICU and costs about 0.2 µs a value; TestUTCMillis checks that
// both agree.
//
// CSV is read with DuckDB's parallel reader (parallel=true); it keeps
// file order in the table, so rowid is still the line order.
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
