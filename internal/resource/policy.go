package resource

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const policyKindName = "Policy"

// PolicyKind describes the Policy kind: who may do what to which
// datasets and resources (access rules), what they see of the data
// (column masks and row filters), and custom rules in Rego. Package
// policy decides with them.
func PolicyKind() KindInfo {
	return KindInfo{
		Name: policyKindName,
		New:  func() Spec { return new(PolicySpec) },
		Doc:  "access rules, column masks and row filters (and optional Rego) deciding who reads, queries and changes what",
	}
}

// PolicySpec is a Policy's spec, shaped after DataOS's access and data
// policies:
//
//	spec:
//	  priority: 50
//	  access:
//	    - subjects: [roles:analyst]
//	      actions: [read, query]
//	      objects: ["covid.*"]
//	      effect: allow
//	  data:
//	    - subjects: [roles:analyst]
//	      datasets: [covid.cases]
//	      masks:
//	        - {columns: [email], operator: hash}
//	        - {tags: [pii], operator: redact}
//	      rowFilter: "org = ${subject.org}"
//	  rego: |
//	    package ipos
//	    deny contains "no exports on Sunday" if input.action == "read" ...
type PolicySpec struct {
	Description string `json:"description,omitempty"`
	// Priority orders policies: the lower number decides first. Omitted
	// means DefaultPolicyPriority.
	Priority *int         `json:"priority,omitempty"`
	Access   []AccessRule `json:"access,omitempty"`
	Data     []DataRule   `json:"data,omitempty"`
	// Rego is an OPA module in package ipos; see package policy for what
	// it may define.
	Rego string `json:"rego,omitempty"`
}

// DefaultPolicyPriority is the priority of a policy that gives none.
const DefaultPolicyPriority = 100

// MaxPolicyPriority bounds priorities (0 … MaxPolicyPriority).
const MaxPolicyPriority = 1000

// EffectivePriority is the policy's priority, DefaultPolicyPriority if
// unset.
func (s *PolicySpec) EffectivePriority() int {
	if s.Priority == nil {
		return DefaultPolicyPriority
	}
	return *s.Priority
}

// AccessRule allows or denies actions on objects to subjects.
//
// Subjects are "*" (everyone), an identity name (or name:NAME), a DID
// (did:key:…), or an attribute: roles:R, groups:G, org:O, purpose:P.
// Objects are "*", a dataset name, a glob over names (covid.*), a
// resource as Kind/name (globs allowed), or tag:T for datasets tagged T.
type AccessRule struct {
	Name     string   `json:"name,omitempty"`
	Subjects []string `json:"subjects"`
	Actions  []string `json:"actions"`
	Objects  []string `json:"objects"`
	// Effect is allow or deny.
	Effect string `json:"effect"`
}

// DataRule says what subjects see of the datasets it names: masked
// columns and only the rows its filter keeps.
type DataRule struct {
	Name     string   `json:"name,omitempty"`
	Subjects []string `json:"subjects"`
	// Datasets are names, globs or tag:T, as access objects are.
	Datasets []string     `json:"datasets"`
	Masks    []ColumnMask `json:"masks,omitempty"`
	// RowFilter is an SQL predicate over the dataset's columns (DuckDB
	// dialect). ${subject.name}, ${subject.did}, ${subject.org},
	// ${subject.purpose} become quoted string literals, ${subject.roles}
	// and ${subject.groups} list literals. One expression: no ';', no
	// comments, no subqueries.
	RowFilter string `json:"rowFilter,omitempty"`
}

