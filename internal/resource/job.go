package resource

import (
	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const jobKindName = "Job"

// JobKind describes the Job kind: one run of an Agreement's algorithm.
// `ipos job run` creates Jobs; their status says how the run went.
func JobKind() KindInfo {
	return KindInfo{
		Name:         jobKindName,
		New:          func() Spec { return new(JobSpec) },
		ValidateName: ValidateDNSLabel,
		Doc:          "one run of an Agreement's algorithm, with its gate verdict and receipt",
	}
}

// JobSpec is a Job's spec: the agreement and the arguments it ran with.
type JobSpec struct {
	Agreement string            `json:"agreement"`
	Arguments map[string]string `json:"arguments,omitempty"`
	// NoCache runs the algorithm even when a receipt answers the same
	// invocation.
	NoCache bool `json:"noCache,omitempty"`
}

// Validate requires the agreement and checks argument names.
func (s *JobSpec) Validate() []FieldError {
	var errs []FieldError
	if s.Agreement == "" {
		errs = append(errs, fieldErrorf("agreement", "missing required field"))
	}
	for _, k := range sortedKeys(s.Arguments) {
		if !argNameRE.MatchString(k) {
			errs = append(errs, fieldErrorf("arguments", "invalid argument name %s", yamldiag.Quote(k)))
		}
	}
	return errs
}

// Dependencies: the Agreement.
func (s *JobSpec) Dependencies() []Ref {
	return []Ref{{Kind: agreementKindName, Name: s.Agreement}}
}
