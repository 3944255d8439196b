// Package workspace finds, creates and opens an IPOS workspace: the .ipos/
// folder that holds the node identity, the configuration and the datasets.
//
// Layout:
//
//	.ipos/
//	  config.yaml          typed configuration (WorkspaceConfig)
//	  node.key             the node's ed25519 private key, PKCS#8 PEM, mode 0600
//	  keys/<dataset>.key   each dataset's ed25519 private key, mode 0600
//	  datasets/<dataset>/  one ODF dataset per folder, named by its ID
//	                       without "did:odf:" (blocks, data, checkpoints,
//	                       refs/head, info/alias)
//	  lock                 taken while datasets are created or renamed
//	  identities/          identities (NAME.yaml, NAME.key); the owner made
//	                       at init shares node.key (package identity)
//
// Other packages keep their state beside these: audit/ (audit), state.db
// and secret.key (resourcestore, sealing), quarantine/ (contract),
// algorithms/, agreements/, jobs/, receipts/, ledger.jsonl, epsilon.json
// (compute, receipt, gate), cache/ and tmp/.
//
// Invariants: a dataset folder appears under datasets/ only complete (it is
// built under a temporary name and renamed), and at most one dataset has a
// given alias.
package workspace
