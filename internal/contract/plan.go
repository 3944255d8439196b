package contract

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/resource"
)

// Scope names the rows a check reads.
type Scope string

const (
	// ScopeSlice is the rows a commit adds (appends and the new values of
	// corrections).
	ScopeSlice Scope = "slice"
	// ScopeDataset is every row in force after the commit.
	ScopeDataset Scope = "dataset"
	// ScopeSchema is the dataset's schema, not its rows.
	ScopeSchema Scope = "schema"
)

// Severity says what a violation does to a commit.
type Severity string

const (
	// SeverityError refuses the commit.
	SeverityError Severity = "error"
	// SeverityWarning lets the commit through and records the violation.
	SeverityWarning Severity = "warning"
)

// Kind says how a check computes its number.
type Kind int

const (
	// KindAggregate is an aggregate expression over the relation, which
	// can share one scan with others.
	KindAggregate Kind = iota
	// KindQuery is a rule's own SQL query, run alone in the sandbox.
	KindQuery
	// KindFreshness is the age of the newest value of a column, in
	// seconds; its aggregate yields that value as epoch seconds.
	KindFreshness
)

// SystemColumns names a dataset's system columns (its ODF vocabulary).
type SystemColumns struct{ Offset, Op, SystemTime, EventTime string }

// DefaultSystemColumns is ODF's default vocabulary.
func DefaultSystemColumns() SystemColumns {
	return SystemColumns{Offset: "offset", Op: "op", SystemTime: "system_time", EventTime: "event_time"}
}

// Threshold is the condition an observed number must meet.
type Threshold struct {
	Op   string // mustBe, mustNotBe, mustBeGreaterThan, … as in ODCS
	A, B float64
}

// Holds reports whether v meets the threshold.
func (t Threshold) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch t.Op {
	case "mustBe":
		return v == t.A
	case "mustNotBe":
		return v != t.A
	case "mustBeGreaterThan":
		return v > t.A
	case "mustBeGreaterOrEqualTo":
		return v >= t.A
	case "mustBeLessThan":
		return v < t.A
	case "mustBeLessOrEqualTo":
		return v <= t.A
	case "mustBeBetween":
		return v >= t.A && v <= t.B
	case "mustNotBeBetween":
		return v < t.A || v > t.B
	}
	return false
}

// String prints the threshold as a contract writes it.
func (t Threshold) String() string {
	switch t.Op {
	case "mustBeBetween", "mustNotBeBetween":
		return fmt.Sprintf("%s [%s, %s]", t.Op, fmtNum(t.A), fmtNum(t.B))
	}
	return t.Op + " " + fmtNum(t.A)
}

// Check is one rule ready to run.
type Check struct {
	// Rule names the rule: its name, or metric(column), or for a column
	// constraint what it checks ("required(region)").
	Rule     string
	Metric   string // nullValues, duplicateValues, invalidValues, rowCount, sql, freshness
	Column   string // "" for rowCount, SQL rules and freshness
	Severity Severity
	Scope    Scope
	Kind     Kind
	// Percent divides the count by the rows checked, times 100.
	Percent   bool
	Threshold Threshold

	// Implied marks a check that a column constraint implies rather than
	// an explicit quality rule: it is skipped when the column is absent
	// from the data (the schema check reports absent required columns).
	Implied bool

	agg   string // aggregate SQL over the relation "r"
	pred  string // row predicate of offending rows, "" when none
	dups  bool   // offending rows are those whose value repeats
	query string // KindQuery: the rule's SQL with {object}
	age   time.Duration
	// latency is the SLA's latency as the contract wrote it.
	latency string
}

// Plan is a compiled contract.
type Plan struct {
	Name    string // the Contract's name
	Version string
	Dataset string
	Spec    *resource.ContractSpec
	Checks  []Check
	// EventTime is the dataset's event-time column, which slices always
	// store as a timestamp (ODF), whatever type its source had.
	EventTime string
}

