package resource

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const contractKindName = "Contract"

// ContractKind describes the Contract kind: what the producers of one
// dataset promise its consumers about shape, meaning and quality, checked
// on every commit (package contract).
func ContractKind() KindInfo {
	return KindInfo{
		Name: contractKindName,
		New:  func() Spec { return new(ContractSpec) },
		Doc:  "a data contract bound to a dataset: schema, quality rules and a freshness SLA, checked on every commit",
	}
}

// ContractSpec is a Contract's spec, shaped after the Open Data Contract
// Standard v3 (one schema object, the dataset):
//
//	spec:
//	  dataset: covid.cases
//	  version: 1.0.0
//	  columns:
//	    - {name: region, logicalType: string, required: true, pattern: "^[A-Z]{2}-"}
//	    - {name: cases, logicalType: integer, minimum: 0}
//	  quality:
//	    - {metric: duplicateValues, column: region, mustBe: 0}
//	    - {metric: rowCount, mustBeGreaterThan: 0, severity: warning}
//	  sla: {latency: 2d}
type ContractSpec struct {
	// Dataset is the name of the dataset the contract binds.
	Dataset string `json:"dataset"`
	// Version is a semantic version, MAJOR.MINOR.PATCH; a breaking change
	// needs a new major version.
	Version     string           `json:"version"`
	Description string           `json:"description,omitempty"`
	Columns     []ContractColumn `json:"columns,omitempty"`
	Quality     []QualityRule    `json:"quality,omitempty"`
	SLA         *ContractSLA     `json:"sla,omitempty"`
}

// ContractColumn is one column the contract describes. Its constraints
// (required, unique, primaryKey, pattern, minimum, maximum,
// allowedValues) are checked as error-severity rules.
type ContractColumn struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// LogicalType is an ODCS logical type: string, integer, number,
	// boolean, date, timestamp, time, object or array; empty means any.
	LogicalType string `json:"logicalType,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Unique      bool   `json:"unique,omitempty"`
	// PrimaryKey implies required and unique.
	PrimaryKey bool `json:"primaryKey,omitempty"`
	// Pattern is a regular expression (RE2) that non-null values must
	// contain a match of; anchor it with ^ and $ to match whole values.
	Pattern string `json:"pattern,omitempty"`
	// Minimum and Maximum bound numeric values, inclusive.
	Minimum *Number `json:"minimum,omitempty"`
	Maximum *Number `json:"maximum,omitempty"`
	// AllowedValues lists the values a non-null value may take, as text.
	AllowedValues []string `json:"allowedValues,omitempty"`
	// Classification tags the column for policies ("pii", "restricted").
	Classification string `json:"classification,omitempty"`
}

// QualityRule is one ODCS quality rule: a library metric or an SQL query
// that returns a number, and exactly one threshold on it.
type QualityRule struct {
	// Name identifies the rule in reports and diffs; default metric(column).
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Metric is nullValues, duplicateValues, invalidValues or rowCount;
	// the first three need Column. Leave it empty for an SQL rule.
	Metric string `json:"metric,omitempty"`
	Column string `json:"column,omitempty"`
	// ValidValues and Pattern are invalidValues' arguments: a value is
	// invalid when it is not null and not one of ValidValues, or has no
	// match of Pattern.
	ValidValues []string `json:"validValues,omitempty"`
	Pattern     string   `json:"pattern,omitempty"`
	// Query is an SQL rule: one SELECT returning one number, reading the
	// checked rows as the table {object}.
	Query string `json:"query,omitempty"`
	// Unit is rows (default) or percent of the rows checked.
	Unit string `json:"unit,omitempty"`

	MustBe                 *Number  `json:"mustBe,omitempty"`
	MustNotBe              *Number  `json:"mustNotBe,omitempty"`
	MustBeGreaterThan      *Number  `json:"mustBeGreaterThan,omitempty"`
	MustBeGreaterOrEqualTo *Number  `json:"mustBeGreaterOrEqualTo,omitempty"`
	MustBeLessThan         *Number  `json:"mustBeLessThan,omitempty"`
	MustBeLessOrEqualTo    *Number  `json:"mustBeLessOrEqualTo,omitempty"`
	MustBeBetween          []Number `json:"mustBeBetween,omitempty"`
	MustNotBeBetween       []Number `json:"mustNotBeBetween,omitempty"`

	// Severity is error (default: the commit is refused) or warning (the
	// commit goes ahead and the violation is recorded).
	Severity string `json:"severity,omitempty"`
	// Scope is slice (the new rows of a commit) or dataset (every row in
	// force after it). The default is slice for nullValues and
	// invalidValues, dataset for the others.
	Scope string `json:"scope,omitempty"`
}

// ContractSLA is the service level the producer promises.
type ContractSLA struct {
	// Latency is how old the newest row may be, measured on Element: a
	// duration such as 90m, 6h, 2d or 1w.
	Latency string `json:"latency,omitempty"`
	// Element is the timestamp or date column measured; default the
	// dataset's event-time column.
	Element string `json:"element,omitempty"`
	// Severity defaults to warning: refusing a late batch would only make
	// the dataset later.
	Severity string `json:"severity,omitempty"`
}

// Contract enumerations.
var (
	LogicalTypes    = []string{"string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"}
	QualityMetrics  = []string{"nullValues", "duplicateValues", "invalidValues", "rowCount"}
	Severities      = []string{"error", "warning"}
	RuleScopes      = []string{"slice", "dataset"}
	RuleUnits       = []string{"rows", "percent"}
	semverRE        = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	classificationR = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9_.]*$`)
)

