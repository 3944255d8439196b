package contract

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/resource"
)

// ODCSVersion is the Open Data Contract Standard version ExportODCS
// writes. ImportODCS reads any v3.
const ODCSVersion = "v3.0.2"

// The subset of ODCS v3 that maps to a Contract. Fields IPOS has no use
// for (servers, team, roles, price, support …) are ignored on import.
type odcsDoc struct {
	APIVersion    string           `yaml:"apiVersion"`
	Kind          string           `yaml:"kind"`
	ID            string           `yaml:"id"`
	Name          string           `yaml:"name,omitempty"`
	Version       string           `yaml:"version"`
	Status        string           `yaml:"status"`
	Description   *odcsDescription `yaml:"description,omitempty"`
	Schema        []odcsObject     `yaml:"schema,omitempty"`
	SLAProperties []odcsSLA        `yaml:"slaProperties,omitempty"`
}

type odcsDescription struct {
	Purpose     string `yaml:"purpose,omitempty"`
	Usage       string `yaml:"usage,omitempty"`
	Limitations string `yaml:"limitations,omitempty"`
}

type odcsObject struct {
	Name         string         `yaml:"name"`
	PhysicalName string         `yaml:"physicalName,omitempty"`
	PhysicalType string         `yaml:"physicalType,omitempty"`
	LogicalType  string         `yaml:"logicalType,omitempty"`
	Description  string         `yaml:"description,omitempty"`
	Properties   []odcsProperty `yaml:"properties,omitempty"`
	Quality      []odcsQuality  `yaml:"quality,omitempty"`
}

type odcsProperty struct {
	Name               string           `yaml:"name"`
	LogicalType        string           `yaml:"logicalType,omitempty"`
	Description        string           `yaml:"description,omitempty"`
	Required           bool             `yaml:"required,omitempty"`
	Unique             bool             `yaml:"unique,omitempty"`
	PrimaryKey         bool             `yaml:"primaryKey,omitempty"`
	PrimaryKeyPosition int              `yaml:"primaryKeyPosition,omitempty"`
	Classification     string           `yaml:"classification,omitempty"`
	LogicalTypeOptions *odcsTypeOptions `yaml:"logicalTypeOptions,omitempty"`
	Quality            []odcsQuality    `yaml:"quality,omitempty"`
}

type odcsTypeOptions struct {
	Pattern string   `yaml:"pattern,omitempty"`
	Minimum *float64 `yaml:"minimum,omitempty"`
	Maximum *float64 `yaml:"maximum,omitempty"`
}

type odcsQuality struct {
	Name                   string         `yaml:"name,omitempty"`
	Description            string         `yaml:"description,omitempty"`
	Type                   string         `yaml:"type,omitempty"`
	Metric                 string         `yaml:"metric,omitempty"`
	Rule                   string         `yaml:"rule,omitempty"` // older v3.0 spelling of metric
	Arguments              *odcsArguments `yaml:"arguments,omitempty"`
	Query                  string         `yaml:"query,omitempty"`
	Unit                   string         `yaml:"unit,omitempty"`
	MustBe                 *float64       `yaml:"mustBe,omitempty"`
	MustNotBe              *float64       `yaml:"mustNotBe,omitempty"`
	MustBeGreaterThan      *float64       `yaml:"mustBeGreaterThan,omitempty"`
	MustBeGreaterOrEqualTo *float64       `yaml:"mustBeGreaterOrEqualTo,omitempty"`
	MustBeLessThan         *float64       `yaml:"mustBeLessThan,omitempty"`
	MustBeLessOrEqualTo    *float64       `yaml:"mustBeLessOrEqualTo,omitempty"`
	MustBeBetween          []float64      `yaml:"mustBeBetween,omitempty,flow"`
	MustNotBeBetween       []float64      `yaml:"mustNotBeBetween,omitempty,flow"`
	Severity               string         `yaml:"severity,omitempty"`
	CustomProperties       []odcsCustom   `yaml:"customProperties,omitempty"`
}

