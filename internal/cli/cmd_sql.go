package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/query"
)

type sqlOptions struct {
	command    string
	file       string
	asAt       string
	output     string
	outputFile string
}

func newSQLCommand(g *globals) *cobra.Command {
	var opts sqlOptions
	c := &cobra.Command{
		Use:   "sql",
		Short: "Query the workspace's datasets with SQL (DuckDB)",
		Long: `Query the workspace's datasets with SQL. Every dataset is a view named by its
alias, with the system columns offset, op, system_time and event_time; quote
names that have dots: SELECT * FROM "covid.cases".

The SQL runs in a locked-down DuckDB session as the acting identity (--as):
it can read the datasets the policies let it query, through views that mask
columns and filter rows as they say, and nothing else, and change nothing.
Table functions that read files, AT clauses and introspection of view
definitions are refused. Every dataset a statement reads is recorded in the
audit log with the decision that allowed it (or refused it). Files, COPY, ATTACH, INSTALL, LOAD, SET,
PRAGMA and statements other than queries (SELECT, EXPLAIN, DESCRIBE, SHOW,
SUMMARIZE) are refused.

Statements come from -c, from --file, or from standard input; each ends at a
semicolon (the last may leave it out). On a terminal, ipos sql is an
interactive shell with line editing and history (.ipos/sql_history). Lines
starting with a backslash are shell commands:
  \d         list the datasets and their columns
  \d NAME    describe one dataset
  \?         help
  \q         quit

--as-at shows every dataset as it was at a block (a hash from 'ipos log'; the
other datasets as at that block's system time) or at a system time (RFC 3339,
or a date taken as midnight UTC).`,
		Example: `  ipos sql -c 'SELECT count(*) FROM "covid.cases"'
  ipos sql -c 'SELECT * FROM regions' -o csv
  ipos sql --file report.sql -o markdown
  ipos sql -c 'SELECT * FROM regions' -o parquet --output-file regions.parquet
  ipos sql --as-at 2026-11-01 -c 'SELECT count(*) FROM regions'
  ipos sql`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSQL(cmd.Context(), g, opts)
		},
	}
	c.Flags().StringVarP(&opts.command, "command", "c", "", "run these statements and exit")
	c.Flags().StringVarP(&opts.file, "file", "f", "", "run the statements in this file and exit")
	c.Flags().StringVar(&opts.asAt, "as-at", "", "show the datasets as at a block hash or a system time")
	c.Flags().StringVar(&opts.outputFile, "output-file", "", "write results to this file (required for -o parquet)")
	addOutputFlag(c, &opts.output, "table", "table", "csv", "json", "ndjson", "parquet", "markdown")
	return c
}

func runSQL(ctx context.Context, g *globals, opts sqlOptions) error {
	if opts.command != "" && opts.file != "" {
		return usagef("use either -c or --file, not both")
	}
	if opts.output == "parquet" && opts.outputFile == "" {
		return usagef("-o parquet needs --output-file PATH")
	}
	var script string
	switch {
	case opts.command != "":
		script = opts.command
	case opts.file != "":
		data, err := os.ReadFile(opts.file)
		if err != nil {
			return err
		}
		script = string(data)
	}
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	access, err := g.access(ctx, w, policy.ActionQuery)
	if err != nil {
		return err
	}
	s, err := query.Open(ctx, w, query.Options{AsAt: opts.asAt, Access: access})
	if err != nil {
		return asAtError(err)
	}
	defer s.Close()

	sh := &sqlShell{ctx: ctx, g: g, s: s, format: opts.output, out: g.streams.Out}
	if opts.outputFile != "" && opts.output != "parquet" {
		f, err := os.Create(opts.outputFile)
		if err != nil {
			return err
		}
		defer f.Close()
		sh.out = f
	}
	if opts.output == "parquet" {
		sh.parquet = opts.outputFile
	}
	if opts.command == "" && opts.file == "" {
		if f, ok := g.streams.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			if sh.parquet != "" {
				return usagef("-o parquet writes one result: give the statement with -c or --file")
			}
			return sh.interactive(f, filepath.Join(w.Dir(), "sql_history"))
		}
		data, err := io.ReadAll(g.streams.In)
		if err != nil {
			return err
		}
		script = string(data)
	}
	if err := sh.script(script); err != nil {
		return err
	}
	return nil
}

// asAtError makes a bad --as-at a usage error.
func asAtError(err error) error {
	if errors.Is(err, query.ErrBadAsAt) {
		return usageError{err}
	}
	return err
}

// sqlShell runs statements and shell commands and prints what they give.
type sqlShell struct {
	ctx     context.Context
	g       *globals
	s       *query.Session
	format  string
	out     io.Writer
	parquet string // -o parquet: the file to write
	printed int    // results printed so far
	quit    bool
}

