package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ipos-dev/ipos/internal/odf"
)

// The sandbox: user SQL runs in an engine that the host has set up (views
// over dataset files) and then locked down. Two layers refuse what a
// query must not do:
//
//  1. DuckDB's own settings, locked: enable_external_access=false with
//     allowed_directories and allowed_paths (only dataset data may be
//     read; no file may be written, attached, installed or loaded), no
//     extension auto-install or auto-load, and lock_configuration=true so
//     that no SET, RESET or PRAGMA can undo any of it.
//  2. QueryStatement prepares the statement and runs it only if its type
//     is a query (SELECT, EXPLAIN; DESCRIBE, SHOW and SUMMARIZE are
//     SELECTs to DuckDB). DDL, DML, COPY, ATTACH, SET, PRAGMA, CALL and
//     the rest are refused before they run, so a query cannot replace or
//     drop the dataset views or change the session.
//
// Either layer alone refuses file access; both are tested
// (TestSandboxEscapes).

// ErrRefused is wrapped by errors about statements the sandbox does not run.
var ErrRefused = errors.New("refused by the SQL sandbox")

// Lockdown locks the engine for untrusted SQL: from now on it can read
// only files in allowedDirs and the files allowedFiles, write none, load
// no extension, and its configuration cannot change. It cannot be undone;
// use a fresh Engine for anything else.
func (e *Engine) Lockdown(ctx context.Context, allowedDirs, allowedFiles []string) error {
	var stmts []string
	if len(allowedDirs) > 0 {
		dirs := make([]string, len(allowedDirs))
		for i, d := range allowedDirs {
			abs, err := filepath.Abs(d)
			if err != nil {
				return fmt.Errorf("engine: lockdown: %w", err)
			}
			dirs[i] = strings.TrimSuffix(abs, string(filepath.Separator)) + string(filepath.Separator)
		}
		stmts = append(stmts, "SET allowed_directories="+listLit(dirs))
	}
	if len(allowedFiles) > 0 {
		files := make([]string, len(allowedFiles))
		for i, f := range allowedFiles {
			abs, err := filepath.Abs(f)
			if err != nil {
				return fmt.Errorf("engine: lockdown: %w", err)
			}
			files[i] = abs
		}
		stmts = append(stmts, "SET allowed_paths="+listLit(files))
	}
	stmts = append(stmts,
		"SET enable_external_access=false",
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"SET allow_community_extensions=false",
		"SET allow_unsigned_extensions=false",
		"SET lock_configuration=true",
	)
	for _, s := range stmts {
		if err := e.exec(ctx, s); err != nil {
			return fmt.Errorf("engine: lockdown: %s: %w", s, err)
		}
	}
	return nil
}

// queryTypes are the statement types QueryStatement runs.
var queryTypes = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT:  true,
	duckdb.STATEMENT_TYPE_EXPLAIN: true,
}

// stmtTypeNames names statement types for errors.
var stmtTypeNames = map[duckdb.StmtType]string{
	duckdb.STATEMENT_TYPE_INSERT:       "INSERT",
	duckdb.STATEMENT_TYPE_UPDATE:       "UPDATE",
	duckdb.STATEMENT_TYPE_DELETE:       "DELETE",
	duckdb.STATEMENT_TYPE_PREPARE:      "PREPARE",
	duckdb.STATEMENT_TYPE_CREATE:       "CREATE",
	duckdb.STATEMENT_TYPE_EXECUTE:      "EXECUTE",
	duckdb.STATEMENT_TYPE_ALTER:        "ALTER",
	duckdb.STATEMENT_TYPE_TRANSACTION:  "a transaction statement",
	duckdb.STATEMENT_TYPE_COPY:         "COPY",
	duckdb.STATEMENT_TYPE_ANALYZE:      "ANALYZE",
	duckdb.STATEMENT_TYPE_VARIABLE_SET: "SET VARIABLE",
	duckdb.STATEMENT_TYPE_CREATE_FUNC:  "CREATE FUNCTION",
	duckdb.STATEMENT_TYPE_DROP:         "DROP",
	duckdb.STATEMENT_TYPE_EXPORT:       "EXPORT",
	duckdb.STATEMENT_TYPE_PRAGMA:       "PRAGMA",
	duckdb.STATEMENT_TYPE_VACUUM:       "VACUUM",
	duckdb.STATEMENT_TYPE_CALL:         "CALL",
	duckdb.STATEMENT_TYPE_SET:          "SET/RESET",
	duckdb.STATEMENT_TYPE_LOAD:         "INSTALL/LOAD",
	duckdb.STATEMENT_TYPE_EXTENSION:    "an extension statement",
	duckdb.STATEMENT_TYPE_ATTACH:       "ATTACH",
	duckdb.STATEMENT_TYPE_DETACH:       "DETACH",
	duckdb.STATEMENT_TYPE_MULTI:        "several statements",
}

// QueryStatement runs one statement if it is a query (SELECT, EXPLAIN,
// DESCRIBE, SHOW, SUMMARIZE) and refuses anything else with an error
// wrapping ErrRefused that names the kind of statement. Several
// statements in one string are refused too: split them first.
func (e *Engine) QueryStatement(ctx context.Context, query string) (*Result, error) {
	if err := e.CheckQueryStatement(ctx, query); err != nil {
		return nil, err
	}
	res, err := e.Query(ctx, query)
	return res, refusal(err)
}

