package engine

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

// ErrNotSupported is returned for ODF features this engine does not implement.
var ErrNotSupported = fmt.Errorf("not supported")

// ReadFiles loads prepared files into a new table `table` as step says.
// A value that does not fit its column is an error naming the file, the
// line (CSV and NDJSON) and the column.
func (e *Engine) ReadFiles(ctx context.Context, table string, step odf.ReadStep, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("engine: read: no files")
	}
	var err error
	switch s := step.(type) {
	case odf.ReadStepCsv:
		err = e.readCSV(ctx, table, s, files)
	case *odf.ReadStepCsv:
		err = e.readCSV(ctx, table, *s, files)
	case odf.ReadStepNdJSON:
		err = e.readJSON(ctx, table, files, "newline_delimited", "", s.Schema, s.DDLSchema, s.DateFormat, s.TimestampFormat)
	case *odf.ReadStepNdJSON:
		err = e.readJSON(ctx, table, files, "newline_delimited", "", s.Schema, s.DDLSchema, s.DateFormat, s.TimestampFormat)
	case odf.ReadStepJSON:
		err = e.readJSON(ctx, table, files, "array", deref(s.SubPath), s.Schema, s.DDLSchema, s.DateFormat, s.TimestampFormat)
	case *odf.ReadStepJSON:
		err = e.readJSON(ctx, table, files, "array", deref(s.SubPath), s.Schema, s.DDLSchema, s.DateFormat, s.TimestampFormat)
	case odf.ReadStepParquet:
		err = e.readParquet(ctx, table, files, s.Schema, s.DDLSchema)
	case *odf.ReadStepParquet:
		err = e.readParquet(ctx, table, files, s.Schema, s.DDLSchema)
	case odf.ReadStepGeoJSON:
		err = e.readGeoJSON(ctx, table, files, false, s.Schema, s.DDLSchema)
	case *odf.ReadStepGeoJSON:
		err = e.readGeoJSON(ctx, table, files, false, s.Schema, s.DDLSchema)
	case odf.ReadStepNdGeoJSON:
		err = e.readGeoJSON(ctx, table, files, true, s.Schema, s.DDLSchema)
	case *odf.ReadStepNdGeoJSON:
		err = e.readGeoJSON(ctx, table, files, true, s.Schema, s.DDLSchema)
	case odf.ReadStepEsriShapefile, *odf.ReadStepEsriShapefile:
		return fmt.Errorf("engine: read EsriShapefile: %w (convert to GeoJSON in a prepare step)", ErrNotSupported)
	default:
		return fmt.Errorf("engine: read step %T: %w", step, ErrNotSupported)
	}
	if err != nil {
		e.drop(table)
		if ctx.Err() != nil {
			return fmt.Errorf("engine: read: %w", ctx.Err())
		}
		return fmt.Errorf("engine: read: %w", err)
	}
	return nil
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// declaredColumns returns the columns the step declares, from schema or
// the legacy ddlSchema; nil when neither is set.
func declaredColumns(schema *odf.DataSchema, ddl []string) ([]column, error) {
	if schema != nil && len(schema.Fields) > 0 {
		return schemaColumns(schema)
	}
	if len(ddl) > 0 {
		return ddlColumns(ddl)
	}
	return nil, nil
}