// script runs every statement and shell command of text; a statement at
// the end may leave out its semicolon.
func (sh *sqlShell) script(text string) error {
	var pending strings.Builder
	var stmts []string
	for line := range strings.Lines(text) {
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			stmts = append(stmts, strings.TrimSpace(line))
			continue
		}
		pending.WriteString(line)
		done, rest := query.Split(pending.String())
		stmts = append(stmts, done...)
		pending.Reset()
		pending.WriteString(rest)
	}
	if rest := strings.TrimSpace(pending.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	if sh.parquet != "" && len(stmts) != 1 {
		return usagef("-o parquet writes one result: give exactly one statement (got %d)", len(stmts))
	}
	for i, st := range stmts {
		if err := sh.run(st); err != nil {
			if len(stmts) > 1 {
				return fmt.Errorf("statement %d (%s): %w", i+1, abbreviate(st), err)
			}
			return err
		}
		if sh.quit {
			break
		}
	}
	return nil
}

// run runs one statement or shell command.
func (sh *sqlShell) run(stmt string) error {
	if strings.HasPrefix(stmt, `\`) {
		return sh.command(stmt)
	}
	res, err := sh.s.Query(sh.ctx, stmt)
	if err != nil {
		return err
	}
	if sh.parquet != "" {
		if err := engine.WriteParquet(sh.ctx, res, sh.parquet); err != nil {
			return err
		}
		if !sh.g.quiet {
			fmt.Fprintf(sh.g.streams.Err, "wrote %d rows to %s\n", len(res.Rows), sh.parquet)
		}
		return nil
	}
	if sh.printed > 0 && (sh.format == "table" || sh.format == "markdown") {
		fmt.Fprintln(sh.out)
	}
	sh.printed++
	return printSQLResult(sh.out, sh.format, res)
}

const sqlHelp = `Statements end with a semicolon. Datasets are views named by their alias;
quote names with dots: SELECT * FROM "covid.cases".
  \d         list the datasets and their columns
  \d NAME    describe one dataset
  \?         this help
  \q         quit
`

// command runs a shell command: \d, \d NAME, \? or \q.
func (sh *sqlShell) command(line string) error {
	fields := strings.Fields(line)
	switch fields[0] {
	case `\q`, `\quit`:
		sh.quit = true
		return nil
	case `\?`, `\h`, `\help`:
		_, err := io.WriteString(sh.out, sqlHelp)
		return err
	case `\d`:
		if len(fields) == 1 {
			return sh.listTables()
		}
		name := strings.Trim(strings.Join(fields[1:], " "), `"`)
		t, err := sh.s.Table(name)
		if err != nil {
			return err
		}
		if len(t.Columns) == 0 {
			_, err := fmt.Fprintf(sh.out, "%s: %s\n", t.Name, t.Note)
			return err
		}
		tw := newTable(sh.out, "COLUMN", "TYPE")
		for _, c := range t.Columns {
			tw.row(c.Name, c.Type)
		}
		return tw.flush()
	}
	return fmt.Errorf("unknown command %s; \\? lists the commands", fields[0])
}

func (sh *sqlShell) listTables() error {
	if at := sh.s.AsAt(); at != nil {
		fmt.Fprintf(sh.out, "as at %s\n", at)
	}
	tw := newTable(sh.out, "NAME", "FILES", "HEAD", "COLUMNS")
	for _, t := range sh.s.Datasets() {
		cols := t.Note
		if len(t.Columns) > 0 {
			parts := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				parts[i] = c.Name + " " + c.Type
			}
			cols = strings.Join(parts, ", ")
			if t.Note != "" {
				cols += " (" + t.Note + ")"
			}
		}
		head := "-"
		if t.Head != nil {
			head = shortHash(t.Head.String())
		}
		tw.row(t.Name, fmt.Sprint(t.Files), head, cols)
	}
	return tw.flush()
}

