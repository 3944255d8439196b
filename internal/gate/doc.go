// Package gate decides what of a compute-to-data job's outputs and logs
// may leave the node: the output gate of a Job, applied after the sandbox
// ran and before anything is released. It also holds the
// differential-privacy noise mechanisms and the ε ledger that SQL
// aggregate algorithms use.
//
// Check applies Rules to the files under /data/outputs and /data/logs:
//   - sizes and file counts, and file types by extension and by sniffed
//     content (a ".csv" must be UTF-8 text without NUL bytes, a ".json"
//     valid JSON, a ".parquet" framed by "PAR1");
//   - small counts: in every output CSV, each cell of a count column (the
//     columns named in Rules.CountColumns, by default count, n and any
//     *_count) holding an integer 0 < v < K is suppressed (the cell and
//     every other numeric cell of its row are emptied, since a mean or sum
//     over fewer than K rows discloses as much as the count) or makes the
//     gate refuse the release, per Rules.SmallCounts;
//   - raw rows: unless Rules.RawRowsAllowed, any output CSV row or any
//     logs line equal to a row of the inputs the consumer saw is refused.
//     Rows are compared canonically: cells trimmed of surrounding space,
//     joined with the ASCII unit separator (0x1F), hashed with SHA-256;
//     CSV is read with quotes and CRLF handled. Input headers are not
//     rows.
//
// Invariants: Check never changes its arguments; a refusal releases
// nothing (Verdict.Files is empty) and lists every reason, each naming the
// file and, where it applies, the line and column; a file whose kind the
// gate cannot inspect (Parquet, for instance, while row checks are on) is
// refused, never waved through.
//
// Noise: github.com/google/differential-privacy/go/v4 is not available
// from this build's module proxy (every version is refused), so Laplace
// and Gaussian are implemented here from crypto/rand-backed uniform
// sampling; noise.go documents the sampling, the sensitivity and ε/δ
// semantics, and the floating-point caveat with its mitigation
// (snapping the result to a power-of-two grid, after Mironov 2012).
//
// EpsilonLedger tracks, per (consumer, dataset), the ε spent against a
// budget under sequential composition; FileLedger keeps it in one JSON
// file, changed under a file lock by write-temp, fsync, rename, and
// refuses a spend over budget without changing anything.
package gate
