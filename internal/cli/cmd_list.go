package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
)

func newListCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the workspace's datasets",
		Example: `  ipos list
  ipos list -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runList(cmd.Context(), g, output)
		},
	}
	addOutputFlag(c, &output, "table", "table", "wide", "json", "yaml")
	return c
}

// datasetSummary is one row of `ipos list`.
type datasetSummary struct {
	Name      string     `json:"name" yaml:"name"`
	ID        string     `json:"id" yaml:"id"`
	Kind      string     `json:"kind" yaml:"kind"`
	Head      string     `json:"head" yaml:"head"`
	Blocks    uint64     `json:"blocks" yaml:"blocks"`
	Records   uint64     `json:"records" yaml:"records"`
	Watermark *time.Time `json:"watermark,omitempty" yaml:"watermark,omitempty"`
	Updated   time.Time  `json:"updated" yaml:"updated"`
}

func summarize(ctx context.Context, d *dataset.Dataset) (datasetSummary, error) {
	s, err := d.Chain.LoadState(ctx)
	if err != nil {
		return datasetSummary{}, fmt.Errorf("dataset %s: %w", d.Alias, err)
	}
	sum := datasetSummary{
		Name:      d.Alias,
		ID:        d.ID.String(),
		Kind:      s.Kind.String(),
		Head:      s.Head.String(),
		Blocks:    s.HeadSequence + 1,
		Watermark: s.Watermark,
		Updated:   s.HeadSystemTime.UTC(),
	}
	if s.LastOffset != nil {
		sum.Records = *s.LastOffset + 1
	}
	return sum, nil
}

func runList(ctx context.Context, g *globals, output string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	all, err := w.Datasets(ctx)
	if err != nil {
		return err
	}
	rows := make([]datasetSummary, 0, len(all))
	for _, d := range all {
		s, err := summarize(ctx, d)
		if err != nil {
			return err
		}
		rows = append(rows, s)
	}
	if output == "json" || output == "yaml" {
		return printStructured(g.streams.Out, output, rows)
	}
	if len(rows) == 0 {
		if !g.quiet {
			fmt.Fprintln(g.streams.Err, "No datasets yet. Add one with 'ipos add MANIFEST'.")
		}
		return nil
	}
	wide := output == "wide"
	header := []string{"NAME", "KIND", "BLOCKS", "RECORDS", "WATERMARK", "UPDATED"}
	if wide {
		header = append(header, "ID", "HEAD")
	}
	t := newTable(g.streams.Out, header...)
	for _, r := range rows {
		wm := "-"
		if r.Watermark != nil {
			wm = r.Watermark.UTC().Format(time.RFC3339)
		}
		cells := []string{r.Name, r.Kind, fmt.Sprint(r.Blocks), fmt.Sprint(r.Records), wm, r.Updated.Format(time.RFC3339)}
		if wide {
			cells = append(cells, r.ID, r.Head)
		}
		t.row(cells...)
	}
	return t.flush()
}
