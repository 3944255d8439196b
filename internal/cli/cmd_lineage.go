package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/lineage"
)

func newInspectLineageCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "lineage [NAME]",
		Short: "Show which datasets read from which: the whole workspace, or one dataset's inputs and dependants",
		Long: `Show the dataset graph that derivatives' transforms make. Each derivative
reads the inputs of its current SetTransform; an input that is not in this
workspace is shown as Unknown.

Without NAME, every dataset is listed with what it reads from. With NAME,
only that dataset's inputs (recursively) and the datasets that read from
it (recursively) are shown.

Formats: tree (as kamu prints it), dot (Graphviz: ipos inspect lineage -o
dot | dot -Tsvg > lineage.svg), mermaid (a flowchart for Markdown) and json
(nodes and edges; an edge goes from an input to the dataset that reads it).`,
		Example: `  ipos inspect lineage
  ipos inspect lineage covid.cases.per-capita
  ipos inspect lineage -o dot | dot -Tsvg > lineage.svg
  ipos inspect lineage regions -o mermaid`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return runInspectLineage(cmd.Context(), g, output, name)
		},
	}
	formats := lineage.Formats()
	addOutputFlag(c, &output, formats[0], formats...)
	return c
}

func runInspectLineage(ctx context.Context, g *globals, output, name string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	all, err := w.Datasets(ctx)
	if err != nil {
		return err
	}
	graph, err := lineage.Build(ctx, all)
	if err != nil {
		return err
	}
	if name != "" {
		// The workspace resolves the name, with its hint of known names.
		d, err := w.Dataset(ctx, name)
		if err != nil {
			return err
		}
		if graph, err = graph.Around(d.ID.String()); err != nil {
			return err
		}
	} else if len(all) == 0 && output == "tree" {
		if !g.quiet {
			fmt.Fprintln(g.streams.Err, "No datasets yet. Add one with 'ipos add MANIFEST'.")
		}
		return nil
	}
	return lineage.Write(g.streams.Out, graph, output)
}
