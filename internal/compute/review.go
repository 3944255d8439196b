package compute

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/controller"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
)

// Job returns a job's record.
func (s *Service) Job(name string) (*JobRecord, error) {
	return jobFiles{dir: s.jobsDir()}.get(name)
}

// Review releases (release true) or rejects a job's held outputs. The
// reviewer must be another identity than the consumer: the agreement's
// named reviewer if it names one, else an owner of an input.
func (s *Service) Review(ctx context.Context, actor *identity.Identity, name string, release bool, reason string) (*JobRecord, error) {
	jobs := jobFiles{dir: s.jobsDir()}
	rec, err := jobs.get(name)
	if err != nil {
		return nil, err
	}
	if rec.Phase != AwaitingReview {
		return rec, fmt.Errorf("job %s is %s, not awaiting review", name, rec.Phase)
	}
	_, ag, hash, err := s.agreement(ctx, rec.Agreement)
	if err != nil {
		return nil, err
	}
	st, err := s.standing(ctx, rec.Agreement, ag, hash)
	if err != nil {
		return nil, err
	}
	if err := mayReview(actor, ag, st); err != nil {
		_ = s.record(ctx, actor.Subject, "job.review", "Job/"+name, audit.Deny, nil, err.Error())
		return rec, err
	}
	rec.Reviewer = actor.Name
	action := "job.release"
	if release {
		rec.Phase = Succeeded
	} else {
		rec.Phase, action = Rejected, "job.reject"
		if reason != "" {
			rec.Reasons = append(rec.Reasons, "rejected by "+actor.Name+": "+reason)
		}
	}
	if err := jobs.put(rec); err != nil {
		return rec, err
	}
	if err := s.record(ctx, actor.Subject, action, "Job/"+name, audit.OK, map[string]string{"receipt": rec.Receipt}, reason); err != nil {
		return rec, err
	}
	_, _ = s.Ctl.ReconcileOnly(ctx, resource.Ref{Kind: "Job", Name: name})
	return rec, nil
}

func mayReview(actor *identity.Identity, ag *resource.AgreementSpec, st Standing) error {
	for _, p := range st.Parties {
		if p.DID == actor.DID && len(p.Roles) == 1 && p.Roles[0] == RoleConsumer {
			return fmt.Errorf("%s is the consumer and cannot review its own job's outputs", actor.Name)
		}
	}
	if ag.Output.Reviewer != "" {
		if actor.Name != ag.Output.Reviewer && actor.DID != ag.Output.Reviewer {
			return fmt.Errorf("the agreement names %s as reviewer, not %s", ag.Output.Reviewer, actor.Name)
		}
		return nil
	}
	for _, p := range st.Parties {
		for _, role := range p.Roles {
			if role == RoleOwner && p.DID == actor.DID {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not an owner of the agreement's inputs and may not review its jobs", actor.Name)
}

func (s *Service) jobsDir() string { return filepath.Join(s.W.Dir(), "jobs") }

// ObserveJob is the controller's Observer for Jobs: the phase from the
// job's record (ready = outputs released).
func (s *Service) ObserveJob(ctx context.Context, o *resource.Object) (controller.Observation, error) {
	rec, err := s.Job(o.Metadata.Name)
	if err != nil {
		return controller.Observation{Reason: "Unknown", Message: err.Error()}, nil
	}
	ob := controller.Observation{
		Ready: rec.Phase == Succeeded, Reason: string(rec.Phase),
		Message: strings.Join(rec.Reasons, "; "),
		Details: map[string]string{"phase": string(rec.Phase), "agreement": rec.Agreement, "consumer": rec.Consumer},
	}
	if rec.Receipt != "" {
		ob.Details["receipt"] = rec.Receipt
	}
	if rec.Cached {
		ob.Details["cached"] = "true"
	}
	if ob.Message == "" {
		ob.Message = "outputs " + map[bool]string{true: "released", false: "not released"}[rec.Phase == Succeeded]
	}
	return ob, nil
}

// Observers returns the controller observers for the kinds this package
// owns.
func (s *Service) Observers() map[string]controller.Observer {
	return map[string]controller.Observer{"Agreement": s.ObserveAgreement, "Job": s.ObserveJob}
}