type odcsArguments struct {
	ValidValues []string `yaml:"validValues,omitempty,flow"`
	Pattern     string   `yaml:"pattern,omitempty"`
}

type odcsCustom struct {
	Property string `yaml:"property"`
	Value    string `yaml:"value"`
}

type odcsSLA struct {
	Property string  `yaml:"property"`
	Value    float64 `yaml:"value"`
	Unit     string  `yaml:"unit,omitempty"`
	Element  string  `yaml:"element,omitempty"`
}

// allowedValuesRule names the property-level invalidValues rule that
// carries a column's allowedValues in ODCS, which has no enumeration of
// its own for strings.
const allowedValuesRule = "allowedValues"

// ExportODCS writes the contract name as an ODCS v3 document: one schema
// object (the dataset), its columns as properties, quality rules under
// the property they check or under the object, the SLA as a latency
// property.
func ExportODCS(name string, s *resource.ContractSpec) ([]byte, error) {
	doc := odcsDoc{APIVersion: ODCSVersion, Kind: "DataContract", ID: name, Name: name, Version: s.Version, Status: "active"}
	if s.Description != "" {
		doc.Description = &odcsDescription{Purpose: s.Description}
	}
	obj := odcsObject{Name: s.Dataset, PhysicalName: s.Dataset, PhysicalType: "table", LogicalType: "object"}
	byColumn := map[string]int{}
	pk := 0
	for _, c := range s.Columns {
		p := odcsProperty{Name: c.Name, LogicalType: c.LogicalType, Description: c.Description, Required: c.Required,
			Unique: c.Unique, PrimaryKey: c.PrimaryKey, Classification: c.Classification}
		if c.PrimaryKey {
			pk++
			p.PrimaryKeyPosition = pk
		}
		if c.Pattern != "" || c.Minimum != nil || c.Maximum != nil {
			p.LogicalTypeOptions = &odcsTypeOptions{Pattern: c.Pattern, Minimum: floatPtr(c.Minimum), Maximum: floatPtr(c.Maximum)}
		}
		if len(c.AllowedValues) > 0 {
			zero := 0.0
			p.Quality = append(p.Quality, odcsQuality{Name: allowedValuesRule, Type: "library", Metric: "invalidValues",
				Arguments: &odcsArguments{ValidValues: c.AllowedValues}, MustBe: &zero})
		}
		byColumn[c.Name] = len(obj.Properties)
		obj.Properties = append(obj.Properties, p)
	}
	for _, r := range s.Quality {
		q := odcsQuality{Name: r.Name, Description: r.Description, Type: "library", Metric: r.Metric, Query: r.Query, Unit: r.Unit, Severity: r.Severity,
			MustBe: floatPtr(r.MustBe), MustNotBe: floatPtr(r.MustNotBe),
			MustBeGreaterThan: floatPtr(r.MustBeGreaterThan), MustBeGreaterOrEqualTo: floatPtr(r.MustBeGreaterOrEqualTo),
			MustBeLessThan: floatPtr(r.MustBeLessThan), MustBeLessOrEqualTo: floatPtr(r.MustBeLessOrEqualTo),
			MustBeBetween: floats(r.MustBeBetween), MustNotBeBetween: floats(r.MustNotBeBetween)}
		if r.Query != "" {
			q.Type = "sql"
		}
		if len(r.ValidValues) > 0 || r.Pattern != "" {
			q.Arguments = &odcsArguments{ValidValues: r.ValidValues, Pattern: r.Pattern}
		}
		if r.Scope != "" {
			q.CustomProperties = []odcsCustom{{Property: "scope", Value: r.Scope}}
		}
		if i, ok := byColumn[r.Column]; ok && r.Column != "" {
			obj.Properties[i].Quality = append(obj.Properties[i].Quality, q)
			continue
		}
		if r.Column != "" {
			// A column the contract does not describe: a property of its own.
			byColumn[r.Column] = len(obj.Properties)
			obj.Properties = append(obj.Properties, odcsProperty{Name: r.Column, Quality: []odcsQuality{q}})
			continue
		}
		obj.Quality = append(obj.Quality, q)
	}
	doc.Schema = []odcsObject{obj}
	if s.SLA != nil && s.SLA.Latency != "" {
		d, err := resource.ParseLatency(s.SLA.Latency)
		if err != nil {
			return nil, err
		}
		v, unit := latencyValue(d)
		sla := odcsSLA{Property: "latency", Value: v, Unit: unit}
		if s.SLA.Element != "" {
			sla.Element = s.Dataset + "." + s.SLA.Element
		}
		doc.SLAProperties = []odcsSLA{sla}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ImportODCS reads an ODCS v3 document with one schema object as a
// Contract object. It refuses what it cannot keep (several schema
// objects, custom engine rules, SLA units it does not know) rather than
// dropping it, and checks the result as apply would.
func ImportODCS(source string, data []byte) (*resource.Object, error) {
	var doc odcsDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !strings.HasPrefix(doc.APIVersion, "v3.") {
		bad("apiVersion: %q is not an ODCS v3 version (want v3.x.y)", doc.APIVersion)
	}
	if doc.Kind != "DataContract" {
		bad("kind: %q, want DataContract", doc.Kind)
	}
	if len(doc.Schema) != 1 {
		bad("schema: a Contract binds one dataset; this document has %d schema objects", len(doc.Schema))
	}
	spec := &resource.ContractSpec{Version: doc.Version}
	if doc.Description != nil {
		spec.Description = doc.Description.Purpose
	}
	var objName string
	if len(doc.Schema) == 1 {
		obj := doc.Schema[0]
		objName = obj.Name
		spec.Dataset = obj.PhysicalName
		if spec.Dataset == "" {
			spec.Dataset = obj.Name
		}
		for i, p := range obj.Properties {
			c := resource.ContractColumn{Name: p.Name, LogicalType: p.LogicalType, Description: p.Description, Required: p.Required,
				Unique: p.Unique, PrimaryKey: p.PrimaryKey, Classification: p.Classification}
			if o := p.LogicalTypeOptions; o != nil {
				c.Pattern, c.Minimum, c.Maximum = o.Pattern, numberPtr(o.Minimum), numberPtr(o.Maximum)
			}
			described := p.LogicalType != "" || p.Required || p.Unique || p.PrimaryKey || p.Classification != "" || p.LogicalTypeOptions != nil || p.Description != ""
			for j, q := range p.Quality {
				path := fmt.Sprintf("schema[0].properties[%d].quality[%d]", i, j)
				if q.Name == allowedValuesRule && q.metric() == "invalidValues" && q.Arguments != nil && q.MustBe != nil && *q.MustBe == 0 {
					c.AllowedValues = q.Arguments.ValidValues
					described = true
					continue
				}
				r, ok, err := q.rule(p.Name)
				if err != nil {
					bad("%s: %v", path, err)
				} else if ok {
					spec.Quality = append(spec.Quality, r)
				}
			}
			if described {
				spec.Columns = append(spec.Columns, c)
			}
		}
		for j, q := range obj.Quality {
			r, ok, err := q.rule("")
			if err != nil {
				bad("schema[0].quality[%d]: %v", j, err)
			} else if ok {
				spec.Quality = append(spec.Quality, r)
			}
		}
	}
	for i, s := range doc.SLAProperties {
		if s.Property != "latency" && s.Property != "freshness" {
			continue // availability, retention …: promises IPOS does not check
		}
		lat, err := latencyText(s.Value, s.Unit)
		if err != nil {
			bad("slaProperties[%d]: %v", i, err)
			continue
		}
		spec.SLA = &resource.ContractSLA{Latency: lat}
		if s.Element != "" {
			el := s.Element
			switch {
			case objName != "" && strings.HasPrefix(el, objName+"."):
				el = strings.TrimPrefix(el, objName+".")
			case spec.Dataset != "" && strings.HasPrefix(el, spec.Dataset+"."):
				el = strings.TrimPrefix(el, spec.Dataset+".")
			case strings.Contains(el, "."):
				el = el[strings.LastIndexByte(el, '.')+1:]
			}
			spec.SLA.Element = el
		}
	}
	name := doc.Name
	if resource.ValidateDNSLabel(name) != nil {
		name = doc.ID
	}
	if resource.ValidateDNSLabel(name) != nil {
		name = dnsName(name)
	}
	if name == "" {
		bad("id, name: neither gives a Contract name")
	}
	for _, fe := range spec.Validate() {
		bad("spec.%s: %s", fe.Path, fe.Msg)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: not importable:\n  %s", source, strings.Join(problems, "\n  "))
	}
	return &resource.Object{APIVersion: resource.APIVersion, Kind: "Contract", Metadata: resource.Metadata{Name: name}, Spec: spec}, nil
}

func (q *odcsQuality) metric() string {
	if q.Metric != "" {
		return q.Metric
	}
	return q.Rule
}

// rule converts a quality entry; ok is false for text rules, which are
// documentation.
func (q *odcsQuality) rule(column string) (resource.QualityRule, bool, error) {
	r := resource.QualityRule{Name: q.Name, Description: q.Description, Unit: q.Unit, Severity: q.Severity,
		MustBe: numberPtr(q.MustBe), MustNotBe: numberPtr(q.MustNotBe),
		MustBeGreaterThan: numberPtr(q.MustBeGreaterThan), MustBeGreaterOrEqualTo: numberPtr(q.MustBeGreaterOrEqualTo),
		MustBeLessThan: numberPtr(q.MustBeLessThan), MustBeLessOrEqualTo: numberPtr(q.MustBeLessOrEqualTo),
		MustBeBetween: numbers(q.MustBeBetween), MustNotBeBetween: numbers(q.MustNotBeBetween)}
	switch q.Type {
	case "text":
		return r, false, nil
	case "custom":
		return r, false, errors.New("custom (engine-specific) rules cannot be checked by IPOS; rewrite it as a library metric or an SQL query")
	case "sql":
		r.Query = q.Query
	case "", "library":
		r.Metric = q.metric()
		if r.Metric != "rowCount" {
			r.Column = column
		}
	default:
		return r, false, fmt.Errorf("unknown quality type %q (library, sql, text or custom)", q.Type)
	}
	if q.Arguments != nil {
		r.ValidValues, r.Pattern = q.Arguments.ValidValues, q.Arguments.Pattern
	}
	for _, c := range q.CustomProperties {
		if c.Property == "scope" {
			r.Scope = c.Value
		}
	}
	return r, true, nil
}

func floatPtr(n *resource.Number) *float64 {
	if n == nil {
		return nil
	}
	f := n.Float()
	return &f
}

func floats(ns []resource.Number) []float64 {
	if ns == nil {
		return nil
	}
	out := make([]float64, len(ns))
	for i, n := range ns {
		out[i] = n.Float()
	}
	return out
}

func numberPtr(f *float64) *resource.Number {
	if f == nil {
		return nil
	}
	n := resource.NewNumber(*f)
	return &n
}

func numbers(fs []float64) []resource.Number {
	if fs == nil {
		return nil
	}
	out := make([]resource.Number, len(fs))
	for i, f := range fs {
		out[i] = resource.NewNumber(f)
	}
	return out
}

// latencyValue expresses d in the largest of d, h, m, s that divides it.
func latencyValue(d time.Duration) (float64, string) {
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d%u.d == 0 {
			return float64(d / u.d), u.unit
		}
	}
	return d.Seconds(), "s"
}

var odcsUnits = map[string]string{
	"d": "d", "day": "d", "days": "d",
	"h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"w": "w", "week": "w", "weeks": "w",
}

func latencyText(v float64, unit string) (string, error) {
	u, ok := odcsUnits[strings.ToLower(unit)]
	if !ok {
		return "", fmt.Errorf("latency unit %q: want d, h, m, s or w", unit)
	}
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return "", fmt.Errorf("latency value %v must be positive", v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + u, nil
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes a resource name of an ODCS id: lower case, runs of other
// characters as '-', at most 63 characters.
func dnsName(s string) string {
	s = notDNS.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}
