package resource

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const agreementKindName = "Agreement"

// AgreementKind describes the Agreement kind: the terms under which one
// consumer may run one algorithm over some datasets, signed by the parties
// before any run.
func AgreementKind() KindInfo {
	return KindInfo{
		Name: agreementKindName,
		New:  func() Spec { return new(AgreementSpec) },
		Doc:  "signed terms for running one algorithm over datasets: consumer, limits, output rules, price",
	}
}

// AgreementSpec is an Agreement's spec. Signatures are over its canonical
// form (SpecHash), so any change to it, the algorithm's hash included,
// voids the approvals given so far.
type AgreementSpec struct {
	// Consumer is the identity (name or did:key) that may run jobs.
	Consumer string `json:"consumer"`
	// Inputs are the datasets the algorithm sees, through the consumer's
	// policies.
	Inputs []AgreementInput `json:"inputs"`
	// Algorithm is the Algorithm resource and the module hash approved.
	Algorithm AlgorithmRef `json:"algorithm"`
	// Arguments lists the arguments a job may pass and their allowed
	// values; an argument not listed may not be passed.
	Arguments []AllowedArgument `json:"arguments,omitempty"`
	Limits    AgreementLimits   `json:"limits"`
	Output    OutputRules       `json:"output"`
	Price     Price             `json:"price,omitzero"`
	// Signers must all sign before the agreement is approved; empty means
	// the owner of each input dataset.
	Signers []string `json:"signers,omitempty"`
}

// AgreementInput is one input dataset.
type AgreementInput struct {
	Dataset string `json:"dataset"`
}

// AlgorithmRef names an Algorithm and pins its module or query by hash.
type AlgorithmRef struct {
	Name string `json:"name"`
	// SHA256 is the module's (or, for SQL, the query's) SHA-256 in hex.
	// A manifest may leave it out: 'ipos agreement propose' pins the
	// algorithm's hash at that moment, and that is what parties sign.
	SHA256 string `json:"sha256,omitempty"`
}

// AllowedArgument is an argument a job may pass, with the values allowed
// (any value when Values is empty).
type AllowedArgument struct {
	Name   string   `json:"name"`
	Values []string `json:"values,omitempty"`
}

