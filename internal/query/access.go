package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/policy"
)

// ErrDenied is wrapped by errors about a dataset a policy does not let
// the session's subject read.
var ErrDenied = errors.New("access denied")

// Access is who a session acts for and the policies that decide what it
// shows. Every dataset is decided once, when the session opens: a denied
// dataset gets no view; an allowed one gets a view whose SELECT list
// applies the decision's column masks and whose WHERE applies its row
// filters, so nothing a query does over the view reaches the raw values.
type Access struct {
	Subject identity.Subject
	// Action is what is decided for every dataset: policy.ActionQuery for
	// ipos sql, policy.ActionRead for tail and exports.
	Action string
	// Policies decide; nil means no policy, so only owners see data.
	Policies *policy.Engine
	// Object describes a dataset to the policies (its tags and its
	// columns' tags); nil means by name only.
	Object func(name string) policy.Object
	// Audit records the decision behind every dataset a query reads, and
	// every refusal; nil records nothing. A failure to record refuses the
	// query: nothing leaves a dataset unrecorded.
	Audit Recorder
}

// Recorder appends to an audit log; *audit.Log is one.
type Recorder interface {
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

var _ Recorder = (*audit.Log)(nil)

// policyView decides t's dataset and makes its view. It returns the
// files the view reads, none when the dataset is denied.
func (s *Session) policyView(ctx context.Context, t *Table, snap *Snapshot) ([]string, error) {
	a := s.access
	obj := policy.Object{Name: t.Name}
	if a.Object != nil {
		obj = a.Object(t.Name)
		obj.Name = t.Name
	}
	d, err := a.Policies.Decide(ctx, a.Subject, a.Action, obj)
	t.Decision = &d
	if err != nil || !d.Allow {
		t.Note = "denied: " + strings.Join(d.Reasons, "; ")
		return nil, nil
	}
	refuse := func(err error) ([]string, error) {
		denied := policy.Decision{Allow: false, Policy: d.Policy,
			Reasons: append(slices.Clone(d.Reasons), "the policy could not be applied, so it denies: "+err.Error())}
		t.Decision = &denied
		t.Note = "denied: " + err.Error()
		return nil, nil
	}
	vp := engine.ViewPolicy{Masks: map[string]string{}}
	for _, f := range d.RowFilters {
		funcs, err := s.eng.CheckPredicate(ctx, f.Expression)
		if err == nil {
			err = vetFunctions(funcs)
		}
		if err != nil {
			return refuse(err)
		}
		vp.Filters = append(vp.Filters, f.Expression)
	}
	for col, m := range d.ColumnMasks {
		vp.Masks[col] = m.Expression
	}
	cols, err := s.eng.CreatePolicyView(ctx, t.Name, snap.Files, snap.Schema, vp)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return refuse(err)
	}
	t.Columns = cols
	if len(snap.Files) == 0 {
		t.Note = "no data yet"
	}
	return snap.Files, nil
}

// allowedTableFunctions are the table functions user SQL may call: they
// make rows from their arguments and read nothing.
var allowedTableFunctions = []string{"range", "generate_series", "unnest"}

// deniedFunctionPrefixes and deniedFunctions are scalar functions user SQL
// (and row filters) may not call: they run SQL from a string, read files
// or describe the session's setup.
var (
	deniedFunctionPrefixes = []string{"read_", "parquet_", "duckdb_", "pragma_", "glob", "sniff_"}
	deniedFunctions        = []string{"query", "query_table", "current_setting", "getenv", "getvariable",
		"json_execute_serialized_sql", "sql_auto_complete", "which_secret", "error"}
)

func vetFunctions(funcs []string) error {
	for _, f := range funcs {
		if slices.Contains(deniedFunctions, f) || slices.ContainsFunc(deniedFunctionPrefixes, func(p string) bool { return strings.HasPrefix(f, p) }) {
			return fmt.Errorf("%w: function %s is not allowed here", engine.ErrRefused, f)
		}
	}
	return nil
}

// infoTables are the information_schema views a query may read: names
// and types only, nothing of view definitions.
var infoTables = []string{"tables", "columns", "schemata"}