// ColumnMask masks the columns it names, or those tagged (by a
// Contract's classification) with one of its tags.
type ColumnMask struct {
	Columns []string `json:"columns,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	// Operator is one of MaskOperators.
	Operator string `json:"operator"`
	// Salt is hash's optional salt, prefixed to the value.
	Salt string `json:"salt,omitempty"`
	// Value is what redact shows (default "[redacted]").
	Value string `json:"value,omitempty"`
	// Buckets are bucket_number's ascending bounds.
	Buckets []Number `json:"buckets,omitempty"`
	// Precision is bucket_date's: hour, day, week, month, quarter, year.
	Precision string `json:"precision,omitempty"`
	// Pattern (RE2) and Replacement are regex_replace's.
	Pattern     string `json:"pattern,omitempty"`
	Replacement string `json:"replacement,omitempty"`
}

// Policy enumerations.
var (
	PolicyActions  = []string{"read", "query", "ingest", "apply", "delete", "run-job", "approve"}
	PolicyEffects  = []string{"allow", "deny"}
	MaskOperators  = []string{"hash", "redact", "null", "bucket_number", "bucket_date", "regex_replace", "pass_through"}
	DatePrecisions = []string{"hour", "day", "week", "month", "quarter", "year"}
	// SubjectAttributes are the attribute prefixes a subject may name.
	SubjectAttributes = []string{"roles", "groups", "org", "purpose"}

	identityNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	attrValueRE    = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.@]*$`)
	objectRE       = regexp.MustCompile(`^[A-Za-z0-9_.*?\[\]/-]+$`)
	tagRE          = regexp.MustCompile(`^[a-zA-Z0-9][-a-zA-Z0-9_.=]*$`)
)

// MaxRegoBytes bounds the size of a policy's Rego module.
const MaxRegoBytes = 64 << 10

// Validate checks the whole spec and reports every problem with its path.
func (s *PolicySpec) Validate() []FieldError {
	var errs []FieldError
	if s.Priority != nil && (*s.Priority < 0 || *s.Priority > MaxPolicyPriority) {
		errs = append(errs, fieldErrorf("priority", "priority %d is out of range: 0 (first) to %d", *s.Priority, MaxPolicyPriority))
	}
	if len(s.Access) == 0 && len(s.Data) == 0 && strings.TrimSpace(s.Rego) == "" {
		errs = append(errs, fieldErrorf("", "a policy needs access rules, data rules or rego"))
	}
	for i, r := range s.Access {
		p := indexPath("access", i)
		errs = append(errs, validateSubjects(p+".subjects", r.Subjects)...)
		if len(r.Actions) == 0 {
			errs = append(errs, fieldErrorf(p+".actions", "missing required field: one or more of %s, or *", strings.Join(PolicyActions, ", ")))
		}
		for j, a := range r.Actions {
			if a != "*" && !slices.Contains(PolicyActions, a) {
				errs = append(errs, fieldErrorf(indexPath(p+".actions", j), "unknown action %s: want one of %s, or *", yamldiag.Quote(a), strings.Join(PolicyActions, ", ")))
			}
		}
		errs = append(errs, validateObjects(p+".objects", r.Objects)...)
		if r.Effect == "" {
			errs = append(errs, fieldErrorf(p+".effect", "missing required field: allow or deny"))
		} else {
			errs = append(errs, validateEnum(p+".effect", r.Effect, PolicyEffects)...)
		}
	}
	for i, r := range s.Data {
		p := indexPath("data", i)
		errs = append(errs, validateSubjects(p+".subjects", r.Subjects)...)
		errs = append(errs, validateObjects(p+".datasets", r.Datasets)...)
		if len(r.Masks) == 0 && r.RowFilter == "" {
			errs = append(errs, fieldErrorf(p, "a data rule needs masks or a rowFilter"))
		}
		for j, m := range r.Masks {
			errs = append(errs, m.Validate(indexPath(p+".masks", j))...)
		}
		if r.RowFilter != "" {
			if _, err := ScanRowFilter(r.RowFilter, nil); err != nil {
				errs = append(errs, FieldError{Path: p + ".rowFilter", Msg: err.Error()})
			}
		}
	}
	if s.Rego != "" {
		errs = append(errs, validateRego("rego", s.Rego)...)
	}
	return errs
}

// Dependencies: a policy refers to datasets by name and glob, which need
// not exist yet, so it has none.
func (s *PolicySpec) Dependencies() []Ref { return nil }

