// Package chain appends to and reads an ODF metadata chain: a singly linked
// list of content-addressed blocks whose newest hash is the dataset's head
// reference.
//
// Invariants:
//   - Every block is validated against the chain before it is written, with
//     kamu's rules: Seed first and only first, sequence numbers +1, the
//     previous block exists, system time and watermark never decrease, data
//     offsets and checkpoints continue from the previous slice, and no-op
//     events are refused.
//   - Blocks are stored before the head moves, and the head moves only by
//     compare-and-swap from the value the transaction started from. A
//     transaction that loses the race changes nothing a reader can see: its
//     blocks are unreferenced objects.
//   - Blocks are hashed as the exact bytes stored; reading checks the hash.
package chain
