// Package contract turns a Contract (resource.ContractSpec) into checks,
// judges their results, and keeps what a refused commit leaves behind.
// It is pure Go: the engine runs the SQL it writes.
//
//   - Compile makes a Plan: every column constraint and quality rule
//     becomes a Check, an SQL aggregate over a relation the caller names
//     (the new slice or the whole dataset) with, for row-level rules, a
//     predicate that selects the offending rows for samples; SQL rules
//     keep their query with {object} standing for the relation. The
//     freshness SLA is a check on max(element).
//   - Evaluate compares an observed number with the rule's threshold;
//     a Report holds every Result, with samples of offending rows.
//   - CheckSchema compares a dataset's ODF schema with the contract's
//     columns (missing required columns, types that do not fit).
//   - Diff classifies the changes between two versions of a contract as
//     breaking or not; a breaking change needs a new major version.
//   - ImportODCS and ExportODCS read and write Open Data Contract
//     Standard v3 documents.
//   - Enforce wraps a check function into a Gate for ingest and
//     transform: a report with an error-severity violation moves the
//     rejected slice and its report.json into the quarantine folder and
//     becomes a *RejectedError.
//
// Invariants:
//   - Every identifier and literal that comes from a contract is quoted
//     in the SQL written here (QuoteIdent, QuoteLit); a column name or an
//     allowed value cannot inject SQL. A rule's own query is user SQL and
//     must be run in the engine's sandbox (one SELECT, no file access).
//   - A Gate refusing a batch has changed nothing in the dataset: the
//     caller checks before any block is written, and the quarantine
//     holds the slice and its report under .ipos/quarantine/<dataset>/.
//   - Diff is conservative: a change it cannot show to be safe (a rule's
//     threshold changed, a type changed other than integer → number) is
//     breaking.
package contract