// CheckQueryStatement prepares one statement without running it and
// refuses it, as QueryStatement does, unless it is a query.
func (e *Engine) CheckQueryStatement(ctx context.Context, query string) error {
	var typ duckdb.StmtType
	err := e.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("engine: unexpected driver connection %T", dc)
		}
		// Prepare, not PrepareContext: the driver's PrepareContext runs
		// every statement but the last of a multi-statement string while
		// preparing, which would run them unchecked; Prepare refuses them.
		st, err := conn.Prepare(query)
		if err != nil {
			if strings.Contains(err.Error(), "multi-statement") {
				return fmt.Errorf("%w: several statements in one query; run them one at a time", ErrRefused)
			}
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("engine: unexpected statement type %T", st)
		}
		typ, err = ds.StatementType()
		return err
	})
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return refusal(fmt.Errorf("engine: query: %w", err))
	}
	if !queryTypes[typ] {
		name, ok := stmtTypeNames[typ]
		if !ok {
			name = fmt.Sprintf("statement type %d", typ)
		}
		return fmt.Errorf("%w: %s statements are not allowed; only queries (SELECT, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE) run here", ErrRefused, name)
	}
	return nil
}

// refusal rewords DuckDB's permission errors, which the locked
// configuration raises, as sandbox refusals that say what may be read.
func refusal(err error) error {
	if err == nil || !strings.Contains(err.Error(), "Permission Error: ") {
		return err
	}
	msg := err.Error()
	msg = msg[strings.Index(msg, "Permission Error: ")+len("Permission Error: "):]
	msg = strings.Replace(msg, " - file system operations are disabled by configuration",
		": only the data files of the workspace's datasets may be read, and no file written", 1)
	return fmt.Errorf("%w: %s", ErrRefused, msg)
}

// CreateParquetView creates (or replaces) a view named name over the
// Parquet files, read in the order given.
func (e *Engine) CreateParquetView(ctx context.Context, name string, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("engine: view %s: no files", name)
	}
	q := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet(%s)", quoteIdent(name), listLit(files))
	if err := e.exec(ctx, q); err != nil {
		return fmt.Errorf("engine: view %s: %w", name, err)
	}
	return nil
}

// CreateEmptyView creates (or replaces) a view named name with the
// columns of an ODF schema and no rows.
func (e *Engine) CreateEmptyView(ctx context.Context, name string, schema *odf.DataSchema) error {
	cols, err := schemaColumns(schema)
	if err != nil {
		return fmt.Errorf("engine: view %s: %w", name, err)
	}
	if len(cols) == 0 {
		return fmt.Errorf("engine: view %s: the schema has no columns", name)
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.Type, quoteIdent(c.Name))
	}
	q := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT %s WHERE false", quoteIdent(name), strings.Join(sel, ", "))
	if err := e.exec(ctx, q); err != nil {
		return fmt.Errorf("engine: view %s: %w", name, err)
	}
	return nil
}

// Column is a column of a relation: its name and DuckDB type.
type Column struct {
	Name string
	Type string
}

// Columns describes a table or view.
func (e *Engine) Columns(ctx context.Context, relation string) ([]Column, error) {
	cols, err := e.describe(ctx, quoteIdent(relation))
	if err != nil {
		return nil, fmt.Errorf("engine: describe %s: %w", relation, err)
	}
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column(c)
	}
	return out, nil
}

// WriteParquet writes a query result to a Parquet file at path. It runs
// in an engine of its own that never sees user SQL, so that the engine
// the result came from can stay locked down and write nothing: the rows
// are appended to a table with the result's types and copied out.
// ENUM columns are written as VARCHAR.
func WriteParquet(ctx context.Context, res *Result, path string) error {
	if len(res.Columns) == 0 {
		return fmt.Errorf("engine: write %s: the result has no columns", path)
	}
	e, err := Open(ctx, Config{Threads: 1})
	if err != nil {
		return err
	}
	defer e.Close()
	defs := make([]string, len(res.Columns))
	seen := map[string]int{}
	for i, name := range res.Columns {
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s_%d", name, n)
		}
		typ := "VARCHAR"
		if i < len(res.Types) && res.Types[i] != "" && !strings.Contains(res.Types[i], "ENUM") {
			typ = res.Types[i]
		}
		defs[i] = quoteIdent(name) + " " + typ
	}
	if err := e.exec(ctx, "CREATE TABLE out ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("engine: write %s: %w", path, err)
	}
	err = e.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "out")
		if err != nil {
			return err
		}
		for _, r := range res.Rows {
			vals := make([]driver.Value, len(r))
			for i, v := range r {
				vals[i] = v
			}
			if err := a.AppendRow(vals...); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
	if err != nil {
		return fmt.Errorf("engine: write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := e.exec(ctx, fmt.Sprintf("COPY out TO %s (FORMAT parquet, COMPRESSION snappy)", quoteLit(tmp))); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("engine: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("engine: write %s: %w", path, err)
	}
	return nil
}
