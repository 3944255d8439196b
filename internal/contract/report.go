package contract

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Result is what one check found.
type Result struct {
	Contract string   `json:"contract"` // name@version
	Rule     string   `json:"rule"`
	Metric   string   `json:"metric"`
	Column   string   `json:"column,omitempty"`
	Scope    Scope    `json:"scope"`
	Severity Severity `json:"severity"`
	// Observed is the number the threshold judged; null when there was
	// none (freshness of an empty dataset, a schema check).
	Observed *float64 `json:"observed"`
	Unit     string   `json:"unit,omitempty"` // rows, percent, seconds
	Expected string   `json:"expected"`
	Passed   bool     `json:"passed"`
	// Message explains a failure in words (schema checks, missing
	// columns, ages).
	Message string `json:"message,omitempty"`
	// Samples are up to a few offending rows, column → value.
	Samples []map[string]any `json:"samples,omitempty"`
}

// Violation reports whether the result is a failure.
func (r *Result) Violation() bool { return !r.Passed }

// String prints "rule: observed …, expected …" in one line.
func (r *Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s, %s]", r.Rule, r.Severity, r.Scope)
	if r.Observed != nil {
		fmt.Fprintf(&b, ": observed %s", fmtNum(*r.Observed))
		if r.Unit != "" && r.Unit != "rows" {
			b.WriteString(" " + r.Unit)
		}
	}
	if r.Expected != "" {
		fmt.Fprintf(&b, ", expected %s", r.Expected)
	}
	if r.Message != "" {
		b.WriteString(": " + r.Message)
	}
	return b.String()
}

// Report is every result of checking one batch or one dataset against
// the contracts that bind it.
type Report struct {
	Dataset   string    `json:"dataset"`
	Contracts []string  `json:"contracts"` // name@version
	CheckedAt time.Time `json:"checkedAt"`
	// What was checked: "commit" (a new slice before it is committed) or
	// "dataset" (ipos contract test).
	Target string `json:"target"`
	// Source is the batch's origin (file, URL, transform), for commits.
	Source      string   `json:"source,omitempty"`
	SliceRows   int64    `json:"sliceRows"`
	DatasetRows int64    `json:"datasetRows"`
	Results     []Result `json:"results"`
	// Quarantine is the folder holding the refused slice and this report.
	Quarantine string `json:"quarantine,omitempty"`
}

// Violations returns the failed results of severity sev, or of any
// severity when sev is "".
func (r *Report) Violations(sev Severity) []Result {
	if r == nil {
		return nil
	}
	var out []Result
	for _, x := range r.Results {
		if !x.Passed && (sev == "" || x.Severity == sev) {
			out = append(out, x)
		}
	}
	return out
}

// Rejected reports whether an error-severity rule failed.
func (r *Report) Rejected() bool { return len(r.Violations(SeverityError)) > 0 }

// Merge appends the results of o (another contract's) to r.
func (r *Report) Merge(o *Report) {
	if o == nil {
		return
	}
	r.Contracts = append(r.Contracts, o.Contracts...)
	r.Results = append(r.Results, o.Results...)
	r.SliceRows, r.DatasetRows = max(r.SliceRows, o.SliceRows), max(r.DatasetRows, o.DatasetRows)
}

// Summary prints the violations of sev, one per line, indented.
func (r *Report) Summary(sev Severity) string {
	var b strings.Builder
	for _, v := range r.Violations(sev) {
		fmt.Fprintf(&b, "  %s: %s\n", v.Contract, v.String())
	}
	return b.String()
}

// Evaluate judges a check's observed number (already through
// Check.Observed) and returns its result.
func Evaluate(p *Plan, c *Check, observed float64) Result {
	r := Result{
		Contract: p.Name + "@" + p.Version,
		Rule:     c.Rule, Metric: c.Metric, Column: c.Column,
		Scope: c.Scope, Severity: c.Severity,
		Expected: c.Threshold.String(),
		Unit:     "rows",
	}
	switch {
	case c.Kind == KindQuery:
		r.Unit = ""
	case c.Kind == KindFreshness:
		r.Unit = "seconds"
		r.Expected = "age ≤ " + c.latency
	case c.Percent:
		r.Unit = "percent"
	}
	if math.IsNaN(observed) {
		r.Message = "no value"
		if c.Kind == KindFreshness {
			r.Message = "no rows with a " + c.Column
		}
		return r
	}
	v := observed
	r.Observed = &v
	r.Passed = c.Threshold.Holds(observed)
	if c.Kind == KindFreshness && !r.Passed {
		r.Message = fmt.Sprintf("newest %s is %s old", c.Column, time.Duration(observed*float64(time.Second)).Round(time.Second))
	}
	return r
}

// Missing returns the result of a check whose column is not in the data.
func Missing(p *Plan, c *Check) Result {
	return Result{
		Contract: p.Name + "@" + p.Version, Rule: c.Rule, Metric: c.Metric, Column: c.Column,
		Scope: c.Scope, Severity: c.Severity, Expected: c.Threshold.String(),
		Message: fmt.Sprintf("column %q is not in the data", c.Column),
	}
}
