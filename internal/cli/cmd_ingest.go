package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/policy"
)

type ingestOptions struct {
	sourceName string
}

func newIngestCommand(g *globals) *cobra.Command {
	var opts ingestOptions
	c := &cobra.Command{
		Use:   "ingest NAME FILE...|-",
		Short: "Push data into a root dataset through its push source",
		Long: `Push files (or standard input, "-") into a root dataset through one of its
push sources (AddPushSource): they are read as the source says, merged with
the dataset's history and committed as one AddData block.`,
		Example: `  ipos ingest covid.cases data/2026-11-01.ndjson
  cat batch.ndjson | ipos ingest covid.cases -
  ipos ingest sales --source-name shop-a orders.csv`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), g, opts, args[0], args[1:])
		},
	}
	c.Flags().StringVar(&opts.sourceName, "source-name", "", "push source to use (needed when the dataset has several)")
	return c
}

func runIngest(ctx context.Context, g *globals, opts ingestOptions, name string, files []string) error {
	w, d, err := g.openDataset(ctx, name)
	if err != nil {
		return err
	}
	if err := g.authorize(ctx, w, policy.ActionIngest, d.Alias); err != nil {
		return err
	}
	eng, in, prog, err := openIngester(ctx, g, w, "ingesting")
	if err != nil {
		return err
	}
	defer eng.Close()
	defer prog.done()
	label := files[0]
	if len(files) == 1 && files[0] == "-" {
		// Standard input is spooled to a file: readers need a path.
		tmp, err := os.CreateTemp(filepath.Join(w.Dir(), "tmp"), "stdin-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, g.streams.In); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		files, label = []string{tmp.Name()}, "<stdin>"
	} else {
		for i, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				return err
			}
			if _, err := os.Stat(abs); err != nil {
				return err
			}
			files[i] = abs
		}
	}
	r, err := in.Push(ctx, d, opts.sourceName, files, label)
	prog.clear()
	if err != nil {
		return errors.Join(err, g.audit(ctx, w, "dataset.ingest", d.Alias, err, map[string]string{"input": label}))
	}
	if r == nil {
		fmt.Fprintf(g.streams.Out, "%s: nothing new to commit\n", d.Alias)
		return g.audit(ctx, w, "dataset.ingest", d.Alias, nil, map[string]string{"input": label, "head": "unchanged"})
	}
	printCommit(g, *r)
	return g.audit(ctx, w, "dataset.ingest", d.Alias, nil, map[string]string{"input": label, "head": r.Head.String(), "rows": fmt.Sprint(r.Rows)})
}
