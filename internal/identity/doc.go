// Package identity manages the people and programs that act on a
// workspace. An identity is a local name, an ed25519 key shown as
// did:key:z6Mk…, a set of attributes (roles, groups, organisation,
// purpose) and an owner flag.
//
// Identities live in .ipos/identities: NAME.yaml holds the public part
// (DID, attributes, owner flag) and NAME.key the PKCS#8 PEM private key
// (mode 0600). The file "current" names the identity `ipos identity use`
// selected.
//
// Invariants:
//   - Names match [a-z][a-z0-9_-]{0,62}; the file name is the name.
//   - The DID in NAME.yaml is derived from NAME.key; Load refuses a
//     mismatch.
//   - Every workspace has an owner identity named "owner". For a
//     workspace made before identities existed it is created lazily,
//     on first use, from the node key, so old workspaces keep working.
//   - Only an owner may create identities or change their attributes
//     (Store.Create and Store.Set check the acting Subject).
//   - Store.Set changes attributes only (never the name, DID, key or
//     owner flag), replacing NAME.yaml atomically under the store's
//     lock; a refused or empty change writes nothing.
//   - Resolution order of the acting identity: the --as flag (name or
//     DID), then $IPOS_IDENTITY, then the workspace's current file,
//     then the owner.
//
// Subject is the small value other packages (policy, audit) consume.
package identity
