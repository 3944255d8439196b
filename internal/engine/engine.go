package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Config sizes the embedded DuckDB database.
type Config struct {
	// Threads is DuckDB's worker thread count; 0 means runtime.NumCPU().
	Threads int
	// MemoryLimit is DuckDB's memory_limit ("2GB", "75%"); empty keeps DuckDB's default.
	MemoryLimit string
	// TempDir is where DuckDB spills; empty keeps DuckDB's default.
	TempDir string
}

// DefaultConfig returns a Config using every CPU and DuckDB's default memory limit.
func DefaultConfig() Config {
	return Config{Threads: runtime.NumCPU()}
}

// Engine is one in-process, in-memory DuckDB database with one pinned
// connection, so tables and temporary views survive between calls. It is
// safe for sequential use only.
type Engine struct {
	cfg     Config
	connr   *duckdb.Connector
	db      *sql.DB
	conn    *sql.Conn
	threads int
	tmpSeq  int
	// alwaysSort turns off Merge's presorted path; tests compare the two.
	alwaysSort bool
}

// Open starts an in-memory DuckDB database configured by cfg.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	connr, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("engine: open duckdb: %w", err)
	}
	db := sql.OpenDB(connr)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		connr.Close()
		return nil, fmt.Errorf("engine: open duckdb connection: %w", err)
	}
	e := &Engine{cfg: cfg, connr: connr, db: db, conn: conn}
	threads := cfg.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	e.threads = threads
	stmts := []string{
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"SET TimeZone='UTC'",
		"SET preserve_insertion_order=true",
		fmt.Sprintf("SET threads=%d", threads),
	}
	if cfg.MemoryLimit != "" {
		stmts = append(stmts, "SET memory_limit="+quoteLit(cfg.MemoryLimit))
	}
	if cfg.TempDir != "" {
		stmts = append(stmts, "SET temp_directory="+quoteLit(cfg.TempDir))
	}
	for _, s := range stmts {
		if err := e.exec(ctx, s); err != nil {
			e.Close()
			return nil, fmt.Errorf("engine: configure duckdb: %w", err)
		}
	}
	return e, nil
}

// Close releases the database.
func (e *Engine) Close() error {
	var errs []error
	if e.conn != nil {
		errs = append(errs, e.conn.Close())
	}
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	if e.connr != nil {
		errs = append(errs, e.connr.Close())
	}
	return errors.Join(errs...)
}

func (e *Engine) exec(ctx context.Context, query string, args ...any) error {
	_, err := e.conn.ExecContext(ctx, query, args...)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// execOnNewConn runs query on a connection of its own, set up as the
// pinned one is for the session (TimeZone), so that several statements can
// run at once. It sees the database's tables, not the pinned connection's
// temporary objects.
func (e *Engine) execOnNewConn(ctx context.Context, query string) error {
	c, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, q := range []string{"SET TimeZone='UTC'", query} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			return err
		}
	}
	return nil
}

// tempName returns a fresh name for an internal table or view.
func (e *Engine) tempName(prefix string) string {
	e.tmpSeq++
	return fmt.Sprintf("__ipos_%s_%d", prefix, e.tmpSeq)
}

func (e *Engine) drop(name string) {
	// Best effort clean-up with a fresh context: a cancelled ctx must not
	// leave internal tables behind.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.exec(ctx, "DROP TABLE IF EXISTS "+quoteIdent(name))
}

func (e *Engine) dropView(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.exec(ctx, "DROP VIEW IF EXISTS "+quoteIdent(name))
}

// Result is the outcome of Query.
type Result struct {
	Columns []string
	Types   []string // DuckDB type names
	Rows    [][]any
}

// Query runs read-only SQL and returns every row.
func (e *Engine) Query(ctx context.Context, query string) (*Result, error) {
	rows, err := e.conn.QueryContext(ctx, query)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("engine: query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	for _, ct := range cts {
		res.Types = append(res.Types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("engine: query: %w", err)
	}
	return res, nil
}

// column is a column of a relation as DuckDB describes it.
type column struct {
	Name string
	Type string
}

// describe returns the columns of a table, view or query.
func (e *Engine) describe(ctx context.Context, relation string) ([]column, error) {
	rows, err := e.conn.QueryContext(ctx, "DESCRIBE "+relation)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return nil, err
		}
		cols = append(cols, column{name, typ})
	}
	return cols, rows.Err()
}

func (e *Engine) scalar(ctx context.Context, query string, dst any, args ...any) error {
	return e.conn.QueryRowContext(ctx, query, args...).Scan(dst)
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLit quotes an SQL string literal.
func quoteLit(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}

// listLit renders a list of string literals: ['a', 'b'].
func listLit(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quoteLit(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Drop removes a table that ReadFiles or Preprocess made. Dropping a table
// that does not exist is not an error.
func (e *Engine) Drop(ctx context.Context, table string) error {
	return e.exec(ctx, "DROP TABLE IF EXISTS "+quoteIdent(table))
}
