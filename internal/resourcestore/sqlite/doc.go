// Package sqlite is the resourcestore.Store of a local IPOS workspace: one
// SQLite file (by convention .ipos/state.db) opened with the pure-Go
// modernc.org/sqlite driver, so IPOS still builds with CGO_ENABLED=0.
//
// Several processes may use the same file at once (an `ipos apply` while
// the reconciler runs). This is how it stays correct:
//   - The database is in WAL mode, so readers never block the writer and
//     the writer never blocks readers.
//   - Every write is one transaction begun with BEGIN IMMEDIATE, which
//     takes SQLite's single write lock before reading anything. A
//     read-modify-write (check expectVersion, compute the next record,
//     store it) therefore sees the latest committed state and cannot
//     interleave with another process's; no update is lost. Waiting for
//     the lock is bounded by the busy timeout (Options.BusyTimeout).
//   - Within a process, writers also queue on a semaphore that honours
//     the context, so goroutines wait in Go instead of in SQLite's
//     sleeping busy handler.
//   - Resource versions come from one counter row bumped in the same
//     transaction, so they are unique and increasing across processes.
//
// Schema: resources (one row per kind/name; Object and Status as BLOBs,
// kept byte for byte; labels as JSON), resource_labels (an index of the
// labels for List's selector, removed with its resource by a foreign key
// with ON DELETE CASCADE; foreign keys are on for every connection),
// counters, events (capped per resource at Options.EventsPerResource,
// newest kept) and schema_version. Open creates or migrates the schema in
// one transaction, numbered by schema_version, and refuses a file whose
// version is newer than SchemaVersion (resourcestore.ErrSchemaTooNew)
// rather than guess at it. Times are stored as Unix microseconds, UTC.
package sqlite
