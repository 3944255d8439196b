package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/ingest"
	"github.com/ipos-dev/ipos/internal/workspace"
)

type pullOptions struct {
	all bool
}

func newPullCommand(g *globals) *cobra.Command {
	var opts pullOptions
	c := &cobra.Command{
		Use:   "pull NAME... | --all",
		Short: "Ingest new data into root datasets from their polling sources",
		Long: `Run the polling sources of root datasets: fetch (files or URLs), prepare
(decompress, pipe), read (CSV, JSON, NDJSON, Parquet, GeoJSON), preprocess
(SQL), merge with the dataset's history (Append, Ledger, Snapshot) and commit
each new slice as an AddData block. An unchanged source commits nothing.
A failed or interrupted pull leaves the dataset as it was.`,
		Example: `  ipos pull regions
  ipos pull --all`,
		Args: namesOrAll(&opts.all),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().BoolVarP(&opts.all, "all", "a", false, "pull every root dataset that has a polling source")
	return c
}

// openIngester opens the engine and an ingester for the workspace. The
// caller closes the engine.
func openIngester(ctx context.Context, g *globals, w *workspace.Workspace, label string) (*engine.Engine, *ingest.Ingester, *progress, error) {
	tmp := filepath.Join(w.Dir(), "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, nil, nil, err
	}
	cfg := engine.DefaultConfig()
	cfg.TempDir = tmp
	eng, err := engine.Open(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	prog := newProgress(g, label, "rows")
	in := ingest.New(eng, ingest.Options{
		BaseDir:    w.Root,
		ScratchDir: tmp,
		AllowPipe:  w.Config.Ingest.AllowPipe,
		Now:        g.now,
		Progress: func(p ingest.Progress) {
			prog.step(label+" "+p.Dataset, p.Stage, p.Bytes)
			if p.Rows > 0 {
				prog.update(int(p.Rows))
			}
		},
	})
	return eng, in, prog, nil
}

func runPull(ctx context.Context, g *globals, opts pullOptions, names []string) error {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	var sets []*dataset.Dataset
	if opts.all {
		all, err := w.Datasets(ctx)
		if err != nil {
			return err
		}
		for _, d := range all {
			st, err := d.Chain.LoadState(ctx)
			if err != nil {
				return err
			}
			if _, ok := st.Latest["SetPollingSource"]; ok {
				sets = append(sets, d)
			}
		}
	} else {
		for _, n := range names {
			d, err := w.Dataset(ctx, n)
			if err != nil {
				return err
			}
			sets = append(sets, d)
		}
	}
	eng, in, prog, err := openIngester(ctx, g, w, "pulling")
	if err != nil {
		return err
	}
	defer eng.Close()
	defer prog.done()
	var failed []string
	for _, d := range sets {
		start := time.Now()
		results, err := in.Pull(ctx, d)
		prog.clear()
		for _, r := range results {
			printCommit(g, r)
		}
		if err != nil {
			fmt.Fprintf(g.streams.Err, "ipos: %v\n", err)
			failed = append(failed, d.Alias)
			continue
		}
		if len(results) == 0 && !g.quiet {
			fmt.Fprintf(g.streams.Out, "%s: up to date\n", d.Alias)
		} else if !g.quiet {
			fmt.Fprintf(g.streams.Err, "%s: %d commit(s) in %s\n", d.Alias, len(results), time.Since(start).Round(time.Millisecond))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("pull failed for %s (nothing was committed for the failing step)", strings.Join(failed, ", "))
	}
	return nil
}

func printCommit(g *globals, r ingest.Result) {
	span := "no new records"
	if r.Offsets != nil {
		span = fmt.Sprintf("%d records (offsets %d..%d)", r.Rows, r.Offsets.Start, r.Offsets.End)
	}
	wm := "-"
	if r.Watermark != nil {
		wm = r.Watermark.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(g.streams.Out, "%s: committed %s from %s; watermark %s; head %s\n", r.Dataset, span, r.Source, wm, r.Head)
}
