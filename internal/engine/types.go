package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

// duckType returns the DuckDB type for an ODF logical type. Option is
// transparent: DuckDB columns are always nullable.
func duckType(t odf.DataType) (string, error) {
	switch t := t.(type) {
	case odf.DataTypeString:
		return "VARCHAR", nil
	case odf.DataTypeBool:
		return "BOOLEAN", nil
	case odf.DataTypeInt8:
		return "TINYINT", nil
	case odf.DataTypeInt16:
		return "SMALLINT", nil
	case odf.DataTypeInt32:
		return "INTEGER", nil
	case odf.DataTypeInt64:
		return "BIGINT", nil
	case odf.DataTypeUInt8:
		return "UTINYINT", nil
	case odf.DataTypeUInt16:
		return "USMALLINT", nil
	case odf.DataTypeUInt32:
		return "UINTEGER", nil
	case odf.DataTypeUInt64:
		return "UBIGINT", nil
	case odf.DataTypeFloat16, odf.DataTypeFloat32:
		return "FLOAT", nil
	case odf.DataTypeFloat64:
		return "DOUBLE", nil
	case odf.DataTypeDate:
		return "DATE", nil
	case odf.DataTypeTime:
		return "TIME", nil
	case odf.DataTypeDuration:
		return "INTERVAL", nil
	case odf.DataTypeTimestamp:
		if t.Timezone != nil && *t.Timezone != "" {
			return "TIMESTAMPTZ", nil
		}
		unit := odf.TimeUnitMicrosecond
		if t.Unit != nil {
			unit = *t.Unit
		}
		switch unit {
		case odf.TimeUnitSecond:
			return "TIMESTAMP_S", nil
		case odf.TimeUnitMillisecond:
			return "TIMESTAMP_MS", nil
		case odf.TimeUnitNanosecond:
			return "TIMESTAMP_NS", nil
		default:
			return "TIMESTAMP", nil
		}
	case odf.DataTypeDecimal:
		if t.Precision == 0 || t.Precision > 38 {
			return "", fmt.Errorf("decimal precision %d is outside 1..38", t.Precision)
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case odf.DataTypeBinary:
		return "BLOB", nil
	case odf.DataTypeOption:
		if t.Inner == nil {
			return "", fmt.Errorf("option type without inner type")
		}
		return duckType(t.Inner)
	case odf.DataTypeList:
		inner, err := duckType(t.ItemType)
		if err != nil {
			return "", err
		}
		if t.FixedLength != nil {
			return fmt.Sprintf("%s[%d]", inner, *t.FixedLength), nil
		}
		return inner + "[]", nil
	case odf.DataTypeMap:
		k, err := duckType(t.KeyType)
		if err != nil {
			return "", err
		}
		v, err := duckType(t.ValueType)
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	case odf.DataTypeStruct:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			ft, err := duckType(f.Type)
			if err != nil {
				return "", fmt.Errorf("field %q: %w", f.Name, err)
			}
			parts[i] = quoteIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	case odf.DataTypeNull:
		return "", fmt.Errorf("type Null cannot be read into a column")
	case nil:
		return "", fmt.Errorf("missing type")
	default:
		return "", fmt.Errorf("unsupported data type %T", t)
	}
}

// schemaColumns turns an ODF schema into DuckDB columns.
func schemaColumns(s *odf.DataSchema) ([]column, error) {
	cols := make([]column, 0, len(s.Fields))
	for _, f := range s.Fields {
		t, err := duckType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("schema field %q: %w", f.Name, err)
		}
		cols = append(cols, column{f.Name, t})
	}
	return cols, nil
}

// sparkTypes maps the Spark/Hive DDL type names used by legacy ddlSchema
// entries to DuckDB names; anything else is passed to DuckDB as written.
var sparkTypes = map[string]string{
	"STRING":    "VARCHAR",
	"TEXT":      "VARCHAR",
	"INT":       "INTEGER",
	"INTEGER":   "INTEGER",
	"LONG":      "BIGINT",
	"BIGINT":    "BIGINT",
	"SHORT":     "SMALLINT",
	"SMALLINT":  "SMALLINT",
	"BYTE":      "TINYINT",
	"TINYINT":   "TINYINT",
	"DOUBLE":    "DOUBLE",
	"FLOAT":     "FLOAT",
	"REAL":      "FLOAT",
	"BOOLEAN":   "BOOLEAN",
	"BOOL":      "BOOLEAN",
	"DATE":      "DATE",
	"TIMESTAMP": "TIMESTAMP",
	"BINARY":    "BLOB",
}

