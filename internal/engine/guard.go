package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Policy enforcement happens inside the views a session reads (package
// query): a view's SELECT list masks columns and its WHERE filters rows,
// so every query over it, however it joins, nests or repeats it, sees only
// what the view shows. Two things could still reach the data files behind
// the views, since the sandbox must allow reading them: a table function
// or replacement scan naming a file (read_parquet('…/data/f1620…'),
// FROM 'file'), and SQL run from a string (query('…')). Refs finds what a
// statement reads, from DuckDB's own parse tree (json_serialize_sql), so
// the caller can refuse anything but its views before the statement runs.

// QueryRefs is what one statement reads.
type QueryRefs struct {
	// Tables are the tables and views named, except references to a CTE
	// in scope.
	Tables []TableRef
	// TableFunctions are the table functions called (read_parquet, range).
	TableFunctions []string
	// Functions are the scalar and aggregate functions called.
	Functions []string
	// Shows are the SHOW targets without a query (SHOW TABLES: "tables").
	Shows []string
	// TimeTravel is set when a table reference has an AT clause.
	TimeTravel bool
}

// TableRef is a table or view a statement names.
type TableRef struct {
	Catalog, Schema, Name string
}

// String prints the reference as written, dotted.
func (t TableRef) String() string {
	var parts []string
	for _, p := range []string{t.Catalog, t.Schema, t.Name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// ErrNotQuery is wrapped (with ErrRefused) by Refs's error for a
// statement that is not a query.
var ErrNotQuery = errors.New("not a query")

var explainRE = regexp.MustCompile(`(?is)^\s*explain(\s+analyze)?\s+`)

// Refs parses one statement with DuckDB's parser and returns what it
// reads. EXPLAIN [ANALYZE] is looked through. A statement DuckDB cannot
// serialise (anything but a query) is refused with ErrRefused.
func (e *Engine) Refs(ctx context.Context, sql string) (*QueryRefs, error) {
	if loc := explainRE.FindStringIndex(sql); loc != nil {
		sql = sql[loc[1]:]
	}
	stmts, err := e.serialize(ctx, sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("%w: %d statements in one query; run them one at a time", ErrRefused, len(stmts))
	}
	refs := &QueryRefs{}
	walkTree(stmts[0], nil, refs)
	return refs, nil
}

// serialize returns the statements of json_serialize_sql's answer.
func (e *Engine) serialize(ctx context.Context, sql string) ([]any, error) {
	var raw string
	if err := e.scalar(ctx, "SELECT CAST(json_serialize_sql("+quoteLit(sql)+") AS VARCHAR)", &raw); err != nil {
		return nil, fmt.Errorf("engine: parse: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var out struct {
		Error        bool   `json:"error"`
		ErrorType    string `json:"error_type"`
		ErrorMessage string `json:"error_message"`
		Statements   []any  `json:"statements"`
	}
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("engine: parse: %w", err)
	}
	if out.Error {
		if out.ErrorType == "not implemented" {
			return nil, fmt.Errorf("%w: %w: only queries (SELECT, EXPLAIN SELECT, DESCRIBE, SHOW TABLES, SUMMARIZE) run here", ErrRefused, ErrNotQuery)
		}
		return nil, fmt.Errorf("engine: %s", out.ErrorMessage)
	}
	return out.Statements, nil
}

// walkTree collects refs from a serialised statement. ctes are the CTE
// names in scope: a CTE is visible in the node that defines it and
// everything nested in it.
func walkTree(v any, ctes map[string]bool, refs *QueryRefs) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkTree(e, ctes, refs)
		}
	case map[string]any:
		if cm, ok := x["cte_map"].(map[string]any); ok {
			if list, ok := cm["map"].([]any); ok && len(list) > 0 {
				scope := map[string]bool{}
				for k := range ctes {
					scope[k] = true
				}
				for _, e := range list {
					if kv, ok := e.(map[string]any); ok {
						if k, ok := kv["key"].(string); ok {
							scope[strings.ToLower(k)] = true
						}
					}
				}
				ctes = scope
			}
		}
		typ, _ := x["type"].(string)
		class, _ := x["class"].(string)
		switch {
		case typ == "BASE_TABLE":
			t := TableRef{str(x["catalog_name"]), str(x["schema_name"]), str(x["table_name"])}
			if x["at_clause"] != nil {
				refs.TimeTravel = true
			}
			if !(t.Catalog == "" && t.Schema == "" && ctes[strings.ToLower(t.Name)]) {
				refs.Tables = append(refs.Tables, t)
			}
		case typ == "TABLE_FUNCTION":
			if f, ok := x["function"].(map[string]any); ok {
				refs.TableFunctions = append(refs.TableFunctions, strings.ToLower(str(f["function_name"])))
				walkTree(f["children"], ctes, refs)
			} else {
				refs.TableFunctions = append(refs.TableFunctions, "?")
			}
			for k, e := range x {
				if k != "function" {
					walkTree(e, ctes, refs)
				}
			}
			return
		case typ == "SHOW_REF" && x["query"] == nil:
			refs.Shows = append(refs.Shows, strings.ToLower(strings.Trim(str(x["table_name"]), `"`)))
		case class == "FUNCTION" || class == "AGGREGATE" || class == "WINDOW":
			if n := str(x["function_name"]); n != "" {
				refs.Functions = append(refs.Functions, strings.ToLower(n))
			}
		}
		for _, e := range x {
			walkTree(e, ctes, refs)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// filterProbe is the table a predicate is checked against.
const filterProbe = "__ipos_filter_probe"

// CheckPredicate checks with DuckDB's parser that pred is one boolean
// expression over a row: no subquery, table, table function or window,
// nothing after it. It returns the functions it calls, for the caller to
// vet. The columns it names are checked when a view uses it.
func (e *Engine) CheckPredicate(ctx context.Context, pred string) ([]string, error) {
	stmts, err := e.serialize(ctx, "SELECT * FROM "+filterProbe+" WHERE ("+pred+")")
	if err != nil {
		return nil, fmt.Errorf("row filter %q: %w", pred, err)
	}
	bad := func(why string) error { return fmt.Errorf("%w: row filter %q: %s", ErrRefused, pred, why) }
	if len(stmts) != 1 {
		return nil, bad("more than one statement")
	}
	st, _ := stmts[0].(map[string]any)
	node, _ := st["node"].(map[string]any)
	if node == nil || str(node["type"]) != "SELECT_NODE" {
		return nil, bad("not one expression")
	}
	from, _ := node["from_table"].(map[string]any)
	if from == nil || str(from["type"]) != "BASE_TABLE" || str(from["table_name"]) != filterProbe {
		return nil, bad("not one expression")
	}
	for _, k := range []string{"modifiers", "group_expressions", "group_sets"} {
		if l, _ := node[k].([]any); len(l) > 0 {
			return nil, bad("not one expression")
		}
	}
	if cm, _ := node["cte_map"].(map[string]any); cm != nil {
		if l, _ := cm["map"].([]any); len(l) > 0 {
			return nil, bad("not one expression")
		}
	}
	for _, k := range []string{"having", "qualify", "sample"} {
		if node[k] != nil {
			return nil, bad("not one expression")
		}
	}
	if sl, _ := node["select_list"].([]any); len(sl) != 1 {
		return nil, bad("not one expression")
	}
	var funcs []string
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			switch str(x["class"]) {
			case "SUBQUERY":
				return bad("subqueries are not allowed")
			case "WINDOW":
				return bad("window functions are not allowed")
			case "FUNCTION", "AGGREGATE":
				funcs = append(funcs, strings.ToLower(str(x["function_name"])))
			}
			if t := str(x["type"]); t == "BASE_TABLE" || t == "TABLE_FUNCTION" || t == "SUBQUERY" {
				return bad("tables are not allowed")
			}
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(node["where_clause"]); err != nil {
		return nil, err
	}
	return funcs, nil
}

// ViewPolicy is what a view shows of its rows: per column (by name as
// the files have it) an expression shown instead of the value, and
// predicates every row shown satisfies. Both are SQL over the columns.
type ViewPolicy struct {
	Masks   map[string]string
	Filters []string
}

// CreatePolicyView creates a view named name over the Parquet files (or,
// with no files, over no rows with the columns of schema) that shows the
// columns through p.Masks, in their order, and only the rows p.Filters
// keep. It returns the view's columns. The caller checks the filters
// (CheckPredicate) first; a mask or filter that does not fit the columns
// is an error here, and no view is left behind.
func (e *Engine) CreatePolicyView(ctx context.Context, name string, files []string, schema *odf.DataSchema, p ViewPolicy) ([]Column, error) {
	var src string
	switch {
	case len(files) > 0:
		src = "read_parquet(" + listLit(files) + ")"
	case schema != nil:
		cols, err := schemaColumns(schema)
		if err != nil {
			return nil, fmt.Errorf("engine: view %s: %w", name, err)
		}
		if len(cols) == 0 {
			return nil, fmt.Errorf("engine: view %s: the schema has no columns", name)
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, quoteIdent(c.Name))
		}
		src = "(SELECT " + strings.Join(sel, ", ") + " WHERE false)"
	default:
		return nil, fmt.Errorf("engine: view %s: no files and no schema", name)
	}
	base, err := e.describe(ctx, "SELECT * FROM "+src)
	if err != nil {
		return nil, fmt.Errorf("engine: view %s: %w", name, err)
	}
	sel := make([]string, len(base))
	for i, c := range base {
		expr := quoteIdent(c.Name)
		for col, m := range p.Masks {
			if strings.EqualFold(col, c.Name) {
				expr = m
			}
		}
		sel[i] = expr + " AS " + quoteIdent(c.Name)
	}
	q := "CREATE OR REPLACE VIEW " + quoteIdent(name) + " AS SELECT " + strings.Join(sel, ", ") + " FROM " + src + " AS __src"
	if len(p.Filters) > 0 {
		conds := make([]string, len(p.Filters))
		for i, f := range p.Filters {
			conds[i] = "(" + f + ")"
		}
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	if err := e.exec(ctx, q); err != nil {
		return nil, fmt.Errorf("engine: view %s: %w", name, err)
	}
	// Binding happens on use: describe it now so that a mask or filter
	// that does not fit fails here, not in the user's query.
	cols, err := e.describe(ctx, quoteIdent(name))
	if err == nil {
		_, err = e.Query(ctx, "SELECT 1 FROM "+quoteIdent(name)+" WHERE false")
	}
	if err != nil {
		e.dropView(name)
		return nil, fmt.Errorf("engine: view %s: %w", name, err)
	}
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column(c)
	}
	return out, nil
}
