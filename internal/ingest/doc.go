// Package ingest brings outside data into root datasets, as ODF's polling
// and push sources describe: fetch, prepare, read, preprocess, merge with
// the dataset's history, and commit the new data slice as an AddData block.
//
// Invariants:
//   - A commit is atomic. The data file is stored first, then the blocks
//     (SetDataSchema when the schema changed, then AddData) in one chain
//     transaction whose head moves by compare-and-swap. A failure or a kill
//     at any point leaves the head where it was; at worst an unreferenced
//     data file remains, which verification ignores and garbage collection
//     may remove.
//   - Every slice records its physical hash (SHA3-256 of the Parquet file)
//     and logical hash (arrow-digest over its records), its offsets follow
//     the previous slice's, and the watermark never goes back.
//   - Scratch files live in a per-run folder that is removed at the end.
package ingest