// Compile turns a contract into checks, column constraints first, then
// quality rules in order, then the freshness SLA. sys names the dataset's
// system columns (the SLA's default element is the event time).
func Compile(name string, spec *resource.ContractSpec, sys SystemColumns) (*Plan, error) {
	p := &Plan{Name: name, Version: spec.Version, Dataset: spec.Dataset, Spec: spec, EventTime: sys.EventTime}
	for _, c := range spec.Columns {
		col := QuoteIdent(c.Name)
		add := func(rule, metric string, scope Scope, pred string, dups bool) {
			ch := Check{Rule: rule + "(" + c.Name + ")", Metric: metric, Column: c.Name, Severity: SeverityError, Scope: scope, Implied: true,
				Threshold: Threshold{Op: "mustBe"}, pred: pred, dups: dups}
			if dups {
				ch.agg = fmt.Sprintf("count(%s) - count(DISTINCT %s)", col, col)
			} else {
				ch.agg = fmt.Sprintf("count(*) FILTER (WHERE %s)", pred)
			}
			p.Checks = append(p.Checks, ch)
		}
		if c.Required || c.PrimaryKey {
			add("required", "nullValues", ScopeSlice, col+" IS NULL", false)
		}
		if c.Unique || c.PrimaryKey {
			add("unique", "duplicateValues", ScopeDataset, "", true)
		}
		if c.Pattern != "" {
			add("pattern", "invalidValues", ScopeSlice, patternPred(col, c.Pattern), false)
		}
		if c.Minimum != nil || c.Maximum != nil {
			var conds []string
			if c.Minimum != nil {
				conds = append(conds, fmt.Sprintf("TRY_CAST(%s AS DOUBLE) < %s", col, numLit(c.Minimum.Float())))
			}
			if c.Maximum != nil {
				conds = append(conds, fmt.Sprintf("TRY_CAST(%s AS DOUBLE) > %s", col, numLit(c.Maximum.Float())))
			}
			add("range", "invalidValues", ScopeSlice, fmt.Sprintf("%s IS NOT NULL AND (%s)", col, strings.Join(conds, " OR ")), false)
		}
		if len(c.AllowedValues) > 0 {
			add("allowedValues", "invalidValues", ScopeSlice, inPred(col, c.AllowedValues), false)
		}
	}
	for i, r := range spec.Quality {
		ch, err := compileRule(&r)
		if err != nil {
			return nil, fmt.Errorf("contract %s: quality[%d]: %w", name, i, err)
		}
		p.Checks = append(p.Checks, ch)
	}
	if sla := spec.SLA; sla != nil && sla.Latency != "" {
		age, err := resource.ParseLatency(sla.Latency)
		if err != nil {
			return nil, fmt.Errorf("contract %s: sla.latency: %w", name, err)
		}
		el := sla.Element
		if el == "" {
			el = sys.EventTime
		}
		sev := Severity(sla.Severity)
		if sev == "" {
			sev = SeverityWarning
		}
		p.Checks = append(p.Checks, Check{
			Rule: "freshness(" + el + ")", Metric: "freshness", Column: el, Severity: sev, Scope: ScopeDataset, Kind: KindFreshness,
			Threshold: Threshold{Op: "mustBeLessOrEqualTo", A: age.Seconds()}, age: age, latency: sla.Latency,
			agg: fmt.Sprintf("epoch(CAST(max(%s) AS TIMESTAMP))", QuoteIdent(el)),
		})
	}
	return p, nil
}

func compileRule(r *resource.QualityRule) (Check, error) {
	ch := Check{Rule: r.Key(), Metric: r.Metric, Column: r.Column, Severity: Severity(r.Severity), Percent: r.Unit == "percent"}
	if ch.Severity == "" {
		ch.Severity = SeverityError
	}
	th, err := threshold(r)
	if err != nil {
		return ch, err
	}
	ch.Threshold = th
	col := QuoteIdent(r.Column)
	defScope := ScopeDataset
	switch r.Metric {
	case "nullValues":
		ch.pred = col + " IS NULL"
		defScope = ScopeSlice
	case "invalidValues":
		var preds []string
		if len(r.ValidValues) > 0 {
			preds = append(preds, inPred(col, r.ValidValues))
		}
		if r.Pattern != "" {
			preds = append(preds, patternPred(col, r.Pattern))
		}
		ch.pred = "(" + strings.Join(preds, ") OR (") + ")"
		defScope = ScopeSlice
	case "duplicateValues":
		ch.dups = true
		ch.agg = fmt.Sprintf("count(%s) - count(DISTINCT %s)", col, col)
	case "rowCount":
		ch.agg = "count(*)"
	case "":
		ch.Metric, ch.Kind, ch.query = "sql", KindQuery, r.Query
	default:
		return ch, fmt.Errorf("unknown metric %q", r.Metric)
	}
	if ch.pred != "" {
		ch.agg = fmt.Sprintf("count(*) FILTER (WHERE %s)", ch.pred)
	}
	ch.Scope = Scope(r.Scope)
	if ch.Scope == "" {
		ch.Scope = defScope
	}
	return ch, nil
}

