package contract

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/ipos-dev/ipos/internal/resource"
)

// Change is one difference between two versions of a contract.
type Change struct {
	Breaking bool   `json:"breaking"`
	What     string `json:"what"`
}

func (c Change) String() string {
	if c.Breaking {
		return "breaking: " + c.What
	}
	return "compatible: " + c.What
}

// DiffResult is every change from an old contract to a new one.
type DiffResult struct {
	OldVersion string   `json:"oldVersion"`
	NewVersion string   `json:"newVersion"`
	Changes    []Change `json:"changes"`
}

// Breaking returns the breaking changes.
func (d *DiffResult) Breaking() []Change {
	var out []Change
	for _, c := range d.Changes {
		if c.Breaking {
			out = append(out, c)
		}
	}
	return out
}

// NeedsMajor reports whether the change is breaking and the new version
// keeps the old major version: what apply refuses.
func (d *DiffResult) NeedsMajor(oldSpec, newSpec *resource.ContractSpec) bool {
	return len(d.Breaking()) > 0 && newSpec.Major() <= oldSpec.Major()
}

// Diff classifies the changes from old to new. Breaking are the changes
// after which data or code that kept the old contract may break the new
// one, or lose what it promised: the dataset rebound, a column removed
// (a rename is a removal and an addition), a type changed other than
// integer → number, a column made required or unique, a new required
// column, a primary key changed, a pattern added or changed, a bound
// tightened, allowed values shrunk, a classification changed, an error
// rule added or changed, a stricter SLA. Relaxing any of these is not.
func Diff(oldSpec, newSpec *resource.ContractSpec) *DiffResult {
	d := &DiffResult{OldVersion: oldSpec.Version, NewVersion: newSpec.Version}
	add := func(breaking bool, format string, args ...any) {
		d.Changes = append(d.Changes, Change{Breaking: breaking, What: fmt.Sprintf(format, args...)})
	}
	if oldSpec.Dataset != newSpec.Dataset {
		add(true, "bound to dataset %s instead of %s", newSpec.Dataset, oldSpec.Dataset)
	}
	if oldSpec.Description != newSpec.Description {
		add(false, "description changed")
	}
	var removed, added []resource.ContractColumn
	for _, oc := range oldSpec.Columns {
		nc, ok := newSpec.Column(oc.Name)
		if !ok {
			removed = append(removed, oc)
			continue
		}
		diffColumn(oc, *nc, add)
	}
	for _, nc := range newSpec.Columns {
		if _, ok := oldSpec.Column(nc.Name); !ok {
			added = append(added, nc)
		}
	}
	for _, oc := range removed {
		hint := ""
		for _, nc := range added {
			if nc.LogicalType == oc.LogicalType {
				hint = fmt.Sprintf(" (renamed to %s?)", nc.Name)
				break
			}
		}
		add(true, "column %s removed%s", oc.Name, hint)
	}
	for _, nc := range added {
		if nc.Required || nc.PrimaryKey {
			add(true, "required column %s added", nc.Name)
		} else {
			add(false, "optional column %s added", nc.Name)
		}
	}
	diffRules(oldSpec.Quality, newSpec.Quality, add)
	diffSLA(oldSpec.SLA, newSpec.SLA, add)
	return d
}

