// Package receipt records what a compute-to-data job computed, so that the
// same invocation later is answered from the record instead of running
// again.
//
// An Invocation names everything that determines a job's result: the
// algorithm's module (SHA3-256 multihash), each input dataset's ID and
// head block, the arguments, the sandbox limits and the output gate rules.
// Its hash, the SHA3-256 multihash of its canonical JSON, printed as ODF
// prints hashes ("f1620…"), is the memoization key. A Receipt holds the
// invocation and its hash, the hashes of the released outputs and of the
// logs, the resources used, the gate's verdict, the start and end times
// and the node's DID, signed by the node's ed25519 key over its canonical
// JSON. docs/receipts.md gives both byte formats.
//
// Store keeps receipts and outputs in a folder: objects named by the
// SHA3-256 of their bytes (internal/store.Local: written once through a
// synced temporary file and a rename, verified on every read) and an
// index from invocation hash to receipt (internal/store.LocalRefs, set
// once by compare-and-swap).
//
// Invariants:
//   - Canonical bytes are a pure function of the value: fields in a fixed
//     order, no insignificant whitespace, no floating-point numbers, no
//     maps, empty lists as [] (never null), HTML characters unescaped.
//   - A receipt read back is verified three ways before it is returned:
//     its bytes match the hash it is stored under, its invocation hashes
//     to the hash it records, and its signature verifies under the key of
//     its node DID. Any failure is an error naming the receipt.
//   - The index is set once: a second receipt for the same invocation
//     does not replace the first.
package receipt
