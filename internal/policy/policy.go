package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
)

// Actions a decision is about.
const (
	ActionRead    = "read"
	ActionQuery   = "query"
	ActionIngest  = "ingest"
	ActionApply   = "apply"
	ActionDelete  = "delete"
	ActionRunJob  = "run-job"
	ActionApprove = "approve"
)

// PIITag is the column tag masked by default for non-owners.
const PIITag = "pii"

// ErrUnknownAction is returned for an action not in resource.PolicyActions.
var ErrUnknownAction = errors.New("unknown action")

// Object is what an action is done to: a dataset (with its tags and its
// columns' tags) or a resource named Kind/name.
type Object struct {
	Name    string   `json:"name"`
	Tags    []string `json:"tags,omitempty"`
	Columns []Column `json:"columns,omitempty"`
}

// Column is a column of a dataset and its tags (a Contract's
// classification).
type Column struct {
	Name string   `json:"name"`
	Tags []string `json:"tags,omitempty"`
}

// Expression is an SQL expression in Trino's OPA response shape.
type Expression struct {
	Expression string `json:"expression" yaml:"expression"`
}

// Decision is the answer to one question, in the JSON shape of Trino's
// OPA integration plus the reasons.
type Decision struct {
	Allow bool `json:"allow" yaml:"allow"`
	// Policy names what decided: "Policy/NAME", or "default" when no
	// policy did.
	Policy  string   `json:"policy" yaml:"policy"`
	Reasons []string `json:"reasons" yaml:"reasons"`
	// RowFilters are predicates every row shown must satisfy (all of
	// them), for an allowed read or query.
	RowFilters []Expression `json:"rowFilters,omitempty" yaml:"rowFilters,omitempty"`
	// ColumnMasks are, per column name, the expression shown instead of
	// the value.
	ColumnMasks map[string]Expression `json:"columnMasks,omitempty" yaml:"columnMasks,omitempty"`
}

// Policy is one applied Policy resource.
type Policy struct {
	Name string
	Spec *resource.PolicySpec
}

// Options tune an Engine.
type Options struct {
	// RegoTimeout bounds one evaluation of one Rego module.
	RegoTimeout time.Duration
	// MaxRegoResult bounds the size of what a module returns, in bytes
	// of JSON.
	MaxRegoResult int
}

// DefaultOptions returns the options New uses for a zero Options.
func DefaultOptions() Options {
	return Options{RegoTimeout: 250 * time.Millisecond, MaxRegoResult: 256 << 10}
}

// Engine decides with a fixed set of policies. It is safe for concurrent
// use.
type Engine struct {
	policies []*compiled
	opts     Options
}

type compiled struct {
	ref      string // Policy/NAME
	priority int
	spec     *resource.PolicySpec
	rego     *regoModule
}

// New validates and compiles policies. A policy that does not validate is
// an error naming it and its field.
func New(ctx context.Context, policies []Policy, opts Options) (*Engine, error) {
	if opts == (Options{}) {
		opts = DefaultOptions()
	}
	e := &Engine{opts: opts}
	var errs []error
	for _, p := range policies {
		if p.Spec == nil {
			errs = append(errs, fmt.Errorf("Policy/%s: no spec", p.Name))
			continue
		}
		if fes := p.Spec.Validate(); len(fes) > 0 {
			for _, fe := range fes {
				errs = append(errs, fmt.Errorf("Policy/%s: spec.%s: %s", p.Name, fe.Path, fe.Msg))
			}
			continue
		}
		c := &compiled{ref: "Policy/" + p.Name, priority: p.Spec.EffectivePriority(), spec: p.Spec}
		if p.Spec.Rego != "" {
			m, err := prepareRego(ctx, p.Spec.Rego, opts)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: spec.rego: %w", c.ref, err))
				continue
			}
			c.rego = m
		}
		e.policies = append(e.policies, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(e.policies, func(a, b *compiled) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), strings.Compare(a.ref, b.ref))
	})
	return e, nil
}

// Policies returns the names of the engine's policies in decision order.
func (e *Engine) Policies() []string {
	out := make([]string, len(e.policies))
	for i, p := range e.policies {
		out[i] = p.ref
	}
	return out
}

// candidate is one rule that matched a question.
type candidate struct {
	priority int
	policy   string
	allow    bool
	reason   string
}

// maskCandidate is one mask that matched a column.
type maskCandidate struct {
	mask   *resource.ColumnMask
	reason string
}