// AgreementLimits bound every run and the agreement's life.
type AgreementLimits struct {
	// MemoryMiB caps the module's linear memory (default 256).
	MemoryMiB int `json:"memoryMiB,omitempty"`
	// WallTime is the deadline of one run as a Go duration (default 60s).
	WallTime string `json:"wallTime,omitempty"`
	// Runs is how many jobs may run in all; zero means no limit.
	Runs int `json:"runs,omitempty"`
	// NotBefore and Expires bound when jobs may run.
	NotBefore time.Time `json:"notBefore,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	// AllowClock and AllowRandom give the module the real clock and real
	// randomness; without them both are fixed, so runs are reproducible.
	AllowClock  bool `json:"allowClock,omitempty"`
	AllowRandom bool `json:"allowRandom,omitempty"`
}

// OutputRules are what the gate checks before anything is released.
type OutputRules struct {
	MaxBytes  int64    `json:"maxBytes,omitempty"`
	MaxFiles  int      `json:"maxFiles,omitempty"`
	FileTypes []string `json:"fileTypes,omitempty"`
	// MinCount is k: aggregate cells counting fewer than k rows are
	// suppressed, or the release refused when SmallCounts is "refuse".
	MinCount     int      `json:"minCount,omitempty"`
	SmallCounts  string   `json:"smallCounts,omitempty"`
	CountColumns []string `json:"countColumns,omitempty"`
	// RawRows allows output rows identical to input rows.
	RawRows bool `json:"rawRows,omitempty"`
	// Epsilon is the differential-privacy budget of one run, and
	// EpsilonBudget the consumer's total over all runs on each input
	// (SQL aggregate algorithms); zero means no noise.
	Epsilon       float64 `json:"epsilon,omitempty"`
	EpsilonBudget float64 `json:"epsilonBudget,omitempty"`
	// Review holds every release until a second identity releases it.
	Review   bool   `json:"review,omitempty"`
	MaxLogs  int64  `json:"maxLogBytes,omitempty"`
	Reviewer string `json:"reviewer,omitempty"`
}

// Price is what the consumer pays the data owners.
type Price struct {
	PerRun           float64 `json:"perRun,omitempty"`
	PerComputeSecond float64 `json:"perComputeSecond,omitempty"`
	Currency         string  `json:"currency,omitempty"`
}

var fileTypeRE = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// Validate checks every field, reporting all problems at once.
func (s *AgreementSpec) Validate() []FieldError {
	var errs []FieldError
	if s.Consumer == "" {
		errs = append(errs, fieldErrorf("consumer", "missing required field: the identity that runs jobs"))
	}
	if len(s.Inputs) == 0 {
		errs = append(errs, fieldErrorf("inputs", "missing required field: at least one dataset"))
	}
	seen := map[string]bool{}
	for i, in := range s.Inputs {
		p := indexPath("inputs", i) + ".dataset"
		switch {
		case in.Dataset == "":
			errs = append(errs, fieldErrorf(p, "missing required field"))
		case ValidateDatasetName(in.Dataset) != nil:
			errs = append(errs, fieldErrorf(p, "%v", ValidateDatasetName(in.Dataset)))
		case seen[in.Dataset]:
			errs = append(errs, fieldErrorf(p, "dataset %s listed twice", yamldiag.Quote(in.Dataset)))
		}
		seen[in.Dataset] = true
	}
	if s.Algorithm.Name == "" {
		errs = append(errs, fieldErrorf("algorithm.name", "missing required field"))
	}
	if s.Algorithm.SHA256 != "" && !sha256HexRE.MatchString(s.Algorithm.SHA256) {
		errs = append(errs, fieldErrorf("algorithm.sha256", "invalid SHA-256 %s: want the 64 hex digits 'ipos get algorithm NAME' shows", yamldiag.Quote(s.Algorithm.SHA256)))
	}
	args := map[string]bool{}
	for i, a := range s.Arguments {
		p := indexPath("arguments", i) + ".name"
		switch {
		case !argNameRE.MatchString(a.Name):
			errs = append(errs, fieldErrorf(p, "invalid argument name %s", yamldiag.Quote(a.Name)))
		case args[a.Name]:
			errs = append(errs, fieldErrorf(p, "argument %s given twice", yamldiag.Quote(a.Name)))
		}
		args[a.Name] = true
	}
	l := s.Limits
	if l.MemoryMiB < 0 || l.MemoryMiB > 4096 {
		errs = append(errs, fieldErrorf("limits.memoryMiB", "must be between 1 and 4096"))
	}
	if l.WallTime != "" {
		if d, err := time.ParseDuration(l.WallTime); err != nil || d <= 0 {
			errs = append(errs, fieldErrorf("limits.wallTime", "invalid duration %s: want a positive duration such as 30s or 5m", yamldiag.Quote(l.WallTime)))
		}
	}
	if l.Runs < 0 {
		errs = append(errs, fieldErrorf("limits.runs", "negative"))
	}
	if !l.NotBefore.IsZero() && !l.Expires.IsZero() && !l.NotBefore.Before(l.Expires) {
		errs = append(errs, fieldErrorf("limits.expires", "is not after limits.notBefore"))
	}
	o := s.Output
	if o.MaxBytes < 0 {
		errs = append(errs, fieldErrorf("output.maxBytes", "negative"))
	}
	if o.MaxFiles < 0 {
		errs = append(errs, fieldErrorf("output.maxFiles", "negative"))
	}
	if o.MaxLogs < 0 {
		errs = append(errs, fieldErrorf("output.maxLogBytes", "negative"))
	}
	for i, t := range o.FileTypes {
		if !fileTypeRE.MatchString(t) {
			errs = append(errs, fieldErrorf(indexPath("output.fileTypes", i), "invalid file type %s: an extension such as csv, without the dot", yamldiag.Quote(t)))
		}
	}
	if o.MinCount < 0 {
		errs = append(errs, fieldErrorf("output.minCount", "negative"))
	}
	if !slices.Contains([]string{"", "suppress", "refuse"}, o.SmallCounts) {
		errs = append(errs, fieldErrorf("output.smallCounts", "unknown value %s; valid values: suppress, refuse", yamldiag.Quote(o.SmallCounts)))
	}
	if o.Epsilon < 0 || o.EpsilonBudget < 0 {
		errs = append(errs, fieldErrorf("output.epsilon", "negative"))
	}
	if o.Epsilon > 0 && o.EpsilonBudget > 0 && o.Epsilon > o.EpsilonBudget {
		errs = append(errs, fieldErrorf("output.epsilon", "one run's epsilon %g exceeds the total budget %g", o.Epsilon, o.EpsilonBudget))
	}
	if o.Reviewer != "" && !o.Review {
		errs = append(errs, fieldErrorf("output.reviewer", "set review: true to name a reviewer"))
	}
	if s.Price.PerRun < 0 || s.Price.PerComputeSecond < 0 {
		errs = append(errs, fieldErrorf("price", "prices cannot be negative"))
	}
	if s.Price.Currency != "" && strings.TrimSpace(s.Price.Currency) != s.Price.Currency {
		errs = append(errs, fieldErrorf("price.currency", "surrounding spaces"))
	}
	for i, sg := range s.Signers {
		if sg == "" {
			errs = append(errs, fieldErrorf(indexPath("signers", i), "empty signer"))
		}
	}
	return errs
}

// Dependencies are the input Datasets and the Algorithm.
func (s *AgreementSpec) Dependencies() []Ref {
	refs := []Ref{{Kind: algorithmKindName, Name: s.Algorithm.Name}}
	for _, in := range s.Inputs {
		refs = append(refs, Ref{Kind: datasetKindName, Name: in.Dataset})
	}
	return sortRefs(refs)
}

// WallTimeOrDefault is the run deadline, 60s when unset.
func (l AgreementLimits) WallTimeOrDefault() time.Duration {
	if d, err := time.ParseDuration(l.WallTime); err == nil && d > 0 {
		return d
	}
	return time.Minute
}

// MemoryOrDefault is the memory cap in MiB, 256 when unset.
func (l AgreementLimits) MemoryOrDefault() int {
	if l.MemoryMiB > 0 {
		return l.MemoryMiB
	}
	return 256
}