// Validate checks one mask's operator and its parameters; path is where
// the mask is. It is used for manifest masks and for masks a Rego module
// returns.
func (m *ColumnMask) Validate(p string) []FieldError {
	var errs []FieldError
	if len(m.Columns) == 0 && len(m.Tags) == 0 {
		errs = append(errs, fieldErrorf(p, "name the masked columns or column tags"))
	}
	for i, c := range m.Columns {
		if strings.TrimSpace(c) == "" || len(c) > 255 {
			errs = append(errs, fieldErrorf(indexPath(p+".columns", i), "invalid column name %s", yamldiag.Quote(c)))
		}
	}
	for i, t := range m.Tags {
		if !tagRE.MatchString(t) {
			errs = append(errs, fieldErrorf(indexPath(p+".tags", i), "invalid tag %s: letters, digits, '-', '_', '.' and '='", yamldiag.Quote(t)))
		}
	}
	unused := func(field string, set bool) {
		if set {
			errs = append(errs, fieldErrorf(p+"."+field, "%s does not apply to operator %s", field, m.Operator))
		}
	}
	switch m.Operator {
	case "":
		errs = append(errs, fieldErrorf(p+".operator", "missing required field: one of %s", strings.Join(MaskOperators, ", ")))
		return errs
	case "hash":
		unused("value", m.Value != "")
	case "redact":
		unused("salt", m.Salt != "")
	case "null", "pass_through":
		unused("salt", m.Salt != "")
		unused("value", m.Value != "")
	case "bucket_number":
		if len(m.Buckets) == 0 {
			errs = append(errs, fieldErrorf(p+".buckets", "missing required field: ascending bounds such as [0, 10, 100]"))
		}
		for i := 1; i < len(m.Buckets); i++ {
			if m.Buckets[i].Float() <= m.Buckets[i-1].Float() {
				errs = append(errs, fieldErrorf(indexPath(p+".buckets", i), "bounds must ascend: %s is not above %s", m.Buckets[i], m.Buckets[i-1]))
			}
		}
		if len(m.Buckets) > 100 {
			errs = append(errs, fieldErrorf(p+".buckets", "at most 100 bounds"))
		}
	case "bucket_date":
		if m.Precision == "" {
			errs = append(errs, fieldErrorf(p+".precision", "missing required field: one of %s", strings.Join(DatePrecisions, ", ")))
		} else {
			errs = append(errs, validateEnum(p+".precision", m.Precision, DatePrecisions)...)
		}
	case "regex_replace":
		if m.Pattern == "" {
			errs = append(errs, fieldErrorf(p+".pattern", "missing required field: an RE2 regular expression"))
		} else {
			errs = append(errs, validatePattern(p+".pattern", m.Pattern)...)
		}
	default:
		errs = append(errs, fieldErrorf(p+".operator", "unknown mask operator %s: want one of %s", yamldiag.Quote(m.Operator), strings.Join(MaskOperators, ", ")))
		return errs
	}
	if m.Operator != "bucket_number" {
		unused("buckets", len(m.Buckets) > 0)
	}
	if m.Operator != "bucket_date" {
		unused("precision", m.Precision != "")
	}
	if m.Operator != "regex_replace" {
		unused("pattern", m.Pattern != "")
		unused("replacement", m.Replacement != "")
	}
	return errs
}

// ValidateSubject checks one subject pattern.
func ValidateSubject(s string) error {
	switch {
	case s == "*":
		return nil
	case strings.HasPrefix(s, "did:"):
		if len(s) < 8 || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("invalid DID %s", yamldiag.Quote(s))
		}
		return nil
	case strings.HasPrefix(s, "name:"):
		s = strings.TrimPrefix(s, "name:")
	case strings.Contains(s, ":"):
		attr, val, _ := strings.Cut(s, ":")
		if !slices.Contains(SubjectAttributes, attr) {
			return fmt.Errorf("unknown subject attribute %s: want roles:, groups:, org:, purpose:, name: or did:", yamldiag.Quote(attr))
		}
		if !attrValueRE.MatchString(val) {
			return fmt.Errorf("invalid %s value %s", attr, yamldiag.Quote(val))
		}
		return nil
	}
	if !identityNameRE.MatchString(s) {
		return fmt.Errorf("invalid identity name %s: lower-case letters, digits, '_' and '-', starting with a letter", yamldiag.Quote(s))
	}
	return nil
}

