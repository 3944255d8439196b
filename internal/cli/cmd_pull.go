package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/fetch"
	"github.com/ipos-dev/ipos/internal/ingest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/transform"
	"github.com/ipos-dev/ipos/internal/workspace"
)

type pullOptions struct {
	all       bool
	recursive bool
}

func newPullCommand(g *globals) *cobra.Command {
	var opts pullOptions
	c := &cobra.Command{
		Use:   "pull NAME... | --all",
		Short: "Bring datasets up to date: ingest roots, run derivative transforms",
		Long: `Bring datasets up to date, in dependency order.

Root datasets run their polling sources: fetch (files or URLs), prepare
(decompress, pipe), read (CSV, JSON, NDJSON, Parquet, GeoJSON), preprocess
(SQL), merge with the dataset's history (Append, Ledger, Snapshot) and commit
each new slice as an AddData block. An unchanged source commits nothing.

Derivative datasets run their SQL over their inputs when an input has new
blocks, and commit the difference from their previous output (retractions
and appends) as an ExecuteTransform block that 'ipos verify --reproduce' can
re-run. With --recursive, a dataset's upstream datasets are pulled first.

A failed or interrupted pull leaves the dataset as it was.`,
		Example: `  ipos pull regions
  ipos pull covid.cases.per-capita --recursive
  ipos pull --all`,
		Args: namesOrAll(&opts.all),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().BoolVarP(&opts.all, "all", "a", false, "pull every dataset: roots with a polling source, then derivatives")
	c.Flags().BoolVarP(&opts.recursive, "recursive", "r", false, "pull the named datasets' upstream datasets first")
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
	// Declared depots resolve depot:// URLs; the resource store is opened
	// only when a fetch step names one.
	depots := func(ctx context.Context, name string) (*fetch.Depot, error) {
		c, err := controllerFor(ctx, g, w)
		if err != nil {
			return nil, err
		}
		defer c.Store.Close()
		return c.Depot(ctx, name)
	}
	in := ingest.New(eng, ingest.Options{
		Depots:     depots,
		BaseDir:    w.Root,
		ScratchDir: tmp,
		AllowPipe:  w.Config.Ingest.AllowPipe,
		Now:        g.now,
		Gate:       contractGate(g, w),
		Progress: func(p ingest.Progress) {
			prog.step(label+" "+p.Dataset, p.Stage, p.Bytes)
			if p.Rows > 0 {
				prog.update(int(p.Rows))
			}
		},
	})
	return eng, in, prog, nil
}

func runPull(ctx context.Context, g *globals, opts pullOptions, names []string) (err error) {
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	sets, err := pullOrder(ctx, w, names, opts.all || opts.recursive, opts.all)
	if err != nil {
		return err
	}
	aliases := make([]string, len(sets))
	for i, p := range sets {
		aliases[i] = p.ds.Alias
	}
	if err := g.authorize(ctx, w, policy.ActionIngest, aliases...); err != nil {
		return err
	}
	eng, in, prog, err := openIngester(ctx, g, w, "pulling")
	if err != nil {
		return err
	}
	defer eng.Close()
	defer prog.done()
	tr := transform.New(eng, func(ctx context.Context, id odf.DatasetID) (*dataset.Dataset, error) {
		return w.Dataset(ctx, id.String())
	}, transform.Options{ScratchDir: filepath.Join(w.Dir(), "tmp"), Now: g.now, Gate: contractGate(g, w)})
	var failed []string
	var auditErr error
	record := func(alias string, err error, head string) { // one audit entry per dataset pulled
		auditErr = errors.Join(auditErr, g.audit(ctx, w, "dataset.pull", alias, err, map[string]string{"head": head}))
	}
	defer func() { err = errors.Join(err, auditErr) }()
	for _, p := range sets {
		d := p.ds
		start := time.Now()
		if p.err != nil {
			fmt.Fprintf(g.streams.Err, "ipos: %s: %v\n", d.Alias, p.err)
			failed = append(failed, d.Alias)
			continue
		}
		if p.derivative {
			prog.step("transforming "+d.Alias, "query", 0)
			r, err := tr.Pull(ctx, d)
			prog.clear()
			switch {
			case err != nil:
				fmt.Fprintf(g.streams.Err, "ipos: %v\n", err)
				failed = append(failed, d.Alias)
				record(d.Alias, err, "unchanged")
			case r == nil:
				if !g.quiet {
					fmt.Fprintf(g.streams.Out, "%s: up to date\n", d.Alias)
				}
				record(d.Alias, nil, "unchanged")
			case r.Waiting != "":
				fmt.Fprintf(g.streams.Out, "%s: waiting: %s\n", d.Alias, r.Waiting)
				record(d.Alias, nil, "unchanged")
			default:
				printTransform(g, r, time.Since(start))
				record(d.Alias, nil, r.Head.String())
			}
			continue
		}
		if !p.polling {
			if p.named {
				fmt.Fprintf(g.streams.Err, "ipos: %s: %v: it has no polling source (SetPollingSource); push data with `ipos ingest`\n", d.Alias, ingest.ErrNoSource)
				failed = append(failed, d.Alias)
			}
			continue
		}
		results, err := in.Pull(ctx, d)
		prog.clear()
		head := "unchanged"
		for _, r := range results {
			printCommit(g, r)
			head = r.Head.String()
		}
		record(d.Alias, err, head)
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

func printTransform(g *globals, r *transform.Result, took time.Duration) {
	span := "no change in output"
	if r.Offsets != nil {
		span = fmt.Sprintf("%d records (offsets %d..%d)", r.Rows, r.Offsets.Start, r.Offsets.End)
	}
	wm := "-"
	if r.Watermark != nil {
		wm = r.Watermark.UTC().Format(time.RFC3339)
	}
	how := "recomputed"
	if r.Incremental {
		how = "incremental"
	}
	fmt.Fprintf(g.streams.Out, "%s: transformed (%s): %s; watermark %s; head %s\n", r.Dataset, how, span, wm, r.Head)
	if r.Contract != nil {
		printContractWarnings(g, r.Contract)
	}
	if !g.quiet {
		fmt.Fprintf(g.streams.Err, "%s: transform ran in %s\n", r.Dataset, took.Round(time.Millisecond))
	}
}

// pulled is a dataset in pull order.
type pulled struct {
	ds         *dataset.Dataset
	derivative bool
	polling    bool
	named      bool  // named on the command line
	err        error // the chain could not be read
}

// pullOrder returns the datasets to pull, each after its inputs: the named
// ones, with their upstream datasets when upstream is set, or all.
func pullOrder(ctx context.Context, w *workspace.Workspace, names []string, upstream, all bool) ([]pulled, error) {
	every, err := w.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[odf.DatasetID]*pulled{}
	inputs := map[odf.DatasetID][]odf.DatasetID{}
	for _, d := range every {
		st, err := d.Chain.LoadState(ctx)
		if err != nil {
			// A damaged dataset still takes its place in the order; what
			// runs on it (a pull, a verification) reports the damage.
			byID[d.ID] = &pulled{ds: d, err: err}
			continue
		}
		p := &pulled{ds: d, derivative: st.Kind == odf.DatasetKindDerivative}
		_, p.polling = st.Latest["SetPollingSource"]
		byID[d.ID] = p
		if ev, ok := st.Latest["SetTransform"]; ok {
			for _, in := range ev.(odf.SetTransform).Inputs {
				if id, err := odf.ParseDatasetID(in.DatasetRef); err == nil {
					inputs[d.ID] = append(inputs[d.ID], id)
				}
			}
		}
	}
	var roots []odf.DatasetID
	if all {
		for _, d := range every {
			roots = append(roots, d.ID)
		}
	}
	for _, n := range names {
		d, err := w.Dataset(ctx, n)
		if err != nil {
			return nil, err
		}
		byID[d.ID].named = true
		roots = append(roots, d.ID)
	}
	var order []pulled
	state := map[odf.DatasetID]int{} // 1 visiting, 2 done
	var visit func(id odf.DatasetID, follow bool) error
	visit = func(id odf.DatasetID, follow bool) error {
		p, ok := byID[id]
		if !ok || state[id] == 2 {
			return nil
		}
		if state[id] == 1 {
			return fmt.Errorf("datasets depend on each other in a cycle through %s", p.ds.Alias)
		}
		state[id] = 1
		if follow {
			for _, in := range inputs[id] {
				if err := visit(in, follow); err != nil {
					return err
				}
			}
		}
		state[id] = 2
		order = append(order, *p)
		return nil
	}
	if !upstream {
		// Only the named datasets, still ordered among themselves.
		named := map[odf.DatasetID]bool{}
		for _, id := range roots {
			named[id] = true
		}
		for _, id := range roots {
			for _, in := range inputs[id] {
				if named[in] {
					if err := visit(in, false); err != nil {
						return nil, err
					}
				}
			}
			if err := visit(id, false); err != nil {
				return nil, err
			}
		}
		return order, nil
	}
	for _, id := range roots {
		if err := visit(id, true); err != nil {
			return nil, err
		}
	}
	return order, nil
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
	if r.Contract != nil {
		printContractWarnings(g, r.Contract)
	}
}