func diffColumn(o, n resource.ContractColumn, add func(bool, string, ...any)) {
	name := o.Name
	if o.LogicalType != n.LogicalType {
		switch {
		case n.LogicalType == "":
			add(false, "column %s: type %s no longer promised", name, o.LogicalType)
		case o.LogicalType == "integer" && n.LogicalType == "number":
			add(false, "column %s: type widened from integer to number", name)
		case o.LogicalType == "number" && n.LogicalType == "integer":
			add(true, "column %s: type narrowed from number to integer", name)
		case o.LogicalType == "":
			add(true, "column %s: type narrowed from any to %s", name, n.LogicalType)
		default:
			add(true, "column %s: type changed from %s to %s", name, o.LogicalType, n.LogicalType)
		}
	}
	flag := func(what string, was, is bool) {
		switch {
		case !was && is:
			add(true, "column %s made %s", name, what)
		case was && !is:
			add(false, "column %s no longer %s", name, what)
		}
	}
	if o.PrimaryKey != n.PrimaryKey {
		add(true, "column %s: primary key changed (%t → %t)", name, o.PrimaryKey, n.PrimaryKey)
	}
	flag("required", o.Required || o.PrimaryKey, n.Required || n.PrimaryKey)
	flag("unique", o.Unique || o.PrimaryKey, n.Unique || n.PrimaryKey)
	switch {
	case o.Pattern == n.Pattern:
	case n.Pattern == "":
		add(false, "column %s: pattern removed", name)
	case o.Pattern == "":
		add(true, "column %s: pattern %q added", name, n.Pattern)
	default:
		add(true, "column %s: pattern changed from %q to %q", name, o.Pattern, n.Pattern)
	}
	bound := func(what string, was, is *resource.Number, tighter func(a, b float64) bool) {
		switch {
		case was == nil && is == nil:
		case was == nil:
			add(true, "column %s: %s %s added", name, what, is)
		case is == nil:
			add(false, "column %s: %s %s removed", name, what, was)
		case was.Float() == is.Float():
		case tighter(was.Float(), is.Float()):
			add(true, "column %s: %s tightened from %s to %s", name, what, was, is)
		default:
			add(false, "column %s: %s relaxed from %s to %s", name, what, was, is)
		}
	}
	bound("minimum", o.Minimum, n.Minimum, func(a, b float64) bool { return b > a })
	bound("maximum", o.Maximum, n.Maximum, func(a, b float64) bool { return b < a })
	switch {
	case slices.Equal(sortedCopy(o.AllowedValues), sortedCopy(n.AllowedValues)):
	case len(n.AllowedValues) == 0:
		add(false, "column %s: allowed values no longer restricted", name)
	case len(o.AllowedValues) == 0:
		add(true, "column %s: values restricted to %s", name, strings.Join(n.AllowedValues, ", "))
	default:
		var gone, extra []string
		for _, v := range o.AllowedValues {
			if !slices.Contains(n.AllowedValues, v) {
				gone = append(gone, v)
			}
		}
		for _, v := range n.AllowedValues {
			if !slices.Contains(o.AllowedValues, v) {
				extra = append(extra, v)
			}
		}
		if len(gone) > 0 {
			add(true, "column %s: allowed values shrunk (no longer %s)", name, strings.Join(gone, ", "))
		}
		if len(extra) > 0 {
			add(false, "column %s: allowed values grown (%s)", name, strings.Join(extra, ", "))
		}
	}
	if o.Classification != n.Classification {
		add(true, "column %s: classification changed from %q to %q", name, o.Classification, n.Classification)
	}
	if o.Description != n.Description {
		add(false, "column %s: description changed", name)
	}
}

func diffRules(oldRules, newRules []resource.QualityRule, add func(bool, string, ...any)) {
	find := func(rules []resource.QualityRule, key string) (resource.QualityRule, bool) {
		for _, r := range rules {
			if r.Key() == key {
				return r, true
			}
		}
		return resource.QualityRule{}, false
	}
	isError := func(r resource.QualityRule) bool { return r.Severity == "" || r.Severity == "error" }
	for _, o := range oldRules {
		n, ok := find(newRules, o.Key())
		switch {
		case !ok:
			add(false, "rule %s removed", o.Key())
		case reflect.DeepEqual(withoutDescription(o), withoutDescription(n)):
			if o.Description != n.Description {
				add(false, "rule %s: description changed", o.Key())
			}
		case !isError(n):
			add(false, "rule %s changed, now a warning", o.Key())
		default:
			add(true, "rule %s changed", o.Key())
		}
	}
	for _, n := range newRules {
		if _, ok := find(oldRules, n.Key()); !ok {
			add(isError(n), "%s rule %s added", severityName(n.Severity), n.Key())
		}
	}
}

func withoutDescription(r resource.QualityRule) resource.QualityRule {
	r.Description = ""
	return r
}

func severityName(s string) string {
	if s == "" {
		return "error"
	}
	return s
}

func diffSLA(o, n *resource.ContractSLA, add func(bool, string, ...any)) {
	latency := func(s *resource.ContractSLA) float64 {
		if s == nil {
			return -1
		}
		d, err := resource.ParseLatency(s.Latency)
		if err != nil {
			return -1
		}
		return d.Seconds()
	}
	a, b := latency(o), latency(n)
	switch {
	case a < 0 && b < 0:
	case a < 0:
		add(true, "freshness SLA %s added", n.Latency)
	case b < 0:
		add(false, "freshness SLA removed")
	case b < a:
		add(true, "freshness SLA tightened from %s to %s", o.Latency, n.Latency)
	case b > a:
		add(false, "freshness SLA relaxed from %s to %s", o.Latency, n.Latency)
	}
	if o != nil && n != nil {
		if o.Element != n.Element {
			add(true, "freshness SLA now measured on %q instead of %q", n.Element, o.Element)
		}
		if severityOr(o.Severity, "warning") != severityOr(n.Severity, "warning") {
			add(severityOr(n.Severity, "warning") == "error", "freshness SLA severity now %s", severityOr(n.Severity, "warning"))
		}
	}
}

func severityOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