// interactive is the shell on a terminal.
func (sh *sqlShell) interactive(in *os.File, historyPath string) error {
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, state)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, sh.g.streams.Out}, "ipos> ")
	if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
		t.SetSize(w, h)
	}
	hist := openHistory(historyPath)
	t.History = hist
	if sh.out == sh.g.streams.Out {
		sh.out = t
	}
	fmt.Fprintf(t, "ipos sql: %d datasets; \\d lists them, \\? helps, \\q quits.\n", len(sh.s.Datasets()))
	var pending strings.Builder
	for !sh.quit {
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var stmts []string
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), `\`) {
			stmts = []string{strings.TrimSpace(line)}
		} else {
			pending.WriteString(line + "\n")
			var rest string
			stmts, rest = query.Split(pending.String())
			pending.Reset()
			pending.WriteString(rest)
		}
		for _, st := range stmts {
			if err := sh.ctx.Err(); err != nil {
				return err
			}
			sh.printed = 0
			if err := sh.run(st); err != nil {
				fmt.Fprintf(t, "error: %v\n", err)
			}
			if sh.quit {
				break
			}
		}
		if pending.Len() > 0 {
			t.SetPrompt("  ...> ")
		} else {
			t.SetPrompt("ipos> ")
		}
	}
	return hist.err
}

// history keeps the shell's lines in memory and appends them to a file.
type history struct {
	lines []string // oldest first
	path  string
	err   error
}

const historyMax = 1000

func openHistory(path string) *history {
	h := &history{path: path}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if sc.Text() != "" {
				h.lines = append(h.lines, sc.Text())
			}
		}
		f.Close()
	}
	if len(h.lines) > historyMax {
		h.lines = h.lines[len(h.lines)-historyMax:]
	}
	return h
}

// Add implements term.History.
func (h *history) Add(entry string) {
	if strings.TrimSpace(entry) == "" || strings.ContainsAny(entry, "\r\n") {
		return
	}
	h.lines = append(h.lines, entry)
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		h.err = fmt.Errorf("sql history: %w", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, entry); err != nil {
		h.err = fmt.Errorf("sql history: %w", err)
	}
}

// Len implements term.History.
func (h *history) Len() int { return len(h.lines) }

// At implements term.History: 0 is the newest entry.
func (h *history) At(i int) string { return h.lines[len(h.lines)-1-i] }

var _ term.History = (*history)(nil)

// printSQLResult prints a query result in one of the text formats.
func printSQLResult(w io.Writer, format string, res *engine.Result) error {
	res = displayResult(res, format != "json" && format != "ndjson")
	switch format {
	case "json", "ndjson":
		return printJSONRows(w, format == "ndjson", res)
	case "markdown":
		return printMarkdown(w, res)
	}
	g := &globals{streams: Streams{Out: w}}
	return printResult(g, format, res)
}

// printJSONRows prints rows as objects with the columns in query order:
// a JSON array, one object a line, or NDJSON.
func printJSONRows(w io.Writer, nd bool, res *engine.Result) error {
	bw := bufio.NewWriter(w)
	if !nd {
		bw.WriteString("[")
	}
	for i, r := range res.Rows {
		var b strings.Builder
		b.WriteString("{")
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(res.Columns[j])
			val, err := json.Marshal(sqlJSONValue(v))
			if err != nil {
				val, _ = json.Marshal(fmt.Sprint(v))
			}
			b.Write(k)
			b.WriteString(": ")
			b.Write(val)
		}
		b.WriteString("}")
		switch {
		case nd:
			bw.WriteString(b.String() + "\n")
		case i == 0:
			bw.WriteString("\n  " + b.String())
		default:
			bw.WriteString(",\n  " + b.String())
		}
	}
	if !nd {
		if len(res.Rows) > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	return bw.Flush()
}

// sqlJSONValue turns a value DuckDB returned into one encoding/json
// prints faithfully: times as RFC 3339, decimals and huge integers as
// numbers, blobs as hex, maps with string keys, non-finite floats as
// strings.
func sqlJSONValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Sprint(x)
		}
	case *big.Int:
		return json.Number(x.String())
	case interface{ Float64() float64 }: // duckdb.Decimal
		return json.Number(fmt.Sprint(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sqlJSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = sqlJSONValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(sqlJSONValue(k))] = sqlJSONValue(e)
		}
		return out
	case json.Marshaler: // duckdb.OrderedMap (time.Time is handled above)
		return x
	case fmt.Stringer:
		return x.String()
	}
	return v
}

// displayResult returns res with DATE and TIME values as their SQL text
// (the driver gives both as time.Time) and, for text formats, nested
// values as JSON.
func displayResult(res *engine.Result, text bool) *engine.Result {
	out := *res
	out.Rows = make([][]any, len(res.Rows))
	for i, r := range res.Rows {
		row := make([]any, len(r))
		for j, v := range r {
			typ := ""
			if j < len(res.Types) {
				typ = res.Types[j]
			}
			if t, ok := v.(time.Time); ok && typ == "DATE" {
				v = t.Format("2006-01-02")
			} else if ok && typ == "TIME" {
				v = t.Format("15:04:05.999999")
			} else if text {
				v = sqlCell(v)
			}
			row[j] = v
		}
		out.Rows[i] = row
	}
	return &out
}

// printMarkdown prints a GitHub-flavoured Markdown table.
func printMarkdown(w io.Writer, res *engine.Result) error {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\\`)
		s = strings.ReplaceAll(s, "|", `\|`)
		return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "<br>"), "\n", "<br>")
	}
	bw := bufio.NewWriter(w)
	cells := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		cells[i] = esc(c)
	}
	bw.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	for i, t := range res.Types {
		if i < len(cells) {
			cells[i] = "---"
			if numericType(t) {
				cells[i] = "--:"
			}
		}
	}
	bw.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	for _, r := range res.Rows {
		row := make([]string, len(r))
		for j, v := range r {
			row[j] = esc(cellString(sqlCell(v), "NULL"))
		}
		bw.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return bw.Flush()
}

// sqlCell renders nested values as JSON in text cells.
func sqlCell(v any) any {
	switch v.(type) {
	case time.Time:
		return v
	case []any, map[string]any, map[any]any, json.Marshaler:
		b, err := json.Marshal(sqlJSONValue(v))
		if err == nil {
			return string(b)
		}
	}
	return v
}

func numericType(t string) bool {
	for _, p := range []string{"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL"} {
		if t == p || strings.HasPrefix(t, p+"(") {
			return true
		}
	}
	return false
}

// abbreviate shortens a statement for an error message.
func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
