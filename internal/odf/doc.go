// Package odf holds the Open Data Fabric domain values: multiformats
// (varint, multihash, multibase), dataset identifiers, the metadata event
// model, and the two encodings of metadata blocks: FlatBuffers (the stored,
// hashed form, byte-compatible with kamu's manifest version 3, reading
// version 2 too) and YAML (the human form, also used by DatasetSnapshot
// manifests).
//
// Invariants:
//   - A block's hash is the SHA3-256 multihash of the exact manifest bytes
//     that were written or received. Nothing here re-serialises a decoded
//     block to check it.
//   - Decoding never panics or loops on hostile input: every offset is
//     bounds-checked, nesting is capped, and a vector may not claim more
//     elements than the buffer could hold.
//
// The package imports only the standard library, the FlatBuffers
// runtime's builder and yaml.v3; everything above it (stores, chains, the
// CLI) imports it, never the other way round.
package odf