func structLit(cols []column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteLit(c.Name) + ": " + quoteLit(c.Type)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// javaFormat converts a Java/Spark date pattern (yyyy-MM-dd HH:mm:ss.SSS)
// to strftime; a pattern that already has % directives is kept.
func javaFormat(f string) string {
	if strings.Contains(f, "%") {
		return f
	}
	repl := []struct{ from, to string }{
		{"yyyy", "%Y"}, {"yy", "%y"}, {"MMMM", "%B"}, {"MMM", "%b"}, {"MM", "%m"}, {"dd", "%d"},
		{"HH", "%H"}, {"hh", "%I"}, {"mm", "%M"}, {"ss", "%S"}, {"SSSSSSSSS", "%n"}, {"SSSSSS", "%f"},
		{"SSS", "%g"}, {"XXX", "%z"}, {"xxx", "%z"}, {"Z", "%z"}, {"a", "%p"}, {"EEE", "%a"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		if f[i] == '\'' {
			j := strings.IndexByte(f[i+1:], '\'')
			if j < 0 {
				b.WriteString(f[i+1:])
				break
			}
			b.WriteString(f[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, r := range repl {
			if strings.HasPrefix(f[i:], r.from) {
				b.WriteString(r.to)
				i += len(r.from)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(f[i])
			i++
		}
	}
	return b.String()
}

func (e *Engine) readCSV(ctx context.Context, table string, s odf.ReadStepCsv, files []string) error {
	cols, err := declaredColumns(s.Schema, s.DDLSchema)
	if err != nil {
		return err
	}
	opts := []string{"header=" + strconv.FormatBool(deref(s.Header))}
	sep := ","
	if s.Separator != nil && *s.Separator != "" {
		sep = *s.Separator
	}
	opts = append(opts, "delim="+quoteLit(sep))
	quote := `"`
	if s.Quote != nil && *s.Quote != "" {
		quote = *s.Quote
	}
	opts = append(opts, "quote="+quoteLit(quote))
	if s.Escape != nil && *s.Escape != "" {
		opts = append(opts, "escape="+quoteLit(*s.Escape))
	} else {
		opts = append(opts, "escape="+quoteLit(quote))
	}
	if s.NullValue != nil {
		opts = append(opts, "nullstr="+quoteLit(*s.NullValue))
	}
	if s.DateFormat != nil && *s.DateFormat != "" {
		opts = append(opts, "dateformat="+quoteLit(javaFormat(*s.DateFormat)))
	}
	if s.TimestampFormat != nil && *s.TimestampFormat != "" {
		opts = append(opts, "timestampformat="+quoteLit(javaFormat(*s.TimestampFormat)))
	}
	if s.Encoding != nil && *s.Encoding != "" {
		enc := strings.ToLower(strings.ReplaceAll(*s.Encoding, "_", "-"))
		switch enc {
		case "utf-8", "utf8":
			enc = "utf-8"
		case "utf-16", "utf16", "utf-16le":
			enc = "utf-16"
		case "latin-1", "latin1", "iso-8859-1":
			enc = "latin-1"
		default:
			return fmt.Errorf("csv encoding %q: %w (use utf-8, utf-16 or latin-1)", *s.Encoding, ErrNotSupported)
		}
		opts = append(opts, "encoding="+quoteLit(enc))
	}
	opts = append(opts, "strict_mode=true", "parallel=true")
	switch {
	case cols != nil:
		opts = append(opts, "auto_detect=false", "columns="+structLit(cols))
	case deref(s.InferSchema):
		opts = append(opts, "auto_detect=true")
	default:
		// ODF's inferSchema defaults to false: every column is a string.
		opts = append(opts, "all_varchar=true")
	}
	q := fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM read_csv(%s, %s)", quoteIdent(table), listLit(files), strings.Join(opts, ", "))
	if err := e.exec(ctx, q); err != nil {
		return csvError(err)
	}
	return nil
}

var (
	reCSVLine   = regexp.MustCompile(`CSV Error on Line: (\d+)`)
	reCSVColumn = regexp.MustCompile(`converting column "((?:[^"]|"")*)"`)
	reCSVFile   = regexp.MustCompile(`(?m)^\s*file = (.*)$`)
	reCSVWhat   = regexp.MustCompile(`(?m)^(Error when converting column.*|Could not convert.*|Expected Number of Columns.*|Value with unterminated quote.*|Invalid unicode.*)$`)
)

// ReadError is a value that does not fit its column.
type ReadError struct {
	File   string
	Line   int64 // 1-based line in the file; 0 when unknown
	Column string
	Msg    string
}

func (e *ReadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// csvError turns DuckDB's multi-line CSV error into a ReadError naming
// file, line and column when the message carries them.
func csvError(err error) error {
	msg := err.Error()
	m := reCSVLine.FindStringSubmatch(msg)
	f := reCSVFile.FindStringSubmatch(msg)
	if m == nil || f == nil {
		return err
	}
	line, _ := strconv.ParseInt(m[1], 10, 64)
	re := &ReadError{File: strings.TrimSpace(f[1]), Line: line}
	if c := reCSVColumn.FindStringSubmatch(msg); c != nil {
		re.Column = strings.ReplaceAll(c[1], `""`, `"`)
	}
	if w := reCSVWhat.FindStringSubmatch(msg); w != nil {
		re.Msg = strings.TrimSpace(w[1])
	} else {
		re.Msg = strings.SplitN(msg, "\n", 2)[0]
	}
	return re
}

var reJSONLine = regexp.MustCompile(`in file "([^"]*)", in (?:line|record/value) (\d+): (.*)`)

func (e *Engine) readJSON(ctx context.Context, table string, files []string, format, subPath string, schema *odf.DataSchema, ddl []string, dateFmt, tsFmt *string) error {
	cols, err := declaredColumns(schema, ddl)
	if err != nil {
		return err
	}
	var fmts []string
	if dateFmt != nil && *dateFmt != "" {
		fmts = append(fmts, "dateformat="+quoteLit(javaFormat(*dateFmt)))
	}
	if tsFmt != nil && *tsFmt != "" {
		fmts = append(fmts, "timestampformat="+quoteLit(javaFormat(*tsFmt)))
	}
	if subPath != "" {
		return e.readJSONSubPath(ctx, table, files, subPath, cols, fmts)
	}
	opts := append([]string{"format=" + quoteLit(format), "maximum_object_size=268435456"}, fmts...)
	if cols != nil {
		opts = append(opts, "columns="+structLit(cols))
	}
	q := fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM read_json(%s, %s)", quoteIdent(table), listLit(files), strings.Join(opts, ", "))
	err = e.exec(ctx, q)
	if err == nil || cols == nil || ctx.Err() != nil {
		return err
	}
	// Find the offending file, record and column.
	if re := e.diagnoseJSON(ctx, files, format, cols, fmts); re != nil {
		return re
	}
	if m := reJSONLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.ParseInt(m[2], 10, 64)
		return &ReadError{File: m[1], Line: line, Msg: m[3]}
	}
	return err
}

// diagnoseJSON reads each file with every declared column as JSON and
// reports the first value that does not cast to its declared type.
func (e *Engine) diagnoseJSON(ctx context.Context, files []string, format string, cols []column, fmts []string) *ReadError {
	raw := make([]column, len(cols))
	for i, c := range cols {
		raw[i] = column{c.Name, "JSON"}
	}
	for _, f := range files {
		tmp := e.tempName("diag")
		q := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT * FROM read_json(%s, format=%s, maximum_object_size=268435456, columns=%s)",
			quoteIdent(tmp), quoteLit(f), quoteLit(format), structLit(raw))
		if err := e.exec(ctx, q); err != nil {
			if m := reJSONLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ := strconv.ParseInt(m[2], 10, 64)
				return &ReadError{File: f, Line: line, Msg: m[3]}
			}
			return &ReadError{File: f, Msg: firstLine(err.Error())}
		}
		re := e.findBadValue(ctx, tmp, f, cols, format == "newline_delimited")
		e.drop(tmp)
		if re != nil {
			return re
		}
	}
	return nil
}

// findBadValue looks for the first value of table tmp (JSON columns) that
// does not cast to the declared type.
func (e *Engine) findBadValue(ctx context.Context, tmp, file string, cols []column, lines bool) *ReadError {
	for _, c := range cols {
		v := quoteIdent(c.Name)
		conv := fmt.Sprintf("TRY_CAST(%s AS %s)", v, c.Type)
		if c.Type == "VARCHAR" {
			continue
		}
		q := fmt.Sprintf("SELECT rowid + 1, CAST(%s AS VARCHAR) FROM %s WHERE %s IS NOT NULL AND json_type(%s) <> 'NULL' AND %s IS NULL ORDER BY rowid LIMIT 1",
			v, quoteIdent(tmp), v, v, conv)
		var n int64
		var val string
		if err := e.conn.QueryRowContext(ctx, q).Scan(&n, &val); err != nil {
			continue
		}
		re := &ReadError{File: file, Column: c.Name, Msg: fmt.Sprintf("value %s does not fit type %s", val, c.Type)}
		if lines {
			re.Line = n
		} else {
			re.Msg = fmt.Sprintf("record %d: %s", n, re.Msg)
		}
		return re
	}
	return nil
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func (e *Engine) readJSONSubPath(ctx context.Context, table string, files []string, subPath string, cols []column, fmts []string) error {
	path := "$"
	for _, p := range strings.Split(subPath, ".") {
		path += "." + quoteJSONKey(p)
	}
	// Each file holds one document; the array at path becomes rows.
	raw := e.tempName("json")
	defer e.drop(raw)
	q := fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT unnest(CAST(json_extract(j, %s) AS JSON[])) AS r
FROM (SELECT json AS j FROM read_json_objects(%s, format='auto', maximum_object_size=268435456))`, quoteIdent(raw), quoteLit(path), listLit(files))
	if err := e.exec(ctx, q); err != nil {
		return fmt.Errorf("json subPath %q: %w", subPath, err)
	}
	var structure string
	if cols != nil {
		structure = "{" + strings.Join(jsonStructure(cols), ", ") + "}"
	} else {
		if err := e.scalar(ctx, fmt.Sprintf("SELECT CAST(json_group_structure(r) AS VARCHAR) FROM %s", quoteIdent(raw)), &structure); err != nil {
			return fmt.Errorf("json subPath %q: %w", subPath, err)
		}
	}
	file := strings.Join(files, ", ")
	if cols != nil {
		if re := e.checkJSONValues(ctx, raw, "r", file, cols); re != nil {
			return re
		}
	}
	q = fmt.Sprintf("CREATE TABLE %s AS SELECT unnest(json_transform(r, %s)) FROM %s ORDER BY rowid", quoteIdent(table), quoteLit(structure), quoteIdent(raw))
	if err := e.exec(ctx, q); err != nil {
		return &ReadError{File: file, Msg: fmt.Sprintf("subPath %q: %s", subPath, firstLine(err.Error()))}
	}
	return nil
}

// checkJSONValues reports the first member of the JSON objects in column
// obj of table raw that does not cast to its declared column type.
func (e *Engine) checkJSONValues(ctx context.Context, raw, obj, file string, cols []column) *ReadError {
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = fmt.Sprintf("json_extract(%s, %s) AS %s", quoteIdent(obj), quoteLit("$."+quoteJSONKey(c.Name)), quoteIdent(c.Name))
	}
	tmp := e.tempName("chk")
	defer e.drop(tmp)
	if err := e.exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT %s FROM %s ORDER BY rowid", quoteIdent(tmp), strings.Join(sel, ", "), quoteIdent(raw))); err != nil {
		return &ReadError{File: file, Msg: firstLine(err.Error())}
	}
	return e.findBadValue(ctx, tmp, file, cols, false)
}

func jsonStructure(cols []column) []string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		k, _ := jsonString(c.Name)
		t, _ := jsonString(c.Type)
		parts[i] = k + ": " + t
	}
	return parts
}

func jsonString(s string) (string, error) {
	return strconv.Quote(s), nil
}

func quoteJSONKey(k string) string {
	return `"` + strings.ReplaceAll(k, `"`, `\"`) + `"`
}

func (e *Engine) readParquet(ctx context.Context, table string, files []string, schema *odf.DataSchema, ddl []string) error {
	cols, err := declaredColumns(schema, ddl)
	if err != nil {
		return err
	}
	src := fmt.Sprintf("read_parquet(%s)", listLit(files))
	if cols == nil {
		return e.exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s", quoteIdent(table), src))
	}
	return e.castInto(ctx, table, src, cols, strings.Join(files, ", "))
}

// castInto creates table from src, casting the declared columns; on a bad
// value it names the column and the row.
func (e *Engine) castInto(ctx context.Context, table, src string, cols []column, file string) error {
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), c.Type, quoteIdent(c.Name))
	}
	err := e.exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s", quoteIdent(table), strings.Join(sel, ", "), src))
	if err == nil || ctx.Err() != nil {
		return err
	}
	for _, c := range cols {
		v := quoteIdent(c.Name)
		q := fmt.Sprintf("SELECT n, CAST(v AS VARCHAR) FROM (SELECT row_number() OVER () AS n, %s AS v FROM %s) WHERE v IS NOT NULL AND TRY_CAST(v AS %s) IS NULL LIMIT 1", v, src, c.Type)
		var n int64
		var val string
		if qerr := e.conn.QueryRowContext(ctx, q).Scan(&n, &val); qerr == nil {
			return &ReadError{File: file, Column: c.Name, Msg: fmt.Sprintf("record %d: value %q does not fit type %s", n, val, c.Type)}
		}
	}
	return &ReadError{File: file, Msg: firstLine(err.Error())}
}

func (e *Engine) readGeoJSON(ctx context.Context, table string, files []string, nd bool, schema *odf.DataSchema, ddl []string) error {
	cols, err := declaredColumns(schema, ddl)
	if err != nil {
		return err
	}
	raw := e.tempName("geo")
	defer e.drop(raw)
	var q string
	if nd {
		q = fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT properties AS p, geometry AS g
FROM read_json(%s, format='newline_delimited', maximum_object_size=268435456, columns={'properties': 'JSON', 'geometry': 'JSON'})`, quoteIdent(raw), listLit(files))
	} else {
		q = fmt.Sprintf(`CREATE TEMP TABLE %s AS SELECT json_extract(f, '$.properties') AS p, json_extract(f, '$.geometry') AS g
FROM (SELECT unnest(CAST(json_extract(json, '$.features') AS JSON[])) AS f FROM read_json_objects(%s, format='auto', maximum_object_size=268435456))`, quoteIdent(raw), listLit(files))
	}
	if err := e.exec(ctx, q); err != nil {
		return &ReadError{File: strings.Join(files, ", "), Msg: firstLine(err.Error())}
	}
	var structure string
	if cols != nil {
		var props []column
		for _, c := range cols {
			if c.Name != "geometry" {
				props = append(props, c)
			}
		}
		structure = "{" + strings.Join(jsonStructure(props), ", ") + "}"
	} else {
		var s *string
		if err := e.scalar(ctx, fmt.Sprintf("SELECT CAST(json_group_structure(p) AS VARCHAR) FROM %s WHERE json_type(p) = 'OBJECT'", quoteIdent(raw)), &s); err != nil {
			return err
		}
		if s == nil || *s == "" || *s == "null" {
			structure = ""
		} else {
			structure = *s
		}
	}
	if cols != nil {
		var props []column
		for _, c := range cols {
			if c.Name != "geometry" {
				props = append(props, c)
			}
		}
		if re := e.checkJSONValues(ctx, raw, "p", strings.Join(files, ", "), props); re != nil {
			return re
		}
	}
	sel := "CAST(g AS VARCHAR) AS geometry"
	if structure != "" && structure != "{}" {
		sel = fmt.Sprintf("unnest(json_transform(p, %s)), %s", quoteLit(structure), sel)
	}
	q = fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s ORDER BY rowid", quoteIdent(table), sel, quoteIdent(raw))
	if err := e.exec(ctx, q); err != nil {
		return &ReadError{File: strings.Join(files, ", "), Msg: firstLine(err.Error())}
	}
	return nil
}
