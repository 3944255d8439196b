package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/transform"
)

type verifyOptions struct {
	integrity bool
	reproduce bool
	recursive bool
	all       bool
	output    string
}

func newVerifyCommand(g *globals) *cobra.Command {
	var opts verifyOptions
	c := &cobra.Command{
		Use:   "verify NAME... | --all",
		Short: "Check that datasets are what their metadata chains say",
		Long: `Check datasets byte for byte.

Integrity (always): walk each chain from refs/head to the Seed, checking
every block's hash, previous link and sequence number, replaying the chain's
append rules, and hashing every data file and checkpoint against the hash
its block recorded.

Reproduction (the default; --integrity skips it): re-run every
ExecuteTransform of a derivative dataset in scratch space, on its inputs as
of the blocks it recorded, and compare the data it writes with the recorded
hashes. Root datasets have nothing to re-run.

The first fault is reported with the object (block, data file, checkpoint or
refs/head) and what is wrong, and the command exits with status 3.`,
		Example: `  ipos verify sales.daily --recursive
  ipos verify --integrity sales
  ipos verify --all`,
		Args: namesOrAll(&opts.all),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), g, opts, args)
		},
	}
	c.Flags().BoolVar(&opts.integrity, "integrity", false, "check hashes and links only; do not re-run transforms")
	c.Flags().BoolVar(&opts.reproduce, "reproduce", false, "re-run transforms and compare (the default unless --integrity)")
	c.Flags().BoolVarP(&opts.recursive, "recursive", "r", false, "verify the named datasets' upstream datasets too")
	c.Flags().BoolVarP(&opts.all, "all", "a", false, "verify every dataset of the workspace")
	addOutputFlag(c, &opts.output, "text", "text", "json", "yaml")
	return c
}

type verifyResult struct {
	Dataset     string `json:"dataset" yaml:"dataset"`
	OK          bool   `json:"ok" yaml:"ok"`
	Head        string `json:"head,omitempty" yaml:"head,omitempty"`
	Blocks      int    `json:"blocks" yaml:"blocks"`
	DataFiles   int    `json:"dataFiles" yaml:"dataFiles"`
	Checkpoints int    `json:"checkpoints" yaml:"checkpoints"`
	DataBytes   int64  `json:"dataBytes" yaml:"dataBytes"`
	Reproduced  int    `json:"reproduced" yaml:"reproduced"`
	Object      string `json:"object,omitempty" yaml:"object,omitempty"`
	Problem     string `json:"problem,omitempty" yaml:"problem,omitempty"`
}

func runVerify(ctx context.Context, g *globals, opts verifyOptions, names []string) error {
	if opts.integrity && opts.reproduce {
		return usagef("use --integrity or --reproduce, not both")
	}
	reproduce := !opts.integrity
	w, err := g.openWorkspace()
	if err != nil {
		return err
	}
	order, err := pullOrder(ctx, w, names, opts.all || opts.recursive, opts.all)
	if err != nil {
		return err
	}
	var tr *transform.Transformer
	if reproduce {
		eng, err := engine.Open(ctx, engine.DefaultConfig())
		if err != nil {
			return err
		}
		defer eng.Close()
		tr = transform.New(eng, func(ctx context.Context, id odf.DatasetID) (*dataset.Dataset, error) {
			return w.Dataset(ctx, id.String())
		}, transform.Options{ScratchDir: filepath.Join(w.Dir(), "tmp")})
	}
	sets := make([]*dataset.Dataset, len(order))
	for i, p := range order {
		sets[i] = p.ds
	}
	var results []verifyResult
	faults := 0
	for i, d := range sets {
		prog := newProgress(g, "verifying "+d.Alias, "blocks")
		rep, err := d.VerifyIntegrity(ctx, prog.update)
		prog.done()
		r := verifyResult{Dataset: d.Alias}
		var ie *dataset.IntegrityError
		var re *transform.ReproduceError
		if err == nil && tr != nil && order[i].derivative {
			prog := newProgress(g, "reproducing "+d.Alias, "transforms")
			var rr *transform.ReproduceReport
			rr, err = tr.Reproduce(ctx, d, prog.update)
			prog.done()
			if rr != nil {
				r.Reproduced = rr.Transforms
			}
		}
		switch {
		case errors.As(err, &re):
			r.Object, r.Problem = "block "+re.Block.String(), re.Error()
			faults++
		case err == nil:
			r.OK, r.Head, r.Blocks, r.DataFiles, r.Checkpoints, r.DataBytes = true, rep.Head.String(), rep.Blocks, rep.DataFiles, rep.Checkpoints, rep.DataBytes
		case errors.As(err, &ie):
			r.Object, r.Problem = ie.Object, ie.Error()
			faults++
		default:
			return err
		}
		results = append(results, r)
		if opts.output == "text" {
			if r.OK {
				reproduced := ""
				if r.Reproduced > 0 {
					reproduced = fmt.Sprintf(", %d transforms reproduced", r.Reproduced)
				}
				fmt.Fprintf(g.streams.Out, "%s: ok (%d blocks, %d data files, %d checkpoints, %d bytes of data%s; head %s)\n",
					r.Dataset, r.Blocks, r.DataFiles, r.Checkpoints, r.DataBytes, reproduced, r.Head)
			} else {
				fmt.Fprintf(g.streams.Out, "%s: FAILED: %s\n", r.Dataset, r.Problem)
			}
		}
	}
	if opts.output != "text" {
		if err := printStructured(g.streams.Out, opts.output, results); err != nil {
			return err
		}
	}
	if faults > 0 {
		return faultError{fmt.Errorf("verification failed: %d of %d datasets have a fault (see above)", faults, len(sets))}
	}
	return nil
}
