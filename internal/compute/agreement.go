package compute

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/store"
)

// State is where an agreement is in its life.
type State string

// Agreement states. Proposed until every required party has signed the
// current terms; Approved once they have; Active while jobs may run;
// then Exhausted (no runs left), Expired or Revoked for good.
const (
	Proposed  State = "Proposed"
	Approved  State = "Approved"
	Active    State = "Active"
	Exhausted State = "Exhausted"
	Expired   State = "Expired"
	Revoked   State = "Revoked"
)

// Party roles in an agreement.
const (
	RoleConsumer = "consumer"
	RoleOwner    = "owner"  // owner of an input dataset
	RoleSigner   = "signer" // named in spec.signers
)

// Approval is one party's signature over an agreement's terms: its name
// and the hash of its canonical spec. Changing any term, the algorithm's
// hash included, changes the hash, and the signature no longer counts.
type Approval struct {
	Agreement string    `json:"agreement"`
	SpecHash  string    `json:"specHash"`
	Signer    string    `json:"signer"` // did:key
	Name      string    `json:"name"`   // the signer's local name
	Time      time.Time `json:"time"`
	Signature string    `json:"signature"` // base64 ed25519
}

// approvalMessage is what an approval signs.
func approvalMessage(agreement, specHash string) []byte {
	return []byte("ipos agreement approval v1\n" + agreement + "\n" + specHash + "\n")
}

// Sign returns the approval of the agreement's terms by key.
func Sign(agreement, specHash, name string, key ed25519.PrivateKey, now time.Time) Approval {
	return Approval{
		Agreement: agreement, SpecHash: specHash, Name: name,
		Signer:    odf.DIDKeyOf(key.Public().(ed25519.PublicKey)),
		Time:      now.UTC().Truncate(time.Second),
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, approvalMessage(agreement, specHash))),
	}
}

// Verify checks that the approval is a valid signature by its signer of
// the given terms.
func (a Approval) Verify(agreement, specHash string) error {
	if a.Agreement != agreement || a.SpecHash != specHash {
		return errors.New("signed other terms")
	}
	pub, err := odf.ParseDIDKey(a.Signer)
	if err != nil {
		return fmt.Errorf("signer: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || !ed25519.Verify(pub, approvalMessage(agreement, specHash), sig) {
		return errors.New("bad signature")
	}
	return nil
}

// Party is a signer an agreement requires.
type Party struct {
	Name   string    `json:"name"`
	DID    string    `json:"did"`
	Roles  []string  `json:"roles"`
	Signed bool      `json:"signed"`
	Time   time.Time `json:"time,omitzero"`
}

// Standing is an agreement's evaluated state.
type Standing struct {
	Name     string  `json:"name"`
	State    State   `json:"state"`
	Reason   string  `json:"reason,omitempty"`
	SpecHash string  `json:"specHash"`
	Parties  []Party `json:"parties"`
	RunsUsed int     `json:"runsUsed"`
	// RunsLeft is -1 when the agreement sets no limit.
	RunsLeft  int       `json:"runsLeft"`
	RevokedBy string    `json:"revokedBy,omitempty"`
	Expires   time.Time `json:"expires,omitzero"`
}

// agreementFiles keeps each agreement's approvals, revocation and run
// count in a folder of its own: .ipos/agreements/NAME/.
type agreementFiles struct {
	dir string
}

func (f agreementFiles) folder(name string) string { return filepath.Join(f.dir, name) }

func (f agreementFiles) lock(ctx context.Context, name string) (func(), error) {
	if err := os.MkdirAll(f.folder(name), 0o755); err != nil {
		return nil, err
	}
	return store.LockFile(ctx, filepath.Join(f.folder(name), ".lock"))
}

// approvals reads the agreement's approvals, any terms.
func (f agreementFiles) approvals(name string) ([]Approval, error) {
	ents, err := os.ReadDir(filepath.Join(f.folder(name), "approvals"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Approval
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var a Approval
		if _, err := readJSON(filepath.Join(f.folder(name), "approvals", e.Name()), &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// addApproval stores a, replacing the signer's earlier approval.
func (f agreementFiles) addApproval(a Approval) error {
	return writeJSON(filepath.Join(f.folder(a.Agreement), "approvals", strings.TrimPrefix(a.Signer, "did:key:")+".json"), a)
}

// revocation is who revoked the agreement, and when.
type revocation struct {
	By     string    `json:"by"`
	Name   string    `json:"name"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason,omitempty"`
}

func (f agreementFiles) revocation(name string) (*revocation, error) {
	var r revocation
	found, err := readJSON(filepath.Join(f.folder(name), "revoked.json"), &r)
	if !found || err != nil {
		return nil, err
	}
	return &r, nil
}

func (f agreementFiles) revoke(name string, r revocation) error {
	return writeJSON(filepath.Join(f.folder(name), "revoked.json"), r)
}

// runs is how many jobs have run under the agreement.
func (f agreementFiles) runs(name string) (int, error) {
	data, err := os.ReadFile(filepath.Join(f.folder(name), "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d", &n); err != nil || n < 0 {
		return 0, fmt.Errorf("%s: not a run count", filepath.Join(f.folder(name), "runs"))
	}
	return n, nil
}

func (f agreementFiles) setRuns(name string, n int) error {
	return store.WriteFileAtomic(filepath.Join(f.folder(name), "runs"), []byte(fmt.Sprintf("%d\n", n)), 0o644)
}

// evaluate works out an agreement's state from its spec, the parties it
// requires, the approvals given, a revocation and the runs used.
func evaluate(name string, spec *resource.AgreementSpec, specHash string, parties []Party, approvals []Approval, rev *revocation, runs int, now time.Time) Standing {
	st := Standing{Name: name, SpecHash: specHash, RunsUsed: runs, RunsLeft: -1, Expires: spec.Limits.Expires}
	if spec.Limits.Runs > 0 {
		st.RunsLeft = max(spec.Limits.Runs-runs, 0)
	}
	signed := map[string]Approval{}
	for _, a := range approvals {
		if a.Verify(name, specHash) == nil {
			signed[a.Signer] = a
		}
	}
	var missing []string
	for _, p := range parties {
		if a, ok := signed[p.DID]; ok {
			p.Signed, p.Time = true, a.Time
		} else {
			missing = append(missing, p.Name)
		}
		st.Parties = append(st.Parties, p)
	}
	sort.Strings(missing)
	switch {
	case rev != nil:
		st.State, st.RevokedBy = Revoked, rev.Name
		st.Reason = "revoked by " + rev.Name
		if rev.Reason != "" {
			st.Reason += ": " + rev.Reason
		}
	case !spec.Limits.Expires.IsZero() && !now.Before(spec.Limits.Expires):
		st.State, st.Reason = Expired, "expired at "+spec.Limits.Expires.Format(time.RFC3339)
	case spec.Algorithm.SHA256 == "":
		st.State, st.Reason = Proposed, "the algorithm is not pinned by hash; propose the agreement with 'ipos agreement propose', which pins it"
	case len(missing) > 0:
		st.State, st.Reason = Proposed, "waiting for "+strings.Join(missing, ", ")+" to approve these terms"
	case st.RunsLeft == 0:
		st.State, st.Reason = Exhausted, fmt.Sprintf("all %d runs used", spec.Limits.Runs)
	case !spec.Limits.NotBefore.IsZero() && now.Before(spec.Limits.NotBefore):
		st.State, st.Reason = Approved, "jobs may run from "+spec.Limits.NotBefore.Format(time.RFC3339)
	default:
		st.State = Active
	}
	return st
}