func validateSubjects(p string, subjects []string) []FieldError {
	if len(subjects) == 0 {
		return []FieldError{fieldErrorf(p, "missing required field: identities, DIDs or attributes such as roles:analyst, or *")}
	}
	var errs []FieldError
	for i, s := range subjects {
		if err := ValidateSubject(s); err != nil {
			errs = append(errs, FieldError{Path: indexPath(p, i), Msg: err.Error()})
		}
	}
	return errs
}

// ValidateObject checks one object pattern: *, a name or glob, or tag:T.
func ValidateObject(o string) error {
	if t, ok := strings.CutPrefix(o, "tag:"); ok {
		if !tagRE.MatchString(t) {
			return fmt.Errorf("invalid tag %s", yamldiag.Quote(t))
		}
		return nil
	}
	if o == "" || len(o) > 255 || !objectRE.MatchString(o) {
		return fmt.Errorf("invalid object %s: a dataset name, a glob such as covid.*, Kind/name, or tag:T", yamldiag.Quote(o))
	}
	if _, err := path.Match(o, ""); err != nil {
		return fmt.Errorf("invalid glob %s: %v", yamldiag.Quote(o), err)
	}
	return nil
}

func validateObjects(p string, objects []string) []FieldError {
	if len(objects) == 0 {
		return []FieldError{fieldErrorf(p, "missing required field: dataset names, globs such as covid.*, or tag:T")}
	}
	var errs []FieldError
	for i, o := range objects {
		if err := ValidateObject(o); err != nil {
			errs = append(errs, FieldError{Path: indexPath(p, i), Msg: err.Error()})
		}
	}
	return errs
}

// RegoPackage is the package a policy's Rego module must declare.
const RegoPackage = "ipos"

// RegoUnsafeBuiltins are the built-in functions a policy's Rego may not
// call: they reach the network or the host, read the clock or draw random
// numbers (decisions must be repeatable), or build unbounded values.
var RegoUnsafeBuiltins = []string{
	"http.send", "net.lookup_ip_addr", "net.cidr_expand", "opa.runtime", "trace",
	"time.now_ns", "rand.intn", "uuid.rfc4122", "uuid.parse",
	"numbers.range", "numbers.range_step", "crypto.x509.parse_and_verify_certificates",
}

// ParseRego parses and compiles a policy's Rego module (Rego v1), refusing
// the built-ins in RegoUnsafeBuiltins. Errors carry OPA's line numbers.
func ParseRego(src string) (*ast.Module, error) {
	if len(src) > MaxRegoBytes {
		return nil, fmt.Errorf("module is %d bytes; the limit is %d", len(src), MaxRegoBytes)
	}
	mod, err := ast.ParseModuleWithOpts("policy.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, err
	}
	if got := mod.Package.Path.String(); got != "data."+RegoPackage {
		return nil, fmt.Errorf("line %d: the module must be `package %s`, not %s", mod.Package.Location.Row, RegoPackage, strings.TrimPrefix(got, "data."))
	}
	unsafe := map[string]struct{}{}
	for _, b := range RegoUnsafeBuiltins {
		unsafe[b] = struct{}{}
	}
	c := ast.NewCompiler().WithUnsafeBuiltins(unsafe)
	if c.Compile(map[string]*ast.Module{"policy.rego": mod}); c.Failed() {
		return nil, c.Errors
	}
	return mod, nil
}

func validateRego(p, src string) []FieldError {
	_, err := ParseRego(src)
	if err == nil {
		return nil
	}
	var errs []FieldError
	if list, ok := err.(ast.Errors); ok {
		for _, e := range list {
			msg := e.Message
			if e.Location != nil {
				msg = fmt.Sprintf("line %d: %s", e.Location.Row, msg)
			}
			errs = append(errs, FieldError{Path: p, Msg: "rego: " + msg})
		}
		return errs
	}
	return []FieldError{{Path: p, Msg: "rego: " + err.Error()}}
}

