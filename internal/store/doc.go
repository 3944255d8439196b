// Package store keeps the bytes of ODF datasets: content-addressed
// object stores for metadata blocks, data files and checkpoints, and the
// refs (today only "head") that say which block is a dataset's last.
//
// Two interfaces carry it: ObjectStore, for immutable objects named by
// the SHA3-256 multihash of their bytes, and Refs, for named mutable
// cells moved only by compare-and-swap. Local implements them on the
// local filesystem in kamu's dataset layout (see OpenDataset); Memory
// and MemoryRefs implement them in memory. Package storetest is the
// conformance suite every implementation passes.
//
// Invariants:
//   - An object is stored under the hash of its exact bytes and never
//     changes. Putting the same bytes twice is a no-op.
//   - Nothing is half-written: Local writes each object and each ref to a
//     temporary file (named with TempPrefix) in the same directory,
//     fsyncs it, renames it into place and fsyncs the directory. After a
//     crash there is the old state, the new state and perhaps a stray
//     temporary file, which List, Get and Has never see.
//   - Every read is verified: Get (and the reader from Open) hashes what
//     it read and fails with ErrCorrupt, naming the object and its file,
//     if the bytes do not match the name. Has does not read and so does
//     not verify.
//   - A ref changes only by CompareAndSwap, which is atomic between
//     goroutines and, for LocalRefs, between processes (flock on a lock
//     file beside the ref). A swap that loses changes nothing and says
//     what the ref holds instead (ErrConflict).
//   - refs/head holds the multibase (base16) hash with no trailing
//     newline, byte for byte what kamu writes, so kamu and ipos can share
//     a dataset directory.
//   - Bad input (malformed hashes, ref names with path separators,
//     garbage in a ref file) is an error that names what and where; it
//     never panics and never changes anything.
//
// The package has no package-level mutable state; every call that does
// I/O takes a context and returns early once it is done.
package store