// Validate checks the whole spec and reports every problem with its path.
func (s *ContractSpec) Validate() []FieldError {
	var errs []FieldError
	if s.Dataset == "" {
		errs = append(errs, fieldErrorf("dataset", "missing required field: the name of the dataset the contract binds"))
	} else if err := ValidateDatasetName(s.Dataset); err != nil {
		errs = append(errs, FieldError{Path: "dataset", Msg: err.Error()})
	}
	if s.Version == "" {
		errs = append(errs, fieldErrorf("version", "missing required field: a semantic version such as 1.0.0"))
	} else if !semverRE.MatchString(s.Version) {
		errs = append(errs, fieldErrorf("version", "invalid version %s: want a semantic version MAJOR.MINOR.PATCH such as 1.0.0", yamldiag.Quote(s.Version)))
	}
	cols := map[string]int{}
	for i, c := range s.Columns {
		p := indexPath("columns", i)
		if c.Name == "" {
			errs = append(errs, fieldErrorf(p+".name", "missing required field"))
		} else if j, dup := cols[c.Name]; dup {
			errs = append(errs, fieldErrorf(p+".name", "column %s is declared twice (first at columns[%d])", yamldiag.Quote(c.Name), j))
		} else {
			cols[c.Name] = i
		}
		errs = append(errs, validateEnum(p+".logicalType", c.LogicalType, LogicalTypes)...)
		errs = append(errs, validatePattern(p+".pattern", c.Pattern)...)
		if c.Minimum != nil || c.Maximum != nil {
			switch c.LogicalType {
			case "", "integer", "number":
			default:
				errs = append(errs, fieldErrorf(p, "minimum and maximum bound numbers; column %s is %s", yamldiag.Quote(c.Name), c.LogicalType))
			}
		}
		if c.Minimum != nil && c.Maximum != nil && c.Minimum.Float() > c.Maximum.Float() {
			errs = append(errs, fieldErrorf(p+".maximum", "maximum %s is below minimum %s", c.Maximum, c.Minimum))
		}
		for j, v := range c.AllowedValues {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fieldErrorf(indexPath(p+".allowedValues", j), "empty value"))
			}
		}
		if c.Classification != "" && !classificationR.MatchString(c.Classification) {
			errs = append(errs, fieldErrorf(p+".classification", "invalid classification %s: one word of letters, digits, '-', '_' and '.', such as pii", yamldiag.Quote(c.Classification)))
		}
	}
	names := map[string]int{}
	for i, r := range s.Quality {
		p := indexPath("quality", i)
		errs = append(errs, r.validate(p, cols, len(s.Columns) > 0)...)
		if n := r.Key(); n != "" {
			if j, dup := names[n]; dup {
				errs = append(errs, fieldErrorf(p, "rule %s is the same as quality[%d]; give one of them a distinct name", yamldiag.Quote(n), j))
			}
			names[n] = i
		}
	}
	if s.SLA != nil {
		if s.SLA.Latency == "" {
			errs = append(errs, fieldErrorf("sla.latency", "missing required field: a duration such as 6h or 2d"))
		} else if _, err := ParseLatency(s.SLA.Latency); err != nil {
			errs = append(errs, FieldError{Path: "sla.latency", Msg: err.Error()})
		}
		errs = append(errs, validateEnum("sla.severity", s.SLA.Severity, Severities)...)
		if e := s.SLA.Element; e != "" && len(s.Columns) > 0 {
			if j, ok := cols[e]; ok {
				switch s.Columns[j].LogicalType {
				case "", "date", "timestamp":
				default:
					errs = append(errs, fieldErrorf("sla.element", "column %s is %s; freshness is measured on a date or timestamp", yamldiag.Quote(e), s.Columns[j].LogicalType))
				}
			}
		}
	}
	return errs
}

