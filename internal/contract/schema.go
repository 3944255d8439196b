package contract

import (
	"fmt"

	"github.com/ipos-dev/ipos/internal/odf"
)

// LogicalType maps an ODF data type to an ODCS logical type: string,
// integer, number, boolean, date, timestamp, time, object or array; ""
// for types with no counterpart (binary, duration, null).
func LogicalType(t odf.DataType) string {
	switch t := t.(type) {
	case odf.DataTypeOption:
		return LogicalType(t.Inner)
	case odf.DataTypeString:
		return "string"
	case odf.DataTypeInt8, odf.DataTypeInt16, odf.DataTypeInt32, odf.DataTypeInt64,
		odf.DataTypeUInt8, odf.DataTypeUInt16, odf.DataTypeUInt32, odf.DataTypeUInt64:
		return "integer"
	case odf.DataTypeFloat16, odf.DataTypeFloat32, odf.DataTypeFloat64, odf.DataTypeDecimal:
		return "number"
	case odf.DataTypeBool:
		return "boolean"
	case odf.DataTypeDate:
		return "date"
	case odf.DataTypeTimestamp:
		return "timestamp"
	case odf.DataTypeTime:
		return "time"
	case odf.DataTypeList:
		return "array"
	case odf.DataTypeStruct, odf.DataTypeMap:
		return "object"
	}
	return ""
}

// fits reports whether data of logical type have satisfies a contract
// column of type want: the same type, or integers where numbers are
// promised.
func fits(want, have string) bool {
	return want == "" || want == have || (want == "number" && have == "integer")
}

// CheckSchema compares a dataset's schema with the plan's columns: a
// required (or primary-key) column must be present, and every declared
// column that is present must have a type that fits. A nil schema (no
// data yet) passes. Results are one per column constraint, all of them
// error severity.
func CheckSchema(p *Plan, schema *odf.DataSchema) []Result {
	if schema == nil {
		return nil
	}
	fields := map[string]odf.DataType{}
	for _, f := range schema.Fields {
		fields[f.Name] = f.Type
	}
	var out []Result
	for _, c := range p.Spec.Columns {
		r := Result{
			Contract: p.Name + "@" + p.Version, Rule: "schema(" + c.Name + ")", Metric: "schema", Column: c.Name,
			Scope: ScopeSchema, Severity: SeverityError, Passed: true,
		}
		t, ok := fields[c.Name]
		switch {
		case !ok && (c.Required || c.PrimaryKey):
			r.Passed, r.Expected, r.Message = false, "present", fmt.Sprintf("required column %q is missing from the data", c.Name)
		case !ok:
			r.Expected, r.Message = "present or absent", "optional column absent"
		default:
			have := LogicalType(t)
			r.Expected = "logicalType " + c.LogicalType
			if c.LogicalType == "" {
				r.Expected = "any type"
			}
			if c.Name == p.EventTime && c.LogicalType == "date" && have == "timestamp" {
				have = "date" // the event time of a date source, as ODF stores it
			}
			if !fits(c.LogicalType, have) {
				r.Passed = false
				if have == "" {
					have = fmt.Sprintf("%T", t)
				}
				r.Message = fmt.Sprintf("column %q is %s in the data; the contract says %s", c.Name, have, c.LogicalType)
			}
		}
		out = append(out, r)
	}
	return out
}

// Columns returns the names of the schema's fields.
func Columns(schema *odf.DataSchema) map[string]bool {
	out := map[string]bool{}
	if schema != nil {
		for _, f := range schema.Fields {
			out[f.Name] = true
		}
	}
	return out
}
