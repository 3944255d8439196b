package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/engine"
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
	var at *query.AsAt
	if opts.asAt != "" {
		all, err := w.Datasets(ctx)
		if err != nil {
			return err
		}
		if at, err = query.ParseAsAt(ctx, all, opts.asAt); err != nil {
			return asAtError(err)
		}
	}
	snap, err := query.Resolve(ctx, d, at)
	if err != nil {
		return err
	}
	files := snap.Files
	if len(files) == 0 {
		if !g.quiet {
			if at != nil {
				fmt.Fprintf(g.streams.Err, "%s has no data as at %s\n", d.Alias, at)
			} else {
				fmt.Fprintf(g.streams.Err, "%s has no data yet\n", d.Alias)
			}
		}
		return nil
	}
	cfg := engine.DefaultConfig()
	eng, err := engine.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer eng.Close()
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	off := quoteIdent(snap.Vocab.Offset)
	q := fmt.Sprintf("SELECT * FROM (SELECT * FROM read_parquet([%s]) ORDER BY %s DESC LIMIT %d) ORDER BY %s",
		strings.Join(quoted, ", "), off, opts.n, off)
	res, err := eng.Query(ctx, q)
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
		cw := csv.NewWriter(g.streams.Out)
		cw.Write(res.Columns)
		for _, r := range res.Rows {
			cells := make([]string, len(r))
			for j, v := range r {
				cells[j] = cellString(v, "")
			}
			cw.Write(cells)
		}
		cw.Flush()
		return cw.Error()
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