// Decide answers whether sub may do action to obj and, for an allowed
// read or query, with which masks and row filters. On an error (an
// unknown action, a failing Rego module, a row filter that cannot be
// expanded) the Decision denies and says why, and the error is returned
// with it.
func (e *Engine) Decide(ctx context.Context, sub identity.Subject, action string, obj Object) (Decision, error) {
	if !slices.Contains(resource.PolicyActions, action) {
		err := fmt.Errorf("%w %q: want one of %s", ErrUnknownAction, action, strings.Join(resource.PolicyActions, ", "))
		return deny("default", err.Error()), err
	}
	in := regoInput(sub, action, obj)
	var cands []candidate
	regoOut := map[*compiled]*regoResult{}
	for _, p := range e.policies {
		for i, r := range p.spec.Access {
			if matchAny(r.Subjects, func(s string) bool { return matchSubject(s, sub) }) &&
				matchAny(r.Actions, func(a string) bool { return a == "*" || a == action }) &&
				matchAny(r.Objects, func(o string) bool { return matchObject(o, obj) }) {
				cands = append(cands, candidate{p.priority, p.ref, r.Effect == "allow",
					fmt.Sprintf("%s %s: %s %s on %s", p.ref, ruleName("access", i, r.Name), r.Effect, action, obj.Name)})
			}
		}
		if p.rego == nil {
			continue
		}
		res, err := p.rego.eval(ctx, in, e.opts)
		if err != nil {
			err = fmt.Errorf("%s: rego: %w", p.ref, err)
			return deny(p.ref, err.Error()+" (denied: a failing policy denies)"), err
		}
		regoOut[p] = res
		for _, r := range res.deny {
			cands = append(cands, candidate{p.priority, p.ref, false, fmt.Sprintf("%s rego: deny: %s", p.ref, r)})
		}
		for _, r := range res.allow {
			cands = append(cands, candidate{p.priority, p.ref, true, fmt.Sprintf("%s rego: allow: %s", p.ref, r)})
		}
	}
	d := decideAccess(cands, sub, action, obj)
	if !d.Allow || (action != ActionRead && action != ActionQuery) {
		return d, nil
	}
	if err := e.dataRules(&d, sub, obj, regoOut); err != nil {
		return deny(d.Policy, err.Error()), err
	}
	return d, nil
}

func deny(policy, reason string) Decision {
	return Decision{Allow: false, Policy: policy, Reasons: []string{reason}}
}

func ruleName(kind string, i int, name string) string {
	s := fmt.Sprintf("%s[%d]", kind, i)
	if name != "" {
		s += " (" + name + ")"
	}
	return s
}

// decideAccess applies priority, then deny-overrides, then the default.
func decideAccess(cands []candidate, sub identity.Subject, action string, obj Object) Decision {
	if len(cands) == 0 {
		if sub.Owner {
			return Decision{Allow: true, Policy: "default", Reasons: []string{fmt.Sprintf("default: %s is an owner and no policy restricts %s on %s", sub.Name, action, obj.Name)}}
		}
		return deny("default", fmt.Sprintf("default deny: no policy allows %s to %s %s", sub.Name, action, obj.Name))
	}
	top := cands[0].priority
	for _, c := range cands {
		top = min(top, c.priority)
	}
	var allows, denies []candidate
	for _, c := range cands {
		if c.priority != top {
			continue
		}
		if c.allow {
			allows = append(allows, c)
		} else {
			denies = append(denies, c)
		}
	}
	win, allow := allows, true
	if len(denies) > 0 {
		win, allow = denies, false
	}
	d := Decision{Allow: allow, Policy: win[0].policy}
	for _, c := range win {
		d.Reasons = append(d.Reasons, c.reason)
	}
	return d
}