// rowFilterWords are words a row filter may not use outside quotes: they
// would make it more than one expression over the dataset's own row.
var rowFilterWords = map[string]bool{
	"select": true, "from": true, "with": true, "union": true, "except": true, "intersect": true,
	"join": true, "table": true, "values": true, "pivot": true, "unpivot": true, "into": true,
	"order": true, "limit": true, "offset": false, "group": true, "having": true, "window": true,
	"qualify": true, "returning": true,
}

// RowFilterVars are the substitutions a row filter may use.
var RowFilterVars = []string{"subject.name", "subject.did", "subject.org", "subject.purpose", "subject.roles", "subject.groups"}

// MaxRowFilterBytes bounds a row filter's length.
const MaxRowFilterBytes = 4096

// ScanRowFilter checks that pred is one SQL expression in the shape row
// filters may have, and returns it with every ${subject.x} replaced by
// vars[x] (already SQL literals). With vars nil, placeholders are only
// checked. It refuses ';', comments, $-quoting, unbalanced quotes or
// brackets, and words that start a subquery or another clause. The
// engine checks the expanded predicate again with DuckDB's parser before
// a view uses it.
func ScanRowFilter(pred string, vars map[string]string) (string, error) {
	if strings.TrimSpace(pred) == "" {
		return "", fmt.Errorf("empty row filter")
	}
	if len(pred) > MaxRowFilterBytes {
		return "", fmt.Errorf("row filter is %d bytes; the limit is %d", len(pred), MaxRowFilterBytes)
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(pred); {
		c := pred[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(pred); j++ {
				if pred[j] == c {
					if j+1 < len(pred) && pred[j+1] == c {
						j++
						continue
					}
					break
				}
			}
			if j >= len(pred) {
				return "", fmt.Errorf("unterminated %c quote at byte %d", c, i)
			}
			b.WriteString(pred[i : j+1])
			i = j + 1
		case strings.HasPrefix(pred[i:], "${"):
			end := strings.IndexByte(pred[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ at byte %d", i)
			}
			name := pred[i+2 : i+end]
			if !slices.Contains(RowFilterVars, name) {
				return "", fmt.Errorf("unknown substitution ${%s}: want one of ${%s}", name, strings.Join(RowFilterVars, "}, ${"))
			}
			if vars != nil {
				v, ok := vars[name]
				if !ok {
					return "", fmt.Errorf("no value for ${%s}", name)
				}
				b.WriteString(v)
			} else {
				b.WriteString("NULL")
			}
			i += end + 1
		case c == ';':
			return "", fmt.Errorf("a row filter is one expression: ';' at byte %d", i)
		case c == '$':
			return "", fmt.Errorf("'$' at byte %d: only ${subject.…} substitutions are allowed", i)
		case strings.HasPrefix(pred[i:], "--") || strings.HasPrefix(pred[i:], "/*"):
			return "", fmt.Errorf("comments are not allowed in a row filter (byte %d)", i)
		case c == '(' || c == '[' || c == '{':
			depth++
			b.WriteByte(c)
			i++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth < 0 {
				return "", fmt.Errorf("unbalanced %c at byte %d", c, i)
			}
			b.WriteByte(c)
			i++
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(pred) && (pred[j] == '_' || pred[j] >= 'a' && pred[j] <= 'z' || pred[j] >= 'A' && pred[j] <= 'Z' || pred[j] >= '0' && pred[j] <= '9') {
				j++
			}
			if w := strings.ToLower(pred[i:j]); rowFilterWords[w] {
				return "", fmt.Errorf("%s at byte %d: a row filter is one expression over the dataset's own columns, without subqueries", strings.ToUpper(w), i)
			}
			b.WriteString(pred[i:j])
			i = j
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return "", fmt.Errorf("control character at byte %d", i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	if depth != 0 {
		return "", fmt.Errorf("unbalanced brackets")
	}
	return b.String(), nil
}
