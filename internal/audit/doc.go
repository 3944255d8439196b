// Package audit keeps the workspace's tamper-evident audit log: one JSON
// line per mutation (apply, delete, add, ingest, pull, commit, identity
// changes) and per access decision (allow or deny, with the deciding
// policy), each hash-chained to the one before and signed by the node
// key. docs/audit.md gives the bytes exactly.
//
// Layout, in .ipos/audit:
//
//	log.jsonl   the entries, one per line, append-only
//	head.json   the signed checkpoint: seq, hash and byte length of the
//	            last entry, rewritten atomically after every append
//	lock        held while appending, across goroutines and processes
//	torn-*.bin  bytes cut from the end of the log by a recovery
//
// Invariants:
//   - Entry n has seq n, prev = hash of entry n-1, hash = SHA3-256 of its
//     canonical body, and an ed25519 signature of its hash by the node.
//   - A line is accepted only in the exact bytes Append writes, so any
//     changed byte is either malformed, a hash mismatch, or a bad
//     signature.
//   - An entry is fsynced before the checkpoint names it; the checkpoint
//     never names an entry that is not durably in the log.
//   - Append chains onto the signed checkpoint (or a later valid entry
//     that chains onto it), never onto whatever the last line holds; a
//     torn tail is cut, saved to torn-*.bin and recorded in an
//     audit.recover entry before the next entry.
//   - Append refuses to write when the checkpoint is missing beside a
//     non-empty log or does not verify (ErrCheckpoint): it would have
//     nothing trustworthy to chain onto.
//
// What verification proves, and what it cannot (the node key holder can
// rewrite and re-sign everything), is in docs/audit.md.
package audit
