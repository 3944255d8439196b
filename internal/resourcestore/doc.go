// Package resourcestore keeps IPOS's declarative resources: the manifests
// (apiVersion, kind, metadata, spec, status) that `ipos apply`, `ipos get`
// and `ipos delete` write and read, and that the level-triggered reconciler
// drives toward their desired state.
//
// The store is deliberately ignorant of manifest types. A Record carries
// the canonical JSON of a manifest (Object), the hash of its spec
// (SpecHash), its labels and the reconciler's JSON status as opaque bytes;
// package resource owns their meaning. Store is the interface; package
// sqlite implements it on a single local file (.ipos/state.db), package
// postgres on a PostgreSQL schema, and package storetest is the
// conformance suite both pass.
//
// Invariants every implementation keeps:
//   - A resource is named by (Kind, Name); both are non-empty.
//   - Generation is 1 on create and grows by one exactly when Apply stores
//     a different SpecHash. Status updates and metadata-only changes
//     (labels, or Object bytes with the same SpecHash) never touch it, so
//     the reconciler can record "observed generation" in the status.
//   - ResourceVersion changes on every write that changes something
//     (Apply, UpdateStatus) and is the optimistic-concurrency token: a
//     call with expectVersion != 0 succeeds only if it equals the stored
//     ResourceVersion, and fails with ErrConflict otherwise, changing
//     nothing. Versions come from one store-wide counter, so they grow
//     strictly and are never reused: a token taken before a Delete never
//     matches the record created after it.
//   - A write that would change nothing (Apply of the stored Object,
//     SpecHash and labels; UpdateStatus with the stored status) is a no-op:
//     no version bump, UpdatedAt unchanged, changed=false.
//   - Apply never writes Status and UpdateStatus never writes Object,
//     SpecHash, Labels or Generation: the two writers (apply and the
//     reconciler) own disjoint halves of a record.
//   - Object and Status, when non-empty, are valid JSON; they are stored
//     and returned byte for byte.
//   - Events are kept per resource, newest first, capped at a configured
//     number per (Kind, Name); they outlive the resource they describe.
//   - Errors name the resource as "Kind/Name" and wrap ErrNotFound or
//     ErrConflict where those apply; a canceled context stops every call
//     with an error that wraps the context's error.
package resourcestore
