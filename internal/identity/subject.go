package identity

import "slices"

// Subject is who is acting: the resolved current identity, reduced to the
// facts a policy decision or an audit entry needs. It is a plain value with
// no file handles or keys, so packages that decide on access (the policy
// engine) or record it (the audit log) can import it without touching the
// workspace.
//
// A Subject is produced by Store.Resolve (or Identity.Subject) and is
// read-only by convention: callers must not modify the slices.
type Subject struct {
	// DID is the identity's ed25519 public key as did:key:z6Mk…. It is
	// the stable identifier; Name is only a local alias for it.
	DID string `json:"did" yaml:"did"`
	// Name is the local name of the identity in this workspace, such as
	// "owner" or "analyst".
	Name string `json:"name" yaml:"name"`
	// Owner is true for identities allowed to administer the workspace
	// (create identities, change attributes). The identity made with the
	// workspace is an owner.
	Owner bool `json:"owner" yaml:"owner"`
	// Attributes are the claims policies match on.
	Attributes Attributes `json:"attributes" yaml:"attributes"`
}

// Attributes are the claims attached to an identity. They are declared by
// an owner when the identity is created; nothing verifies them against an
// outside authority.
type Attributes struct {
	// Roles such as "analyst" or "steward". Sorted, without duplicates.
	Roles []string `json:"roles,omitempty" yaml:"roles,omitempty"`
	// Groups such as "epidemiology". Sorted, without duplicates.
	Groups []string `json:"groups,omitempty" yaml:"groups,omitempty"`
	// Organisation the identity acts for, such as "acme-health".
	Organisation string `json:"organisation,omitempty" yaml:"organisation,omitempty"`
	// Purpose the identity declares for its use of data, such as
	// "research".
	Purpose string `json:"purpose,omitempty" yaml:"purpose,omitempty"`
}

// HasRole reports whether the subject has role r.
func (s Subject) HasRole(r string) bool { return slices.Contains(s.Attributes.Roles, r) }

// InGroup reports whether the subject is in group g.
func (s Subject) InGroup(g string) bool { return slices.Contains(s.Attributes.Groups, g) }

// String prints "name (did)".
func (s Subject) String() string { return s.Name + " (" + s.DID + ")" }