func (r *QualityRule) validate(p string, cols map[string]int, haveCols bool) []FieldError {
	var errs []FieldError
	switch {
	case r.Metric == "" && r.Query == "":
		errs = append(errs, fieldErrorf(p, "give a metric (%s) or an SQL query", strings.Join(QualityMetrics, ", ")))
	case r.Metric != "" && r.Query != "":
		errs = append(errs, fieldErrorf(p, "give a metric or an SQL query, not both"))
	case r.Metric != "":
		errs = append(errs, validateEnum(p+".metric", r.Metric, QualityMetrics)...)
		switch r.Metric {
		case "rowCount":
			if r.Column != "" {
				errs = append(errs, fieldErrorf(p+".column", "rowCount counts rows; it takes no column"))
			}
			if r.Unit == "percent" {
				errs = append(errs, fieldErrorf(p+".unit", "rowCount is a number of rows, not a percentage"))
			}
		case "nullValues", "duplicateValues", "invalidValues":
			if r.Column == "" {
				errs = append(errs, fieldErrorf(p+".column", "missing required field: %s counts values of one column", r.Metric))
			} else if _, ok := cols[r.Column]; haveCols && !ok {
				errs = append(errs, fieldErrorf(p+".column", "column %s is not among the contract's columns", yamldiag.Quote(r.Column)))
			}
		}
		if r.Metric == "invalidValues" {
			if len(r.ValidValues) == 0 && r.Pattern == "" {
				errs = append(errs, fieldErrorf(p, "invalidValues needs validValues or a pattern"))
			}
		} else if len(r.ValidValues) > 0 || r.Pattern != "" {
			errs = append(errs, fieldErrorf(p, "validValues and pattern are arguments of invalidValues only"))
		}
		errs = append(errs, validatePattern(p+".pattern", r.Pattern)...)
	case r.Query != "":
		if r.Column != "" || len(r.ValidValues) > 0 || r.Pattern != "" {
			errs = append(errs, fieldErrorf(p, "an SQL rule takes no column, validValues or pattern"))
		}
		if r.Unit == "percent" {
			errs = append(errs, fieldErrorf(p+".unit", "an SQL rule's number is its own; unit percent does not apply"))
		}
	}
	errs = append(errs, validateEnum(p+".unit", r.Unit, RuleUnits)...)
	errs = append(errs, validateEnum(p+".severity", r.Severity, Severities)...)
	errs = append(errs, validateEnum(p+".scope", r.Scope, RuleScopes)...)
	var ops []string
	one := func(name string, n *Number) {
		if n != nil {
			ops = append(ops, name)
		}
	}
	one("mustBe", r.MustBe)
	one("mustNotBe", r.MustNotBe)
	one("mustBeGreaterThan", r.MustBeGreaterThan)
	one("mustBeGreaterOrEqualTo", r.MustBeGreaterOrEqualTo)
	one("mustBeLessThan", r.MustBeLessThan)
	one("mustBeLessOrEqualTo", r.MustBeLessOrEqualTo)
	for _, b := range []struct {
		name string
		v    []Number
	}{{"mustBeBetween", r.MustBeBetween}, {"mustNotBeBetween", r.MustNotBeBetween}} {
		if b.v == nil {
			continue
		}
		ops = append(ops, b.name)
		if len(b.v) != 2 {
			errs = append(errs, fieldErrorf(p+"."+b.name, "want two numbers [low, high], got %d", len(b.v)))
		} else if b.v[0].Float() > b.v[1].Float() {
			errs = append(errs, fieldErrorf(p+"."+b.name, "low %s is above high %s", b.v[0], b.v[1]))
		}
	}
	switch len(ops) {
	case 0:
		errs = append(errs, fieldErrorf(p, "missing threshold: give one of mustBe, mustNotBe, mustBeGreaterThan, mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, mustNotBeBetween"))
	case 1:
	default:
		errs = append(errs, fieldErrorf(p, "give one threshold; found %s", strings.Join(ops, ", ")))
	}
	return errs
}

