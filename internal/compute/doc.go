// Package compute runs algorithms next to the data under signed
// agreements: the compute-to-data workflow of datomspod and Ocean, with
// IPVM's memoised, receipted invocations.
//
// An Algorithm (a WASI module kept in Modules by its SHA-256, or a SQL
// query) runs under an Agreement: a consumer, input datasets, the
// algorithm pinned by hash, allowed arguments, limits, output rules and a
// price. The consumer proposes it and signs its terms; the owner of each
// input (and any named signer) approves by signing the same terms. The
// signature covers the hash of the agreement's canonical spec, so any
// change, the algorithm's hash included, voids every approval given.
// Standing derives the state from the stored approvals, a revocation, the
// runs used and the clock: Proposed, Approved, Active, Exhausted,
// Expired, Revoked.
//
// Runner.Run is one job: check the agreement, the consumer and the
// module's bytes; materialise the inputs as the consumer's policies let
// them through (a Materializer, outside this package, which needs no
// DuckDB); compute the invocation and answer from its receipt when it ran
// before; count a run; execute in the sandbox (or a SQLRunner, with
// Laplace noise on counts when the agreement sets an ε, spent from a
// per-consumer, per-dataset budget); gate the outputs; charge the run in
// the settlement Ledger; sign and store a receipt; record every step in
// the audit log; delete the scratch space.
//
// Invariants:
//   - A job runs only under an Active agreement, as its consumer, with
//     the module whose SHA-256 the parties signed.
//   - The invocation includes the consumer and a hash of the inputs as
//     materialised for them, so a receipt never answers a consumer whose
//     policies show other data.
//   - Nothing leaves a job unless the gate released it; a held release
//     (output.review) needs a second identity, never the consumer.
//   - Every job's ledger postings sum to zero.
//   - Agreement approvals, revocations and run counts live in
//     .ipos/agreements/NAME/, job records in .ipos/jobs/, receipts and
//     released files in .ipos/receipts/, the ledger in .ipos/ledger.jsonl.
package compute