func threshold(r *resource.QualityRule) (Threshold, error) {
	for _, o := range []struct {
		op string
		n  *resource.Number
	}{
		{"mustBe", r.MustBe}, {"mustNotBe", r.MustNotBe},
		{"mustBeGreaterThan", r.MustBeGreaterThan}, {"mustBeGreaterOrEqualTo", r.MustBeGreaterOrEqualTo},
		{"mustBeLessThan", r.MustBeLessThan}, {"mustBeLessOrEqualTo", r.MustBeLessOrEqualTo},
	} {
		if o.n != nil {
			return Threshold{Op: o.op, A: o.n.Float()}, nil
		}
	}
	for _, o := range []struct {
		op string
		v  []resource.Number
	}{{"mustBeBetween", r.MustBeBetween}, {"mustNotBeBetween", r.MustNotBeBetween}} {
		if len(o.v) == 2 {
			return Threshold{Op: o.op, A: o.v[0].Float(), B: o.v[1].Float()}, nil
		}
	}
	return Threshold{}, fmt.Errorf("rule %s has no threshold", r.Key())
}

// Aggregate returns the SQL expression computing the check's number over
// a relation (DOUBLE; for freshness the newest value as epoch seconds),
// or "" for a KindQuery check.
func (c *Check) Aggregate() string {
	if c.Kind == KindQuery {
		return ""
	}
	return "CAST(" + c.agg + " AS DOUBLE)"
}

// Query returns a KindQuery check's SQL reading relation in place of
// {object} (and ${object}).
func (c *Check) Query(relation string) string {
	q := strings.ReplaceAll(c.query, "${object}", QuoteIdent(relation))
	return strings.ReplaceAll(q, "{object}", QuoteIdent(relation))
}

// RowLevel reports whether the check counts offending rows, so that
// samples of them can be shown.
func (c *Check) RowLevel() bool { return c.pred != "" || c.dups }

// SampleQuery returns a query for up to limit offending rows of
// relation, or "" when the check is not row-level.
func (c *Check) SampleQuery(relation string, limit int) string {
	rel := QuoteIdent(relation)
	switch {
	case c.dups:
		col := QuoteIdent(c.Column)
		return fmt.Sprintf("SELECT * FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s IS NOT NULL GROUP BY %s HAVING count(*) > 1) ORDER BY %s LIMIT %d",
			rel, col, col, rel, col, col, col, limit)
	case c.pred != "":
		return fmt.Sprintf("SELECT * FROM %s WHERE %s LIMIT %d", rel, c.pred, limit)
	}
	return ""
}

// Observed turns the raw number a check's SQL gave into the value its
// threshold judges: a percentage of rows when asked, an age in seconds
// for freshness.
func (c *Check) Observed(raw float64, rows int64, now time.Time) float64 {
	switch {
	case c.Kind == KindFreshness:
		if math.IsNaN(raw) {
			return math.NaN() // no rows: nothing is fresh
		}
		return float64(now.UnixMilli())/1000 - raw
	case c.Percent:
		if rows == 0 {
			return 0
		}
		return 100 * raw / float64(rows)
	}
	return raw
}

// inPred selects non-null values outside values, compared as text.
func inPred(col string, values []string) string {
	lits := make([]string, len(values))
	for i, v := range values {
		lits[i] = QuoteLit(v)
	}
	return fmt.Sprintf("%s IS NOT NULL AND CAST(%s AS VARCHAR) NOT IN (%s)", col, col, strings.Join(lits, ", "))
}

// patternPred selects non-null values with no match of pattern.
func patternPred(col, pattern string) string {
	return fmt.Sprintf("%s IS NOT NULL AND NOT regexp_matches(CAST(%s AS VARCHAR), %s)", col, col, QuoteLit(pattern))
}

// QuoteIdent quotes an SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLit quotes an SQL string literal.
func QuoteLit(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func numLit(f float64) string { return "CAST(" + QuoteLit(fmtNum(f)) + " AS DOUBLE)" }

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}
