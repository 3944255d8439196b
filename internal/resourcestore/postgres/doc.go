// Package postgres is a resourcestore.Store in a PostgreSQL schema, for
// IPOS deployments that run several nodes against one database. It uses
// pgx/v5 through a pgxpool.Pool.
//
// It keeps the same invariants as package sqlite (both pass package
// storetest); how:
//   - Every write is one transaction that reads the current row with
//     SELECT ... FOR UPDATE, so two writers of one resource are
//     serialized and the expectVersion check and the write see the same
//     row; no update is lost. Creating races on the primary key: the
//     loser's INSERT ... ON CONFLICT DO NOTHING inserts nothing and the
//     write is retried as an update.
//   - Resource versions come from one sequence, so they are unique,
//     increase across the whole store and are never reused.
//   - AddEvent serializes the events of one resource with a
//     transaction-scoped advisory lock, so ids (the newest-first order)
//     follow commit order and the cap is exact.
//   - Object and Status are bytea, stored byte for byte (jsonb would
//     reorder keys); labels are jsonb with a GIN index, selected with @>.
//   - List sorts with COLLATE "C" so the order is byte order, as in
//     SQLite, whatever the database's collation.
//
// Everything lives in one schema (Options.Schema, default "ipos"), created
// on Open together with its tables; the schema_version table numbers the
// migrations, which run under an advisory lock so that nodes starting at
// once do not race, and a schema newer than this package is refused
// (resourcestore.ErrSchemaTooNew).
package postgres