// dataRules adds the masks and row filters for an allowed read or query.
func (e *Engine) dataRules(d *Decision, sub identity.Subject, obj Object, regoOut map[*compiled]*regoResult) error {
	vars, err := subjectVars(sub)
	if err != nil {
		return err
	}
	columns := obj.Columns
	var masks [][]maskCandidate // per policy-ordered rule: to scan in order
	var filters []Expression
	for _, p := range e.policies {
		for i, r := range p.spec.Data {
			if !matchAny(r.Subjects, func(s string) bool { return matchSubject(s, sub) }) ||
				!matchAny(r.Datasets, func(o string) bool { return matchObject(o, obj) }) {
				continue
			}
			var ms []maskCandidate
			for j := range r.Masks {
				ms = append(ms, maskCandidate{&r.Masks[j], fmt.Sprintf("%s %s.masks[%d]", p.ref, ruleName("data", i, r.Name), j)})
			}
			masks = append(masks, ms)
			if r.RowFilter != "" {
				f, err := resource.ScanRowFilter(r.RowFilter, vars)
				if err != nil {
					return fmt.Errorf("%s %s: rowFilter: %w", p.ref, ruleName("data", i, r.Name), err)
				}
				filters = append(filters, Expression{f})
				d.Reasons = append(d.Reasons, fmt.Sprintf("%s %s: row filter", p.ref, ruleName("data", i, r.Name)))
			}
		}
		if res := regoOut[p]; res != nil {
			var ms []maskCandidate
			for _, col := range res.maskColumns {
				ms = append(ms, maskCandidate{res.masks[col], p.ref + " rego: masks[" + col + "]"})
			}
			masks = append(masks, ms)
			for _, rf := range res.rowFilters {
				f, err := resource.ScanRowFilter(rf, vars)
				if err != nil {
					return fmt.Errorf("%s rego: row_filters: %q: %w", p.ref, rf, err)
				}
				filters = append(filters, Expression{f})
				d.Reasons = append(d.Reasons, p.ref+" rego: row filter")
			}
		}
	}
	// Columns a mask names count even when the caller did not list them
	// (a view ignores masks of columns it does not have).
	columns = slices.Clone(columns)
	seen := map[string]bool{}
	for _, c := range columns {
		seen[strings.ToLower(c.Name)] = true
	}
	for _, ms := range masks {
		for _, m := range ms {
			for _, c := range m.mask.Columns {
				if !seen[strings.ToLower(c)] {
					seen[strings.ToLower(c)] = true
					columns = append(columns, Column{Name: c})
				}
			}
		}
	}
	for _, col := range columns {
		m, reason := firstMask(masks, col)
		if m == nil && !sub.Owner && slices.Contains(col.Tags, PIITag) {
			m, reason = &resource.ColumnMask{Operator: "hash"}, "default: column tagged pii"
		}
		if m == nil {
			continue
		}
		d.Reasons = append(d.Reasons, fmt.Sprintf("column %s: %s by %s", col.Name, m.Operator, reason))
		if m.Operator == "pass_through" {
			continue
		}
		if d.ColumnMasks == nil {
			d.ColumnMasks = map[string]Expression{}
		}
		d.ColumnMasks[col.Name] = Expression{MaskSQL(m, col.Name)}
	}
	d.RowFilters = filters
	return nil
}

func firstMask(masks [][]maskCandidate, col Column) (*resource.ColumnMask, string) {
	for _, ms := range masks {
		for _, m := range ms {
			if slices.ContainsFunc(m.mask.Columns, func(c string) bool { return strings.EqualFold(c, col.Name) }) ||
				slices.ContainsFunc(m.mask.Tags, func(t string) bool { return slices.Contains(col.Tags, t) }) {
				return m.mask, m.reason
			}
		}
	}
	return nil, ""
}

func matchAny(patterns []string, f func(string) bool) bool {
	return slices.ContainsFunc(patterns, f)
}

// matchSubject reports whether the subject pattern s matches sub.
func matchSubject(s string, sub identity.Subject) bool {
	if s == "*" {
		return true
	}
	if strings.HasPrefix(s, "did:") {
		return sub.DID != "" && s == sub.DID
	}
	attr, val, ok := strings.Cut(s, ":")
	if !ok {
		return sub.Name != "" && s == sub.Name
	}
	switch attr {
	case "name":
		return sub.Name != "" && val == sub.Name
	case "roles":
		return sub.HasRole(val)
	case "groups":
		return sub.InGroup(val)
	case "org":
		return sub.Attributes.Organisation != "" && val == sub.Attributes.Organisation
	case "purpose":
		return sub.Attributes.Purpose != "" && val == sub.Attributes.Purpose
	}
	return false
}

// matchObject reports whether the object pattern o matches obj.
func matchObject(o string, obj Object) bool {
	if o == "*" {
		return true
	}
	if t, ok := strings.CutPrefix(o, "tag:"); ok {
		return slices.Contains(obj.Tags, t)
	}
	ok, err := path.Match(o, obj.Name)
	return err == nil && ok
}

// subjectVars are the SQL literals row filters substitute.
func subjectVars(sub identity.Subject) (map[string]string, error) {
	str := func(s string) (string, error) {
		if s == "" {
			return "NULL", nil
		}
		return SQLString(s)
	}
	list := func(ss []string) (string, error) {
		if len(ss) == 0 {
			return "CAST([] AS VARCHAR[])", nil
		}
		parts := make([]string, len(ss))
		for i, s := range ss {
			l, err := SQLString(s)
			if err != nil {
				return "", err
			}
			parts[i] = l
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	vars := map[string]string{}
	var errs []error
	set := func(k string, v string, err error) {
		vars[k] = v
		if err != nil {
			errs = append(errs, fmt.Errorf("subject %s: %s: %w", sub.Name, k, err))
		}
	}
	v, err := str(sub.Name)
	set("subject.name", v, err)
	v, err = str(sub.DID)
	set("subject.did", v, err)
	v, err = str(sub.Attributes.Organisation)
	set("subject.org", v, err)
	v, err = str(sub.Attributes.Purpose)
	set("subject.purpose", v, err)
	v, err = list(sub.Attributes.Roles)
	set("subject.roles", v, err)
	v, err = list(sub.Attributes.Groups)
	set("subject.groups", v, err)
	return vars, errors.Join(errs...)
}
