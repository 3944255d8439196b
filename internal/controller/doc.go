// Package controller keeps the workspace true to its declared resources:
// Apply records desired state in the resource store, and ReconcileOnce, a
// level-triggered pass over every resource, drives the world to it and
// writes each resource's status (the seeds call this controller Poros).
//
// Invariants:
//   - Apply changes only desired state; the world changes only in
//     reconciliation, which is idempotent: a second pass over an
//     unchanged store changes nothing.
//   - Status says what the last pass observed: a Ready condition with a
//     reason and message, and the generation it describes. Failures show
//     there and as Warning events, not only in logs.
//   - Run, the continuous controller, reconciles everything every resync,
//     newly applied resources at the next tick, and failed ones again
//     after an exponential backoff (Backoff), as it retries failed
//     scheduled pulls, never later than their next cron time.
//   - Secret values are sealed with the workspace key before they are
//     stored; their spec hash is keyed, so the store keeps no plain hash of
//     them either.
package controller
