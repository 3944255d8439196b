package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Preprocess runs an SQL transform over table in, visible to the query as
// `input`, into a new table out. Engine "duckdb" runs natively;
// "datafusion" is accepted when its SQL is also valid DuckDB SQL. A
// multi-step transform turns each aliased step into a temporary view; the
// step without an alias is the output.
func (e *Engine) Preprocess(ctx context.Context, in, out string, t odf.TransformSQL) error {
	if err := e.exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW input AS SELECT * FROM %s", quoteIdent(in))); err != nil {
		return fmt.Errorf("engine: preprocess: %w", err)
	}
	defer e.dropView("input")
	if err := e.runSQL(ctx, t, out); err != nil {
		return fmt.Errorf("engine: preprocess: %w", err)
	}
	return nil
}

// runSQL runs an ODF SQL transform into a new table out: each aliased
// step becomes a temporary view (dropped afterwards), and the one step
// without an alias is the output.
func (e *Engine) runSQL(ctx context.Context, t odf.TransformSQL, out string) error {
	return e.withSteps(ctx, t, func(output string) error {
		return e.exec(ctx, fmt.Sprintf("CREATE TABLE %s AS %s", quoteIdent(out), output))
	})
}

// withSteps creates the views of a transform's aliased steps, calls fn
// with the output query, and drops the views.
func (e *Engine) withSteps(ctx context.Context, t odf.TransformSQL, fn func(output string) error) error {
	switch strings.ToLower(t.Engine) {
	case "duckdb", "datafusion":
	default:
		return fmt.Errorf("SQL engine %q: %w (use engine: duckdb)", t.Engine, ErrNotSupported)
	}
	if len(t.TemporalTables) > 0 {
		return fmt.Errorf("temporalTables: %w", ErrNotSupported)
	}
	steps := t.Queries
	if t.Query != nil {
		if len(steps) > 0 {
			return fmt.Errorf("both query and queries are set")
		}
		steps = []odf.SqlQueryStep{{Query: *t.Query}}
	}
	var output *string
	for i := range steps {
		if steps[i].Alias == nil {
			if output != nil {
				return fmt.Errorf("more than one query without an alias")
			}
			output = &steps[i].Query
		}
	}
	if output == nil {
		return fmt.Errorf("no query without an alias to produce the output")
	}
	var views []string
	defer func() {
		for i := len(views) - 1; i >= 0; i-- {
			e.dropView(views[i])
		}
	}()
	for _, s := range steps {
		if s.Alias == nil {
			continue
		}
		views = append(views, *s.Alias)
		q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", quoteIdent(*s.Alias), trimSQL(s.Query))
		if err := e.exec(ctx, q); err != nil {
			return fmt.Errorf("step %q: %w", *s.Alias, err)
		}
	}
	return fn(trimSQL(*output))
}

func trimSQL(q string) string {
	return strings.TrimRight(strings.TrimSpace(q), "; \n\t")
}
