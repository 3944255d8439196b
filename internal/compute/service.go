package compute

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/controller"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Auditor records what happens; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Service runs the compute-to-data workflow of one workspace: algorithms,
// agreements and their approvals, jobs, receipts and the ledger.
type Service struct {
	W          *workspace.Workspace
	Ctl        *controller.Controller
	Identities *identity.Store
	Audit      Auditor
	Modules    *Modules
	Now        func() time.Time

	files agreementFiles
}

// New returns the service over a workspace's controller and identities.
func New(ctl *controller.Controller, ids *identity.Store, log Auditor) *Service {
	dir := ctl.W.Dir()
	return &Service{
		W: ctl.W, Ctl: ctl, Identities: ids, Audit: log,
		Modules: NewModules(filepath.Join(dir, "algorithms")),
		Now:     ctl.Now,
		files:   agreementFiles{dir: filepath.Join(dir, "agreements")},
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) store() resourcestore.Store { return s.Ctl.Store }

// refresh brings an Agreement's status up to date with its standing.
func (s *Service) refresh(ctx context.Context, name string) {
	_, _ = s.Ctl.ReconcileOnly(ctx, resource.Ref{Kind: "Agreement", Name: name})
}

// record appends an audit entry. An audit failure fails the operation:
// nothing may happen unrecorded.
func (s *Service) record(ctx context.Context, actor identity.Subject, action, object string, outcome audit.Outcome, details map[string]string, reasons ...string) error {
	if s.Audit == nil {
		return nil
	}
	var given []string // a review without a reason passes ""
	for _, r := range reasons {
		if r != "" {
			given = append(given, r)
		}
	}
	_, err := s.Audit.Append(ctx, audit.Entry{Actor: audit.ActorOf(actor), Action: action, Object: object, Outcome: outcome, Details: details, Reasons: given})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// object reads a stored resource.
func (s *Service) object(ctx context.Context, kind, name string) (*resource.Object, error) {
	rec, err := s.store().Get(ctx, kind, name)
	if errors.Is(err, resourcestore.ErrNotFound) {
		return nil, fmt.Errorf("%s/%s not found (see 'ipos get %ss')", kind, name, strings.ToLower(kind))
	}
	if err != nil {
		return nil, err
	}
	return s.Ctl.Object(rec)
}

// agreement reads an Agreement and the hash of its terms.
func (s *Service) agreement(ctx context.Context, name string) (*resource.Object, *resource.AgreementSpec, string, error) {
	o, err := s.object(ctx, "Agreement", name)
	if err != nil {
		return nil, nil, "", err
	}
	hash, err := o.SpecHash()
	if err != nil {
		return nil, nil, "", err
	}
	return o, o.Spec.(*resource.AgreementSpec), hash, nil
}

// parties resolves the identities that must sign the agreement: the
// consumer, the owner of each input dataset (metadata.owner of its
// Dataset resource, else the workspace owner) and the named signers.
func (s *Service) parties(ctx context.Context, spec *resource.AgreementSpec) ([]Party, error) {
	byDID := map[string]*Party{}
	var order []string
	add := func(ref, role string) error {
		id, err := s.Identities.Get(ctx, ref)
		if err != nil {
			return fmt.Errorf("%s %q: %w", role, ref, err)
		}
		p, ok := byDID[id.DID]
		if !ok {
			p = &Party{Name: id.Name, DID: id.DID}
			byDID[id.DID] = p
			order = append(order, id.DID)
		}
		if !slices.Contains(p.Roles, role) {
			p.Roles = append(p.Roles, role)
		}
		return nil
	}
	if err := add(spec.Consumer, RoleConsumer); err != nil {
		return nil, err
	}
	for _, in := range spec.Inputs {
		owner := identity.OwnerName
		if o, err := s.object(ctx, "Dataset", in.Dataset); err == nil && o.Metadata.Owner != "" {
			owner = o.Metadata.Owner
		}
		if err := add(owner, RoleOwner); err != nil {
			return nil, fmt.Errorf("input %s: %w", in.Dataset, err)
		}
	}
	for _, sg := range spec.Signers {
		if err := add(sg, RoleSigner); err != nil {
			return nil, err
		}
	}
	out := make([]Party, 0, len(order))
	for _, did := range order {
		out = append(out, *byDID[did])
	}
	return out, nil
}

// Standing evaluates the named agreement now.
func (s *Service) Standing(ctx context.Context, name string) (Standing, error) {
	_, spec, hash, err := s.agreement(ctx, name)
	if err != nil {
		return Standing{}, err
	}
	return s.standing(ctx, name, spec, hash)
}

func (s *Service) standing(ctx context.Context, name string, spec *resource.AgreementSpec, hash string) (Standing, error) {
	parties, err := s.parties(ctx, spec)
	if err != nil {
		return Standing{}, err
	}
	approvals, err := s.files.approvals(name)
	if err != nil {
		return Standing{}, err
	}
	rev, err := s.files.revocation(name)
	if err != nil {
		return Standing{}, err
	}
	runs, err := s.files.runs(name)
	if err != nil {
		return Standing{}, err
	}
	return evaluate(name, spec, hash, parties, approvals, rev, runs, s.now()), nil
}

// Propose stores the agreement and the proposer's signature of its terms.
// The proposer must be the agreement's consumer. Proposing new terms for
// an existing agreement voids the approvals of the old ones.
func (s *Service) Propose(ctx context.Context, actor *identity.Identity, o *resource.Object) (Standing, error) {
	spec, ok := o.Spec.(*resource.AgreementSpec)
	if !ok {
		return Standing{}, fmt.Errorf("%s: not an Agreement", o.Ref())
	}
	consumer, err := s.Identities.Get(ctx, spec.Consumer)
	if err != nil {
		return Standing{}, fmt.Errorf("spec.consumer: %w", err)
	}
	if consumer.DID != actor.DID {
		return Standing{}, fmt.Errorf("only the consumer (%s) proposes an agreement; you act as %s", consumer.Name, actor.Name)
	}
	if rev, err := s.files.revocation(o.Metadata.Name); err != nil {
		return Standing{}, err
	} else if rev != nil {
		return Standing{}, fmt.Errorf("agreement %s was revoked by %s; propose it under a new name", o.Metadata.Name, rev.Name)
	}
	if spec.Algorithm.SHA256 == "" {
		pin, err := s.algorithmHash(ctx, spec.Algorithm.Name)
		if err != nil {
			return Standing{}, fmt.Errorf("spec.algorithm: %w", err)
		}
		spec.Algorithm.SHA256 = pin
	}
	if _, err := s.Ctl.Apply(ctx, []*resource.Object{o}, false); err != nil {
		return Standing{}, err
	}
	hash, err := o.SpecHash()
	if err != nil {
		return Standing{}, err
	}
	unlock, err := s.files.lock(ctx, o.Metadata.Name)
	if err != nil {
		return Standing{}, err
	}
	defer unlock()
	if err := s.files.addApproval(Sign(o.Metadata.Name, hash, actor.Name, actor.Key(), s.now())); err != nil {
		return Standing{}, err
	}
	st, err := s.standing(ctx, o.Metadata.Name, spec, hash)
	if err != nil {
		return Standing{}, err
	}
	s.refresh(ctx, o.Metadata.Name)
	return st, s.record(ctx, actor.Subject, "agreement.propose", "Agreement/"+o.Metadata.Name, audit.OK,
		map[string]string{"specHash": hash, "algorithm": spec.Algorithm.SHA256, "state": string(st.State)})
}

// algorithmHash is the hash an agreement pins the named algorithm by:
// its module's SHA-256, or its query's.
func (s *Service) algorithmHash(ctx context.Context, name string) (string, error) {
	o, err := s.object(ctx, "Algorithm", name)
	if err != nil {
		return "", err
	}
	alg := o.Spec.(*resource.AlgorithmSpec)
	if alg.Wasm != nil {
		return alg.Wasm.SHA256, nil
	}
	return SQLHash(alg.SQL.Query), nil
}

// Approve signs the agreement's current terms as actor, who must be one
// of the parties it requires.
func (s *Service) Approve(ctx context.Context, actor *identity.Identity, name string) (Standing, error) {
	_, spec, hash, err := s.agreement(ctx, name)
	if err != nil {
		return Standing{}, err
	}
	st, err := s.standing(ctx, name, spec, hash)
	if err != nil {
		return Standing{}, err
	}
	if st.State == Revoked || st.State == Expired {
		return st, fmt.Errorf("agreement %s is %s: %s", name, st.State, st.Reason)
	}
	if !slices.ContainsFunc(st.Parties, func(p Party) bool { return p.DID == actor.DID }) {
		var names []string
		for _, p := range st.Parties {
			names = append(names, p.Name)
		}
		_ = s.record(ctx, actor.Subject, "agreement.approve", "Agreement/"+name, audit.Deny, nil, "not a party to the agreement")
		return st, fmt.Errorf("%s is not a party to agreement %s; its parties are %v", actor.Name, name, names)
	}
	unlock, err := s.files.lock(ctx, name)
	if err != nil {
		return Standing{}, err
	}
	defer unlock()
	if err := s.files.addApproval(Sign(name, hash, actor.Name, actor.Key(), s.now())); err != nil {
		return Standing{}, err
	}
	if st, err = s.standing(ctx, name, spec, hash); err != nil {
		return Standing{}, err
	}
	s.refresh(ctx, name)
	return st, s.record(ctx, actor.Subject, "agreement.approve", "Agreement/"+name, audit.OK,
		map[string]string{"specHash": hash, "state": string(st.State)})
}

// Revoke ends the agreement for good; any party may revoke it.
func (s *Service) Revoke(ctx context.Context, actor *identity.Identity, name, reason string) (Standing, error) {
	_, spec, hash, err := s.agreement(ctx, name)
	if err != nil {
		return Standing{}, err
	}
	st, err := s.standing(ctx, name, spec, hash)
	if err != nil {
		return Standing{}, err
	}
	if !actor.Owner && !slices.ContainsFunc(st.Parties, func(p Party) bool { return p.DID == actor.DID }) {
		return st, fmt.Errorf("%s is not a party to agreement %s", actor.Name, name)
	}
	if st.State == Revoked {
		return st, nil
	}
	unlock, err := s.files.lock(ctx, name)
	if err != nil {
		return Standing{}, err
	}
	defer unlock()
	if err := s.files.revoke(name, revocation{By: actor.DID, Name: actor.Name, Time: s.now().UTC().Truncate(time.Second), Reason: reason}); err != nil {
		return Standing{}, err
	}
	if st, err = s.standing(ctx, name, spec, hash); err != nil {
		return Standing{}, err
	}
	s.refresh(ctx, name)
	return st, s.record(ctx, actor.Subject, "agreement.revoke", "Agreement/"+name, audit.OK, map[string]string{"reason": reason})
}

// ObserveAgreement is the controller's Observer for Agreements: their
// standing, as status details and the Ready condition (ready = Active).
func (s *Service) ObserveAgreement(ctx context.Context, o *resource.Object) (controller.Observation, error) {
	hash, err := o.SpecHash()
	if err != nil {
		return controller.Observation{}, err
	}
	st, err := s.standing(ctx, o.Metadata.Name, o.Spec.(*resource.AgreementSpec), hash)
	if err != nil {
		return controller.Observation{}, err
	}
	signed := 0
	for _, p := range st.Parties {
		if p.Signed {
			signed++
		}
	}
	ob := controller.Observation{
		Ready: st.State == Active, Reason: string(st.State), Message: st.Reason,
		Details: map[string]string{
			"state":    string(st.State),
			"signed":   fmt.Sprintf("%d/%d", signed, len(st.Parties)),
			"runsUsed": strconv.Itoa(st.RunsUsed),
		},
	}
	if ob.Message == "" {
		ob.Message = "jobs may run"
	}
	return ob, nil
}
