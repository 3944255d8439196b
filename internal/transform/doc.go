// Package transform runs derivative datasets: SQL over other datasets,
// committed as ExecuteTransform blocks that anyone can re-run and check.
//
// How a run works: each input is read as its current state up to its head
// block (retractions cancel what they retract), the whole query is
// recomputed, and the difference from the derivative's own current state is
// committed: -R for rows that disappeared, +A for new ones. Recomputing
// makes every query correct, stateless or stateful, and lets corrections in
// inputs flow through.
//
// A stateless query (one input; only scans, filters and projections in
// DuckDB's plan) runs incrementally instead: over the input slices added
// since the last run, its output for the appended rows less its output for
// the retracted ones. That is the same difference, so the bytes are the
// same as recomputing (engine's TestIncrementalEqualsRecompute), which is
// what reproduction does. It is used only when the previous run used the
// same query.
//
// Invariants:
//   - A block records exactly what it consumed: for each input, the block
//     interval (prev, new] and offset interval (prev, new].
//   - Re-running a block's transform on the inputs as of its recorded input
//     blocks, with its recorded system time and watermark, gives
//     byte-identical Parquet (see docs/determinism.md); Reproduce checks it.
//   - The output watermark is the minimum of the inputs' watermarks, and
//     never moves back.
package transform