// guard refuses a statement that reads anything but the session's views
// (files, table functions, SQL from strings, introspection of view
// definitions, AT clauses), and records the decision behind every dataset
// it reads.
func (s *Session) guard(ctx context.Context, sql string) error {
	refs, err := s.eng.Refs(ctx, sql)
	if err != nil {
		return err
	}
	if refs.TimeTravel {
		return fmt.Errorf("%w: AT clauses are not supported; use --as-at to see the datasets as at a point of their history", engine.ErrRefused)
	}
	for _, f := range refs.TableFunctions {
		if !slices.Contains(allowedTableFunctions, f) {
			return fmt.Errorf("%w: table function %s is not allowed: datasets are read through their views (SELECT * FROM \"name\"), files not at all", engine.ErrRefused, f)
		}
	}
	if err := vetFunctions(refs.Functions); err != nil {
		return err
	}
	for _, sh := range refs.Shows {
		if sh != "tables" && sh != "__show_tables_expanded" { // SHOW TABLES, SHOW ALL TABLES
			return fmt.Errorf("%w: SHOW %s is not allowed; SHOW TABLES and DESCRIBE \"name\" are", engine.ErrRefused, sh)
		}
	}
	var used []*Table
	for _, ref := range refs.Tables {
		t, err := s.resolveRef(ctx, ref, sql)
		if err != nil {
			return err
		}
		if t != nil && !slices.Contains(used, t) {
			used = append(used, t)
		}
	}
	if s.access == nil || s.access.Audit == nil {
		return nil
	}
	for _, t := range used {
		if err := s.record(ctx, t, sql); err != nil {
			return fmt.Errorf("%w: the access to %s could not be recorded in the audit log: %v", ErrDenied, t.Name, err)
		}
	}
	return nil
}

// resolveRef finds the dataset a table reference reads; nil for an
// allowed information_schema view.
func (s *Session) resolveRef(ctx context.Context, ref engine.TableRef, sql string) (*Table, error) {
	cat, sch, name := strings.ToLower(ref.Catalog), strings.ToLower(ref.Schema), ref.Name
	if cat == "" && sch == "information_schema" && slices.Contains(infoTables, strings.ToLower(name)) {
		return nil, nil
	}
	if (cat == "" || cat == "memory") && (sch == "" || sch == "main") {
		for i := range s.tables {
			t := &s.tables[i]
			if !strings.EqualFold(t.Name, name) {
				continue
			}
			if t.Decision != nil && !t.Decision.Allow {
				if s.access != nil && s.access.Audit != nil {
					if err := s.record(ctx, t, sql); err != nil {
						return nil, fmt.Errorf("%w: %s: %v", ErrDenied, t.Name, err)
					}
				}
				return nil, fmt.Errorf("%w: %s may not %s dataset %s: %s", ErrDenied, s.access.Subject.Name, s.access.Action, t.Name, strings.Join(t.Decision.Reasons, "; "))
			}
			if len(t.Columns) == 0 {
				return nil, fmt.Errorf("dataset %s has no view: %s", t.Name, t.Note)
			}
			return t, nil
		}
	}
	dotted := ref.String()
	for _, t := range s.tables {
		if strings.EqualFold(t.Name, dotted) {
			return nil, fmt.Errorf("%w: no table %s\nquote dataset names that have dots: SELECT * FROM \"%s\"", engine.ErrRefused, dotted, t.Name)
		}
	}
	return nil, fmt.Errorf("%w: %s is not a dataset of the workspace; only datasets can be read (\\d lists them)", engine.ErrRefused, quoteRef(dotted))
}

func quoteRef(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// record appends the decision behind t for one query to the audit log.
func (s *Session) record(ctx context.Context, t *Table, sql string) error {
	a := s.access
	d := t.Decision
	if d == nil {
		return nil
	}
	e := audit.Entry{
		Actor:   audit.ActorOf(a.Subject),
		Action:  "dataset." + a.Action,
		Object:  t.Name,
		Outcome: audit.Deny,
		Policy:  d.Policy,
		Reasons: d.Reasons,
		Details: map[string]string{"sql": abbreviate(sql, 500)},
	}
	if d.Allow {
		e.Outcome = audit.Allow
		var masked []string
		for c := range d.ColumnMasks {
			masked = append(masked, c)
		}
		slices.Sort(masked)
		if len(masked) > 0 {
			e.Details["masked"] = strings.Join(masked, ",")
		}
		if len(d.RowFilters) > 0 {
			e.Details["rowFilters"] = fmt.Sprint(len(d.RowFilters))
		}
	}
	if s.asAt != nil {
		e.Details["asAt"] = s.asAt.String()
	}
	_, err := a.Audit.Append(ctx, e)
	return err
}

func abbreviate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
