// Package policy decides who may do what to which object, and what they
// see of a dataset's data. An Engine is built from the applied Policy
// resources (resource.PolicySpec); Decide answers one question — may
// this Subject do this action to this Object — with a Decision in the
// shape Trino's OPA integration uses: allow, reasons, rowFilters
// ([{"expression": …}]) and columnMasks ({column: {"expression": …}}).
// The package has no DuckDB: masks and filters are SQL text that package
// query puts inside the views a session reads (so joins, CTEs, subqueries
// and time travel all see masked, filtered rows), after package engine
// has checked every filter with DuckDB's own parser.
//
// # Access semantics
//
// Every access rule whose subjects, actions and objects all match is a
// candidate, at its policy's priority (lower first; 100 when unset); a
// Rego module's allow and deny are candidates at its policy's priority
// too. The lowest priority that has any candidate decides, and within it
// deny overrides allow. With no candidate, owners are allowed and
// everyone else is denied (default deny). Owners are matched by rules
// like anyone else, so a deny that names an owner (or "*") binds them.
// The outcome does not depend on the order policies are given in:
// policies are sorted by priority, then name.
//
// # Data semantics
//
// For an allowed read or query, data rules whose subjects and datasets
// match give masks and row filters. A column gets at most one mask: the
// first matching one in (priority, policy name, rule, mask) order, Rego
// masks after a policy's own rules. pass_through is a mask that shows the
// value: it is how a policy exempts a column. A column tagged pii (a
// Contract's classification) that no rule masks is hashed for non-owners.
// Every matching row filter applies (they are ANDed), as in Trino.
// ${subject.x} substitutions become SQL literals quoted here, never raw
// text; an empty attribute becomes NULL, so a filter on it keeps no row.
//
// # Which actions are decided where
//
// Every action goes through Decide. read and query are decided per dataset
// when package query opens a session; the mutating commands of package cli
// ask first and change nothing when refused: ingest (ipos ingest, pull and
// set-watermark, object the dataset's name), apply and delete (object
// Kind/name, every resource of the command: one refusal refuses the whole
// apply or cascade), run-job and approve (object Agreement/NAME; the job then
// reads its inputs through read decisions, masks and filters included;
// approve also decides ipos job release and reject, on the job's agreement).
// Every decision is audited, allow and deny, with the deciding policy.
//
// # The hash mask, and what it costs
//
// hash shows a pseudonym: the MD5 digest of salt || CAST(value AS VARCHAR),
// read as a little-endian 128-bit integer (DuckDB's md5_number), shifted
// right by two bits to fit a HUGEINT. Equal values get equal pseudonyms, so
// joins, counts and distinct still work, and the value cannot be computed
// back from its pseudonym. Anyone can recompute one outside IPOS:
// int.from_bytes(md5(salt+value).digest(), "little") >> 2. It is a number,
// not text, because a masked query pays for the mask on every row it reads:
// in BenchmarkPolicy (make bench; 10M rows, a row filter keeping a tenth, an
// aggregate over the hashed column) the masked query took 2.5 times the
// unmasked one with SHA-256 hex, 1.4 times with MD5 hex (most of it building
// and grouping 32-character strings) and 1.0-1.2 times with the integer
// (medians of 15 paired rounds, 2026-12-07). A HUGEINT rather than the
// digest's own UHUGEINT because DuckDB casts the latter to VARCHAR about
// sixty times slower, and because Parquet stores 128-bit integers as
// DECIMAL(38,0), which 2^126 fits and 2^128 does not. The price is that SQL
// written for the raw text (email = 'ann@acme', LIKE, lower()) is a type
// error on the masked column rather than a silent mismatch; package query
// adds a note naming the masked columns to such errors.
//
// MD5's known weakness is collisions (two chosen inputs with one digest),
// which give a reader nothing; finding a value from its digest is as
// infeasible as with SHA-256. What neither digest stops is guessing: anyone
// who can query can compute the pseudonym of 'ann@example.org' and look for
// it, and values from a small domain (emails, phone numbers, names) can be
// tried by the million. A mask whose pseudonyms must not be guessed needs a
// salt the readers never see; the default pii mask has none, so it hides
// values from a glance, not from a determined reader. Rejected: DuckDB's
// hash() (64 bits made for hash tables, not meant to be one-way, and
// colliding within a few billion values), HMAC, which costs two digests per
// value, and a Go function registered with DuckDB, whose per-row calls made
// the query twice as slow as MD5 did.
//
// Masks cost only what a query reads: the masked view is inlined into the
// query, so a column the query does not name is never read from the
// files and its mask never computed; row filters are pushed into the
// Parquet scan and run before any mask.
//
// # Rego contract
//
// A policy's rego field is a Rego v1 module in package ipos. The engine
// evaluates data.ipos with input
//
//	{"subject": {"name", "did", "owner", "roles", "groups", "org", "purpose"},
//	 "action": "query",
//	 "object": {"name", "tags", "columns": [{"name", "tags"}]}}
//
// and reads, when defined:
//
//   - allow: true, or a set of reason strings (non-empty means allow);
//   - deny: true, or a set of reason strings;
//   - masks: {column: {"operator": "hash"|…, parameters as in manifests}};
//   - row_filters: a set or array of SQL predicates, checked and expanded
//     exactly like a manifest's rowFilter (${subject.x} included).
//
// Anything else of another type is an error. Evaluation runs a prepared
// query with a deadline (Options.RegoTimeout) and a result size limit;
// built-ins that reach the network, the clock or randomness, or build
// unbounded ranges, are refused when the policy is applied. A module that
// fails, times out or returns the wrong types denies (fail closed) and
// Decide returns the error with the denying Decision; it never panics.
//
// # Invariants
//
//   - Decide is deterministic for a given set of policies, subject, action
//     and object, and safe for concurrent use.
//   - Every Decision has at least one reason naming what decided it.
//   - Masks and filters are only produced for allowed read and query.
package policy