// ddlColumns parses legacy DDL entries ("date TIMESTAMP", "city STRING",
// "a: INT", "`x y` DECIMAL(10,2)"); an entry may list several columns
// separated by top-level commas.
func ddlColumns(ddl []string) ([]column, error) {
	var cols []column
	for _, entry := range ddl {
		for _, part := range splitTop(entry, ',') {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, rest, err := ddlName(part)
			if err != nil {
				return nil, fmt.Errorf("ddlSchema %q: %w", entry, err)
			}
			rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
			if rest == "" {
				return nil, fmt.Errorf("ddlSchema %q: column %q has no type", entry, name)
			}
			upper := strings.ToUpper(rest)
			upper = strings.TrimSuffix(upper, " NOT NULL")
			if m, ok := sparkTypes[upper]; ok {
				rest = m
			} else if strings.HasPrefix(upper, "DECIMAL") || strings.HasPrefix(upper, "NUMERIC") {
				rest = upper
			} else if !safeType(rest) {
				return nil, fmt.Errorf("ddlSchema %q: unsupported type %q", entry, rest)
			}
			cols = append(cols, column{name, rest})
		}
	}
	return cols, nil
}

// safeType accepts type expressions that cannot smuggle SQL: letters,
// digits, spaces, parentheses, brackets, commas, underscores and quoted
// field names without semicolons.
func safeType(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(" _(),[]\"<>:", r):
		default:
			return false
		}
	}
	return !strings.Contains(s, "--")
}

func ddlName(s string) (name, rest string, err error) {
	if s[0] == '`' || s[0] == '"' {
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", fmt.Errorf("unterminated quoted name")
		}
		return s[1 : end+1], s[end+2:], nil
	}
	i := strings.IndexAny(s, " \t:")
	if i < 0 {
		return "", "", fmt.Errorf("no type after %q", s)
	}
	return s[:i], s[i:], nil
}

