// Package storetest is the conformance suite for resourcestore.Store.
// Every implementation runs it in a few lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) resourcestore.Store { return openTestStore(t) })
//	}
//
// newStore must return an empty store with the default event cap
// (resourcestore.DefaultEventsPerResource) that the test owns; the suite
// closes it. The suite checks the invariants listed in package
// resourcestore: generation and resource version rules, no-op writes,
// optimistic concurrency on every write, List order and label selection,
// Delete, event order and capping, concurrent read-modify-write without
// lost updates, and context cancellation.
package storetest