// Key is the rule's identity in reports and diffs: its name, else
// metric(column), else the query text.
func (r *QualityRule) Key() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.Metric != "" && r.Column != "":
		return r.Metric + "(" + r.Column + ")"
	case r.Metric != "":
		return r.Metric
	}
	return strings.Join(strings.Fields(r.Query), " ")
}

// Dependencies is the dataset the contract binds.
func (s *ContractSpec) Dependencies() []Ref {
	if s.Dataset == "" {
		return nil
	}
	return []Ref{{Kind: datasetKindName, Name: s.Dataset}}
}

// Column returns the column called name.
func (s *ContractSpec) Column(name string) (*ContractColumn, bool) {
	for i := range s.Columns {
		if s.Columns[i].Name == name {
			return &s.Columns[i], true
		}
	}
	return nil, false
}

// Major returns the major part of the version, -1 if it is not semantic.
func (s *ContractSpec) Major() int {
	m := semverRE.FindStringSubmatch(s.Version)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

func validateEnum(path, v string, valid []string) []FieldError {
	if v == "" {
		return nil
	}
	for _, x := range valid {
		if v == x {
			return nil
		}
	}
	return []FieldError{fieldErrorf(path, "unknown value %s%s; valid values: %s", yamldiag.Quote(v), yamldiag.DidYouMean(v, valid), strings.Join(valid, ", "))}
}

func validatePattern(path, p string) []FieldError {
	if p == "" {
		return nil
	}
	if _, err := regexp.Compile(p); err != nil {
		return []FieldError{fieldErrorf(path, "invalid regular expression %s: %v", yamldiag.Quote(p), err)}
	}
	return nil
}

var latencyRE = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)(ms|s|m|h|d|w)$`)

// ParseLatency reads a duration such as 90m, 6h, 1.5d or 2w (d is 24
// hours, w 7 days); Go's forms such as 1h30m are accepted too.
func ParseLatency(s string) (time.Duration, error) {
	if m := latencyRE.FindStringSubmatch(s); m != nil && (m[3] == "d" || m[3] == "w") {
		f, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			day := 24 * time.Hour
			if m[3] == "w" {
				day *= 7
			}
			if d := time.Duration(f * float64(day)); d > 0 {
				return d, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid latency %s: want a positive duration such as 90m, 6h, 2d or 1w", yamldiag.Quote(s))
	}
	return d, nil
}

// ---- Numbers ---------------------------------------------------------------

// Number is a finite number as written in a manifest (0, 2.5, -1e3). It
// keeps its text, so printing gives back what was written.
type Number struct {
	text string
	f    float64
}

// NewNumber returns the number f.
func NewNumber(f float64) Number {
	return Number{text: strconv.FormatFloat(f, 'g', -1, 64), f: f}
}

// Float returns the number's value.
func (n Number) Float() float64 { return n.f }

// String returns the number as written.
func (n Number) String() string {
	if n.text == "" {
		return "0"
	}
	return n.text
}

func (n *Number) decodeNode(d *decoder, node *yaml.Node, path string) {
	if node.Kind != yaml.ScalarNode || (node.ShortTag() != "!!int" && node.ShortTag() != "!!float") {
		d.errorf(node, path, "expected a number, got %s", yamldiag.Describe(node))
		return
	}
	var f float64
	if err := node.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		d.errorf(node, path, "expected a finite number, got %s", yamldiag.Quote(node.Value))
		return
	}
	text := node.Value
	if !isJSONNumber(text) {
		text = strconv.FormatFloat(f, 'g', -1, 64)
	}
	*n = Number{text: text, f: f}
}

func (n Number) encodeNode() (*yaml.Node, error) {
	tag := "!!float"
	if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		tag = "!!int"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: n.String()}, nil
}