// splitTop splits s at sep outside parentheses, brackets and quotes.
func splitTop(s string, sep byte) []string {
	var parts []string
	depth := 0
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '`' || c == '\'':
			quote = c
		case c == '(' || c == '[' || c == '<':
			depth++
		case c == ')' || c == ']' || c == '>':
			depth--
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// odfType returns the ODF logical type of a DuckDB type name as DESCRIBE
// prints it. It is the inverse of duckType for the types DuckDB writes to
// Parquet; Option is not added here.
func odfType(t string) (odf.DataType, error) {
	t = strings.TrimSpace(t)
	if strings.HasSuffix(t, "]") {
		open := strings.LastIndexByte(t, '[')
		if open < 0 {
			return nil, fmt.Errorf("bad type %q", t)
		}
		inner, err := odfType(t[:open])
		if err != nil {
			return nil, err
		}
		l := odf.DataTypeList{ItemType: odf.DataTypeOption{Inner: inner}}
		if n := t[open+1 : len(t)-1]; n != "" {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad array length in %q", t)
			}
			l.FixedLength = &v
		}
		return l, nil
	}
	upper := strings.ToUpper(t)
	switch {
	case strings.HasPrefix(upper, "STRUCT(") && strings.HasSuffix(t, ")"):
		var fields []odf.DataField
		for _, p := range splitTop(t[len("STRUCT("):len(t)-1], ',') {
			p = strings.TrimSpace(p)
			var name, rest string
			if strings.HasPrefix(p, `"`) {
				end := 1
				for end < len(p) {
					if p[end] == '"' {
						if end+1 < len(p) && p[end+1] == '"' {
							end += 2
							continue
						}
						break
					}
					end++
				}
				name = strings.ReplaceAll(p[1:end], `""`, `"`)
				rest = p[end+1:]
			} else {
				i := strings.IndexByte(p, ' ')
				if i < 0 {
					return nil, fmt.Errorf("bad struct field %q", p)
				}
				name, rest = p[:i], p[i:]
			}
			ft, err := odfType(rest)
			if err != nil {
				return nil, err
			}
			fields = append(fields, odf.DataField{Name: name, Type: odf.DataTypeOption{Inner: ft}})
		}
		return odf.DataTypeStruct{Fields: fields}, nil
	case strings.HasPrefix(upper, "MAP(") && strings.HasSuffix(t, ")"):
		kv := splitTop(t[len("MAP("):len(t)-1], ',')
		if len(kv) != 2 {
			return nil, fmt.Errorf("bad map type %q", t)
		}
		k, err := odfType(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := odfType(kv[1])
		if err != nil {
			return nil, err
		}
		return odf.DataTypeMap{KeyType: k, ValueType: odf.DataTypeOption{Inner: v}}, nil
	case strings.HasPrefix(upper, "DECIMAL(") && strings.HasSuffix(t, ")"):
		ps := strings.Split(t[len("DECIMAL("):len(t)-1], ",")
		if len(ps) != 2 {
			return nil, fmt.Errorf("bad decimal type %q", t)
		}
		p, err1 := strconv.ParseUint(strings.TrimSpace(ps[0]), 10, 32)
		s, err2 := strconv.ParseInt(strings.TrimSpace(ps[1]), 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad decimal type %q", t)
		}
		return odf.DataTypeDecimal{Precision: uint32(p), Scale: int32(s)}, nil
	}
	unit := func(u odf.TimeUnit) *odf.TimeUnit { return &u }
	utc := "UTC"
	switch upper {
	case "VARCHAR", "JSON", "UUID":
		return odf.DataTypeString{}, nil
	case "BOOLEAN":
		return odf.DataTypeBool{}, nil
	case "TINYINT":
		return odf.DataTypeInt8{}, nil
	case "SMALLINT":
		return odf.DataTypeInt16{}, nil
	case "INTEGER":
		return odf.DataTypeInt32{}, nil
	case "BIGINT":
		return odf.DataTypeInt64{}, nil
	case "UTINYINT":
		return odf.DataTypeUInt8{}, nil
	case "USMALLINT":
		return odf.DataTypeUInt16{}, nil
	case "UINTEGER":
		return odf.DataTypeUInt32{}, nil
	case "UBIGINT":
		return odf.DataTypeUInt64{}, nil
	case "HUGEINT", "UHUGEINT":
		// Parquet has no 128-bit integer; DuckDB writes DECIMAL(38,0).
		return odf.DataTypeDecimal{Precision: 38, Scale: 0}, nil
	case "FLOAT":
		return odf.DataTypeFloat32{}, nil
	case "DOUBLE":
		return odf.DataTypeFloat64{}, nil
	case "DATE":
		return odf.DataTypeDate{}, nil
	case "TIME":
		return odf.DataTypeTime{Unit: unit(odf.TimeUnitMicrosecond)}, nil
	case "INTERVAL":
		return odf.DataTypeDuration{Unit: unit(odf.TimeUnitMicrosecond)}, nil
	case "BLOB":
		return odf.DataTypeBinary{}, nil
	case "TIMESTAMP_S":
		return odf.DataTypeTimestamp{Unit: unit(odf.TimeUnitSecond)}, nil
	case "TIMESTAMP_MS":
		return odf.DataTypeTimestamp{Unit: unit(odf.TimeUnitMillisecond)}, nil
	case "TIMESTAMP":
		return odf.DataTypeTimestamp{Unit: unit(odf.TimeUnitMicrosecond)}, nil
	case "TIMESTAMP_NS":
		return odf.DataTypeTimestamp{Unit: unit(odf.TimeUnitNanosecond)}, nil
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		return odf.DataTypeTimestamp{Unit: unit(odf.TimeUnitMicrosecond), Timezone: &utc}, nil
	}
	return nil, fmt.Errorf("DuckDB type %q has no ODF equivalent", t)
}

// isTimestamp reports whether a DuckDB type is a top-level timestamp or
// date, which the merge normalises to UTC milliseconds.
func isTimestamp(t string) bool {
	switch strings.ToUpper(t) {
	case "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		return true
	}
	return false
}
