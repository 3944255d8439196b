// Package transform runs derivative datasets: SQL over other datasets,
// committed as ExecuteTransform blocks that anyone can re-run and check.
//
// How a run works: each input is read as its current state up to its head
// block (retractions cancel what they retract), the whole query is
// recomputed, and the difference from the derivative's own current state is
// committed: -R for rows that disappeared, +A for new ones. Recomputing
// makes every query correct, stateless or stateful, and lets corrections in
// inputs flow through; the cost is a full scan per run, which incremental
// execution of stateless queries can later remove.
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
