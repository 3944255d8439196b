// Package fetch runs the fetch and prepare stages of ODF polling ingest
// (SetPollingSource.fetch and .prepare) for IPOS root datasets, without
// containers. The ingest orchestrator calls Fetch for the items not yet
// ingested, Prepare on each, reads and merges it, and commits one AddData
// per item carrying the item's source state.
//
// Fetch kinds:
//   - Url with file://, http:// and https://. file:///abs is absolute;
//     file://rel/x, file:rel/x are relative to Options.BaseDir. HTTP sends
//     the step's headers, streams the body to a file in Options.WorkDir
//     (never into memory) and records the ETag as state kind "odf/etag", or
//     else the Last-Modified time as "odf/last-modified". The next fetch
//     sends If-None-Match / If-Modified-Since; a 304, or a 200 carrying the
//     same ETag (or, without ETag, the same Last-Modified), means up to date.
//     A file:// URL records its modification time (to the millisecond, as
//     kamu does) as "odf/last-modified" and is up to date while it is
//     unchanged. Event time defaults to the metadata (Last-Modified or file
//     modification time), as in kamu.
//   - FilesGlob: a glob (`*`, `?`, `[...]`, and `**` for any number of
//     directories) relative to BaseDir. Each matched file not yet ingested
//     is one item, oldest first, each to be committed on its own. Files are
//     named by their path relative to the glob's fixed leading directory
//     (the base name for "dir/*.csv"). The state of an item is kind
//     "odf/etag" with that name as value: this is how kamu records it, so
//     chains move between kamu and IPOS. A later fetch returns only files
//     ordered after the recorded one.
//   - Container, Mqtt and EthereumLogs fail with ErrUnsupported.
//
// Depots: a Url or FilesGlob path depot://NAME/path names a declared
// depot, resolved through Options.Depots.
//   - local: the path is under the depot's folder; then as file:// and
//     FilesGlob above. http: the path is under the base URL, with the
//     depot's headers; then as http(s) above.
//   - s3: a Url downloads the object Prefix/path with the HTTP rules: ETag
//     as "odf/etag" state (else Last-Modified), If-None-Match on the next
//     fetch, a 304 or the same ETag means up to date, event time from
//     Last-Modified. A FilesGlob lists the objects under the pattern's
//     fixed prefix and then follows the local FilesGlob rules exactly (the
//     same code orders and resumes them), downloading only the new ones.
//     "." and ".." segments are refused, so a path stays under Prefix.
//   - postgres: a Url depot://NAME reads the depot's table or query,
//     depot://NAME/schema.table that table, in a read-only, repeatable-read
//     transaction, and writes NDJSON (one object per row, columns in
//     order; numbers as numbers, timestamps RFC 3339 UTC, bytea base64,
//     json as JSON, arrays as arrays, NULL as null, other types as their
//     PostgreSQL text) for the dataset's NdJson read step. Its state is
//     "odf/etag" with a digest of the rows (StatePrefixRows) that does not
//     depend on row order: an unchanged table, even with its rows moved,
//     yields nothing. Event time is the system time.
//   - Errors name the depot and what was asked for (bucket, key, table),
//     never a secret: S3 keys, DSNs and DSN passwords are scrubbed from
//     every error this package builds, and a DSN that does not parse is
//     reported without quoting it.
//
// Ordering: ByName is the default, as in kamu (the only order kamu
// implements). ByEventTime, an IPOS extension, orders by the event time
// from the path (or the modification time with eventTime fromMetadata),
// ties by name, and is resumed from the event time of the recorded file.
//
// Event time from the path: the pattern is a Go regexp (RE2; kamu uses
// Rust's regex, which agrees on the common syntax) whose first group is
// the timestamp, tried on the base name and then the whole name. The
// timestampFormat is strftime style when it has a '%' ("%Y-%m-%d", kamu's
// default and its documented form) and Java SimpleDateFormat style
// otherwise ("yyyyMMdd", "yyyy-MM-dd'T'HH:mm:ss"); "%s" is Unix seconds.
// Times without a zone are UTC. FilesGlob without an eventTime, and
// fromSystemTime anywhere, leave Item.EventTime nil: the caller uses the
// system time.
//
// SourceCaching Forever: once a source has state (it was ingested), it is
// never fetched again. An HTTP source whose server sends neither ETag nor
// Last-Modified then records the fetch time as "odf/last-modified", so
// that there is a state; without Forever such a source has no state and
// is fetched on every pull.
//
// Prepare: Decompress Gzip writes the decompressed stream to a new file;
// Decompress Zip extracts the one file in the archive, or the one whose
// name (or, failing that, base name) matches subPath, listing entries when
// that is ambiguous or empty. Extracted files go to fresh names in WorkDir,
// never to the entry's own path, and an archive with an entry that could
// escape ("..", absolute, drive letter, backslash) is refused outright.
// Pipe runs a command only when Options.AllowPipe is set, with the file on
// stdin, stdout to a new file and the tail of stderr in the error.
//
// Invariants:
//   - Source files (FilesGlob matches, file:// URLs) are handed out in
//     place and never modified; everything this package writes goes to
//     Options.WorkDir, which the caller removes.
//   - One download, decompressed file or command output is capped at
//     Options.MaxBytes (DefaultMaxBytes, 64 GiB), as is each S3 object and
//     the NDJSON of a PostgreSQL read: zip and gzip bombs and runaway
//     servers end in ErrTooLarge, with the partial file removed.
//   - Every wait honours ctx: HTTP and S3 requests and listings, copies
//     (checked per read), directory walks, PostgreSQL connects and queries
//     (checked per row; pgx cancels the running query) and Pipe commands
//     (killed on cancellation).
//   - A PostgreSQL depot is only read: the transaction is READ ONLY, and a
//     query is sent as one extended-protocol statement, so it cannot
//     smuggle in a second one.
//   - No package state: the HTTP client (its Transport also carries S3
//     requests) and limits come from Options.
package fetch
