// Package dataset is one ODF dataset on disk: its storage (blocks, data,
// checkpoints, refs), its metadata chain, its alias, and the operations on
// the whole: creating it from a DatasetSnapshot and verifying its
// integrity. Ingest, merge and transforms build on it.
//
// Invariants: a dataset is created complete or not at all (its folder is
// built under a temporary name and renamed into place), and integrity
// verification reads every byte it vouches for.
package dataset
