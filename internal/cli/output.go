package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/engine"
)

// addOutputFlag adds -o/--output restricted to the given formats.
func addOutputFlag(c *cobra.Command, dst *string, def string, formats ...string) {
	c.Flags().StringVarP(dst, "output", "o", def, "output format: "+strings.Join(formats, "|"))
	_ = c.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	prev := c.PreRunE
	c.PreRunE = func(cmd *cobra.Command, args []string) error {
		if !slices.Contains(formats, *dst) {
			return usagef("unknown output format %q; use one of %s", *dst, strings.Join(formats, ", "))
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}

// printStructured prints v as indented JSON or as YAML.
func printStructured(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case "yaml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("unknown output format %q", format)
}

// table prints aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// shortHash abbreviates a multibase hash for tables: f1620 + 8 hex digits.
func shortHash(s string) string {
	if len(s) > 13 {
		return s[:13] + "…"
	}
	return s
}

// writeResultCSV writes a query result as CSV with a header, nulls as
// empty cells.
func writeResultCSV(w io.Writer, res *engine.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
	}
	cells := make([]string, len(res.Columns))
	for _, r := range res.Rows {
		for j, v := range r {
			cells[j] = cellString(v, "")
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
