package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/query"
)

type tailOptions struct {
	n      int
	output string
	asAt   string
}

func newTailCommand(g *globals) *cobra.Command {
	var opts tailOptions
	c := &cobra.Command{
		Use:   "tail NAME",
		Short: "Show a dataset's last records, system columns included",
		Long: `Show the last records of a dataset in offset order, with the system columns
offset, op (0 +A append, 1 -R retract, 2 -C correct from, 3 +C correct to),
system_time and event_time.

With --as-at the dataset is shown as it was at a block (a hash from 'ipos
log', of this dataset or another, whose system time then applies) or at a
system time (RFC 3339, or a date taken as midnight UTC).`,
		Example: `  ipos tail regions
  ipos tail covid.cases -n 5 -o json
  ipos tail covid.cases --as-at 2026-11-01T12:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTail(cmd.Context(), g, opts, args[0])
		},
	}
	c.Flags().IntVarP(&opts.n, "num-records", "n", 10, "number of records to show")
	c.Flags().StringVar(&opts.asAt, "as-at", "", "show the dataset as at a block hash or a system time")
	addOutputFlag(c, &opts.output, "table", "table", "csv", "json")
	return c
}

func runTail(ctx context.Context, g *globals, opts tailOptions, name string) error {
	if opts.n <= 0 {
		return usagef("-n must be positive")
	}
	w, d, err := g.openDataset(ctx, name)
	if err != nil {
		return err
	}
	alias := d.Alias
	d.Close()
	access, err := g.access(ctx, w, policy.ActionRead)
	if err != nil {
		return err
	}
	// The same views as ipos sql: masks and row filters apply, and the
	// read is recorded in the audit log.
	s, err := query.Open(ctx, w, query.Options{AsAt: opts.asAt, Access: access, Only: []string{alias}})
	if err != nil {
		return asAtError(err)
	}
	defer s.Close()
	t, err := s.Table(alias)
	if err != nil {
		return err
	}
	denied := t.Decision != nil && !t.Decision.Allow
	if t.Files == 0 && !denied {
		if !g.quiet {
			if at := s.AsAt(); at != nil {
				fmt.Fprintf(g.streams.Err, "%s has no data as at %s\n", alias, at)
			} else {
				fmt.Fprintf(g.streams.Err, "%s has no data yet\n", alias)
			}
		}
		return nil
	}
	off := quoteIdent(engine.DefaultVocab().Offset)
	if len(t.Columns) > 0 {
		off = quoteIdent(t.Columns[0].Name) // slices start with the offset column
	}
	q := fmt.Sprintf("SELECT * FROM (SELECT * FROM %s ORDER BY %s DESC LIMIT %d) ORDER BY %s", quoteIdent(alias), off, opts.n, off)
	res, err := s.Query(ctx, q)
	if err != nil {
		return err
	}
	return printSQLResult(g.streams.Out, opts.output, res)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// printResult prints query results as a table or CSV.
func printResult(g *globals, format string, res *engine.Result) error {
	switch format {
	case "csv":
		return writeResultCSV(g.streams.Out, res)
	}
	t := newTable(g.streams.Out, res.Columns...)
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = cellString(v, "null")
		}
		t.row(cells...)
	}
	return t.flush()
}

func cellString(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return fmt.Sprintf("%x", x)
	}
	return fmt.Sprint(v)
}
